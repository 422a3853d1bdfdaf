#!/usr/bin/env bash
# Seventy-second session (~250 s): variant serial (bench/proto/mixed-serial-split.patch): run-s88.sh's copy-only probe
# found the cluster launch, not the k split, slowing the second code GEMM (32 tiles x 4 one a SM: 25.6 us without
# clusters, 32.2 in clusters of 4; main's x 7 two a SM: 29.8 in clusters of 7, 26.7 without). Here the <= 32-token
# code kernels split k without clusters: each block pushes its sums, the tile's last block (an atomic count) adds them
# in block order and applies the epilogue. DSMLP_PROTO_SERIAL=1: main's two-a-SM kernels, split 8; =2: the one-a-SM
# twins, split 4. Two rounds, order alternated; ncu of s2 at T = 8; test_gpu_quant mixed under both.
#   prep: SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s89/store.tar.xz 3,8,16,32,64
#         build-gpu/bin/dsmlp-bench:BLOCK:3,8,16,32,64[:DSMLP_PROTO_SERIAL=1|2] for the four code blocks
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s89/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=3,8,16,32,64
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run main $C out_in $TL 50; bench_run s1 $C out_in $TL 50 DSMLP_PROTO_SERIAL=1; bench_run s2 $C out_in $TL 50 DSMLP_PROTO_SERIAL=2
    else bench_run s2 $C out_in $TL 50 DSMLP_PROTO_SERIAL=2; bench_run s1 $C out_in $TL 50 DSMLP_PROTO_SERIAL=1; bench_run main $C out_in $TL 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof s2g8 out_in gelu_i8_h4096 8 DSMLP_PROTO_SERIAL=2
ncu_prof s1g8 out_in gelu_i8_h4096 8 DSMLP_PROTO_SERIAL=1
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=8 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-500} - ($(date +%s) - t0) ))
for m in 1 2; do
  ( DSMLP_PROTO_SERIAL=$m CK_RUN_CASE=mixed timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-s$m-mixed.log 2>&1; echo "test_gpu_quant mixed (s$m) rc $?" ) &
done
wait
for m in 1 2; do grep -E '^[0-9]+%:|cases \(' $OUT/quant-s$m-mixed.log | tr '\n' ' ' | cut -c1-300; echo; grep -m5 -i "fail\|error" $OUT/quant-s$m-mixed.log; done
echo "== run-s89.sh took $(( $(date +%s) - t0 )) s"
