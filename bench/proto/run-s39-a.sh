#!/bin/bash
# session 39, first call: the activation A/B (bench/proto/run-next-s39-act.sh: hd = head, act =
# gelu-silu-sfu.patch). (Two device starts failed first: the balanced split's forced tests moved to run-s39-b.sh.)
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
