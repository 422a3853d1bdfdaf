#!/bin/bash
# session 39, first call: the activation A/B (bench/proto/run-next-s39-act.sh: hd = head, act =
# gelu-silu-sfu.patch) and the balanced split's forced correctness runs (quant's mixed case, wgmma).
# Before: bash bench/build_variant.sh hd; bash bench/build_variant.sh act bench/proto/gelu-silu-sfu.patch;
# VARIANT_TESTS="test_gpu_quant test_gpu_layers test_gpu_wgmma" bash bench/build_variant.sh bal bench/proto/mixed-balanced-split.patch
# carry build-gpu/bin/var.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for b in gelu_i8_h4096 gelu_f16_h4096 swiglu_i8_h4096 swiglu_bf16_h4096; do
  for v in hd act; do DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2 --reps 2 --no-tune --layout out_in > /dev/null 2>&1; done
  echo "warm $b $((SECONDS-s0))s"
done
for r in 1 2; do
  for b in gelu_i8_h4096 gelu_f16_h4096 swiglu_i8_h4096 swiglu_bf16_h4096; do
    for v in hd act; do
      DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,16,64,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
DSMLP_PROTO_BAL=2 CK_RUN_CASE=mixed DSMLP_CACHE_DIR=/tmp/c-t timeout 150 build-gpu/bin/var/bal-test_gpu_quant > $OUT/bal2-quant.log 2>&1
echo "BAL=2 mixed case rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal2-quant.log | head -4
DSMLP_PROTO_BAL=2 DSMLP_CACHE_DIR=/tmp/c-t timeout 100 build-gpu/bin/var/bal-test_gpu_wgmma > $OUT/bal2-wgmma.log 2>&1
echo "BAL=2 wgmma rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/bal2-wgmma.log | head -4
