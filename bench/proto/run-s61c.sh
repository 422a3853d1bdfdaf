#!/usr/bin/env bash
# Sixty-first session, call 3: the k-split [in,out] decode GEMVs (emit.c gemv_io_shape). Their GPU test
# (test_gpu_mlp_family gemv_split), then f7c6924 (unsplit) against main at T = 1, 2 with the GEMVs as built (auto: T = 1)
# and built to T = 2 (DSMLP_DECODE_MAX_TOKENS=2), two rounds; ncu per kernel of SwiGLU-8192 bf16 T = 1.
#   prep: bash bench/proto/prep-s61c.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests/test_gpu_mlp_family
. bench/proto/device-env.sh build-gpu/bin/s61/store-c.tar.xz
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench
(cd build-gpu && CK_RUN_CASE=gemv_split DSMLP_COMPILE_THREADS=16 timeout 400 ./tests/test_gpu_mlp_family 2>&1 | tail -22)
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
    echo "== $blk round $r"
    bench_run f7c $O in_out 1,2 50; bench_run main $B in_out 1,2 50
    bench_run f7c-d2 $O in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2; bench_run main-d2 $B in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2
  done
done
for b in $O $B; do
  echo "== ncu $b swiglu_bf16_h8192 [in,out] T = 1"
  timeout 150 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    $b --block swiglu_bf16_h8192 --tokens 1 --reps 2 --no-tune --layout in_out > $OUT/ncu.csv 2>&1
  python3 bench/proto/ncu_by_kernel.py $OUT/ncu.csv | head -8
done
