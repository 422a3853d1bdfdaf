#!/bin/bash
# session 38, call 3: the epilogue's inputs loaded for a batch of items before any store
# (bench/proto/mixed-epilogue-batched.patch: call 1's timeline put GELU-4096 int8 T = 128's first-GEMM epilogue at
# 4.2 us, its loads item by item behind the previous item's stores). A/B hd (head) against eb, two rounds.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
TOK=16,64,100,128,256,1024
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096; do   # warm the store (one for both: only the mixed kernels differ)
  for v in hd eb; do DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2 --reps 2 --no-tune --layout out_in > /dev/null 2>&1; echo "warm $v $b $((SECONDS-s0))s"; done
done
echo "warm $((SECONDS-s0))s"
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096; do
    for v in hd eb; do
      DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens $TOK --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
