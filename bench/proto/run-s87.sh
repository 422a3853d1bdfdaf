#!/usr/bin/env bash
# Seventy-second session (~250 s): variant kr (bench/proto/mixed-k-rotate.patch, DSMLP_PROTO_KROT=m): each row tile y of
# the mixed / wgmma kernels walks its k share from k block (y m) mod n on, so that the grid's blocks read different k
# offsets of their rows at any moment (main: every block at the same offset, rows 4 or 16 KiB apart: the second GEMM's
# copy-only stream took 31.7 us where the first's, the same bytes a block, took 25.1; sixty-seventh session). Correct
# results (a summation order only): its test_gpu_quant mixed case. Two rounds, order alternated.
#   prep: SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s87/store.tar.xz
#         3,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:BLOCK:3,8,16,32,64,128,1024[:DSMLP_PROTO_KROT=1|3]
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s87/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=3,8,16,32,64,128,1024
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run main $C out_in $TL 50; bench_run kr1 $C out_in $TL 50 DSMLP_PROTO_KROT=1; bench_run kr3 $C out_in $TL 50 DSMLP_PROTO_KROT=3
    else bench_run kr3 $C out_in $TL 50 DSMLP_PROTO_KROT=3; bench_run kr1 $C out_in $TL 50 DSMLP_PROTO_KROT=1; bench_run main $C out_in $TL 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof kr1g8 out_in gelu_i8_h4096 8 DSMLP_PROTO_KROT=1
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=8 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-500} - ($(date +%s) - t0) ))
DSMLP_PROTO_KROT=1 CK_RUN_CASE=mixed timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-kr-mixed.log 2>&1; echo "test_gpu_quant mixed (kr1) rc $?"
grep -E '^[0-9]+%:|cases \(' $OUT/quant-kr-mixed.log | tr '\n' ' ' | cut -c1-300; echo; grep -m3 -i "fail" $OUT/quant-kr-mixed.log
echo "== run-s87.sh took $(( $(date +%s) - t0 )) s"
