#!/bin/bash
# session 39 (prepared in session 38, CPU-checked: every mixed kernel of examples/quantized.lua and the wgmma kernels
# of llama3-8b / gpt2 compile with ptxas, no spill, no C75xx; the segment and ownership arithmetic checked for 1,435
# (tiles, k blocks, blocks) triples): equal work per SM where the tiles leave block slots empty.
# bench/proto/mixed-balanced-split.patch (ready to land since session 40: context option mixed_balanced,
# DSMLP_MIXED_BALANCED, 1 by default; route text "balanced: N blocks ..."; docs/quant.md "Where the blocks run" (its
# MEASURED-AT-LANDING line takes this A/B's numbers), README's option row and llama3-8b bytes (431848); test_plan
# balanced_rule (CPU), test_gpu_quant mixed_balanced and test_gpu_wgmma float_weights_balanced force it (= 2); with
# it applied the CPU suite passed 45/45): mixed_balanced = 1 runs a quantized two-per-SM GEMM of one token tile, no
# k split and fewer tiles than slots (SwiGLU-4096's first GEMM at T <= 64: 224 tiles, 264 slots, 112-116 SMs used)
# as a cooperative grid of every slot, block b walking items [W b / R, W (b + 1) / R) of the W = tiles x KT
# (tile, k block) items: so two blocks on every SM, each 0.85 of a tile (the code kernels with stages of 128 k or
# more, and the float wgmma kernels: SwiGLU-4096 bf16's first GEMM at T = 33..64 has the same 224 tiles). A tile's non-first parts are pushed from
# registers (scaled fp32, the register layout, to the split scratch) with a flag; the block holding the tile's first
# part adds them in block order and applies the epilogue. = 2 forces it wherever it can run (tests), 0 never.
# Before the call:
#   bash bench/build_variant.sh hd                                       (head: the tree as is)
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers test_gpu_wgmma" bash bench/build_variant.sh bal bench/proto/mixed-balanced-split.patch
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tlbal bench/proto/mixed-balanced-split.patch
#   bash bench/proto/prefill-next.sh   (if not done yet: the A/B's, timelines' and ncu's kernels compiled here)
#   cp bench/proto/run-next-s39.sh build-gpu/run-next.sh
# carry build-gpu/bin build-gpu/lib build-tl/bin/var build-gpu/run-next.sh build-gpu/store-next.tar.xz; run: bash
# build-gpu/run-next.sh (~400 s with the carried store: trim the A/B to one round if the tests run long).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for c in mixed_balanced mixed; do   # forced, then the rule (the default)
  CK_RUN_CASE=$c DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/bal-test_gpu_quant > $OUT/bal-quant-$c.log 2>&1
  echo "quant $c rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal-quant-$c.log | head -4
done
CK_RUN_CASE=wgmma DSMLP_CACHE_DIR=/tmp/c-t timeout 100 build-gpu/bin/var/bal-test_gpu_wgmma > $OUT/bal-wgmma.log 2>&1
echo "wgmma (float_weights_balanced forced) rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal-wgmma.log | head -4
DSMLP_MIXED_BALANCED=2 DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/bal-test_gpu_layers > $OUT/bal2-layers.log 2>&1
echo "BALANCED=2 layers rc=$? $((SECONDS-s0))s"; grep -E "layers|Checks|FAIL" $OUT/bal2-layers.log | head -4
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first runs compile"
n0=$(ls /tmp/c-b | wc -l)
for t in 16 64; do
  DSMLP_CACHE_DIR=/tmp/c-b timeout 80 build-tl/bin/var/tlbal --block swiglu_i8_h4096 --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-bal-swiglu-$t.raw 2>&1
  echo "timeline BAL=1 swiglu_i8 T=$t rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-bal-swiglu-$t.raw | grep dsmlp
done
for r in 1 2; do
  for b in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do
    for c in "hd:" "bal:0" "bal:"; do   # head; the build with it off (its cost when off); on (the default)
      v=${c%%:*}
      rm -f $OUT/m.md
      DSMLP_MIXED_BALANCED=${c#*:} DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2,16,32,48,64 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v BAL=${c#*:} $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
# why the 64-token code kernels run at ~47% of the tensor rate (issue-bound at 0.40-0.50 a scheduler, session 38):
# their warp stall reasons and instruction mix (head's build), GELU-4096 int8 T = 64, both GEMMs
DSMLP_CACHE_DIR=/tmp/c-b timeout 120 ncu --clock-control none --kernel-name regex:mixed64 --launch-count 2 \
  --section WarpStateStats --section InstructionStats --section ComputeWorkloadAnalysis --print-details all \
  build-gpu/bin/var/hd --block gelu_i8_h4096 --tokens 64 --reps 2 --no-tune --layout out_in > $OUT/ncu-stalls-64.txt 2>&1
echo "ncu stalls rc=$? $((SECONDS-s0))s"; grep -E "dsmlp_mixed|Stall|stall|Executed Ipc|Issue Slots|Pipe|Tensor" $OUT/ncu-stalls-64.txt | head -60
