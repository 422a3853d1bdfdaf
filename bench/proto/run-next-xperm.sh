#!/bin/bash
# The k-permuted x, ready to land (run it if bench/proto/run-next-s40.sh shows xperm several us faster at T = 2..128):
# bench/proto/mixed-xperm.patch - x k-permuted within 64-k groups (templates/common.cuh ds_kperm) by its writers (the
# norm kernel, a mixed GEMM's epilogue) wherever every reader is a mixed GEMM on codes at that T (exec_mixed.c
# dsmlpR_xperm; T's bits 60..61 carry it), and those kernels read a thread's 64 k of codes as one 16-byte chunk a row
# (rows sigma(g) in 128-byte boxes: no bank conflict). Context option mixed_xperm (DSMLP_MIXED_XPERM), 1 by default;
# the route text says "x k-permuted"; docs/quant.md "x k-permuted" (its MEASURED-AT-LANDING line takes the A/B's
# numbers); README's option row and llama3-8b bytes (403432); test_plan xperm_rule (CPU), test_gpu_quant asserts the
# route text in every mixed case and adds mixed_no_xperm (the read as stored). CPU-checked in sessions 39-40 (ptxas:
# no spill, no C75xx; CPU suite green with it). Before:
#   bash bench/build_variant.sh hd   (if not built yet)
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers" bash bench/build_variant.sh xperm bench/proto/mixed-xperm.patch; ninja -C build-gpu
#   bash bench/proto/prefill-next.sh   (if not done yet: the A/B's kernels compiled here)
# carry build-gpu/bin/var build-gpu/store-next.tar.xz; run: bash bench/proto/run-next-xperm.sh (~300-400 s; the
# tests compile their own kernels). To land after it passes: git apply the patch, fill docs/quant.md's measured line
# and CHANGELOG, rebuild, and run the whole GPU suite (bench/proto/run-s39-suite.sh).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for c in mixed mixed_no_xperm heuristic mixed_two_groups; do
  CK_RUN_CASE=$c DSMLP_CACHE_DIR=/tmp/c-t timeout 200 build-gpu/bin/var/xperm-test_gpu_quant > $OUT/xperm-$c.log 2>&1
  echo "$c rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL|rel err" $OUT/xperm-$c.log | head -6
done
DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/xperm-test_gpu_layers > $OUT/xperm-layers.log 2>&1
echo "layers rc=$? $((SECONDS-s0))s"; grep -E "layers|Checks|FAIL" $OUT/xperm-layers.log | head -4
B="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096"
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
for r in 1 2; do
  for b in $B; do
    for v in hd xperm; do
      rm -f $OUT/m.md
      DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 1,2,16,32,64,100,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
