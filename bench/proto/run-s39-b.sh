#!/bin/bash
# The balanced split's call (bench/proto/mixed-balanced-split.patch; session 39 was lent no device machine, so this
# runs after bench/proto/run-next-s40.sh): its forced correctness runs (quant's mixed case, wgmma, layers),
# timelines and A/B against head (~520 s). Before:
#   bash bench/build_variant.sh hd   (if not built yet)
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers test_gpu_wgmma" bash bench/build_variant.sh bal bench/proto/mixed-balanced-split.patch
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tlbal bench/proto/mixed-balanced-split.patch
#   ninja -C build-gpu
# carry build-gpu/bin/var build-tl/bin/var; run: bash bench/proto/run-s39-b.sh
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
DSMLP_PROTO_BAL=2 CK_RUN_CASE=mixed DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/bal-test_gpu_quant > $OUT/bal2-quant.log 2>&1
echo "BAL=2 mixed case rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal2-quant.log | head -4
DSMLP_PROTO_BAL=2 DSMLP_CACHE_DIR=/tmp/c-t timeout 100 build-gpu/bin/var/bal-test_gpu_wgmma > $OUT/bal2-wgmma.log 2>&1
echo "BAL=2 wgmma rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal2-wgmma.log | head -4
DSMLP_PROTO_BAL=2 DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/bal-test_gpu_layers > $OUT/bal2-layers.log 2>&1
echo "BAL=2 layers rc=$? $((SECONDS-s0))s"; grep -E "layers|Checks|FAIL" $OUT/bal2-layers.log | head -4
for t in 16 64; do
  DSMLP_PROTO_BAL=1 DSMLP_CACHE_DIR=/tmp/c-tl timeout 80 build-tl/bin/var/tlbal --block swiglu_i8_h4096 --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-bal-swiglu-$t.raw 2>&1
  echo "timeline BAL=1 swiglu_i8 T=$t rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-bal-swiglu-$t.raw | grep dsmlp
done
for b in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do
  for c in "hd:" "bal:" "bal:1"; do v=${c%%:*}; DSMLP_PROTO_BAL=${c#*:} DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2 --reps 2 --no-tune --layout out_in > /dev/null 2>&1; done
  echo "warm $b $((SECONDS-s0))s"
done
for r in 1 2; do
  for b in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do
    for c in "hd:" "bal:" "bal:1"; do
      v=${c%%:*}
      DSMLP_PROTO_BAL=${c#*:} DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 2,16,32,48,64 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v BAL=${c#*:} $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
