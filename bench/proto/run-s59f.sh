#!/usr/bin/env bash
# Fifty-ninth session, standing: main (5c5e3c5: the GEMVs' L2 prefetch, the code kernels' one-a-SM twins) as loaded,
# --no-tune, T = 1..1024, five blocks; then compute-sanitizer memcheck over the twins (GELU-4096 int8 T = 3 / 64).
#   bash bench/proto/run-s59f.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s59/store-f.tar.xz
B=build-gpu/bin/dsmlp-bench
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
  timeout 120 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
done
for blk in gelu_i8_h4096 gelu_fp8_h4096; do
  timeout 120 compute-sanitizer --tool memcheck $B --block $blk --tokens 3,64 --reps 1 --no-tune --layout out_in 2>&1 |
    grep -E "ERROR SUMMARY|T=" | cut -c1-100
done
