#!/usr/bin/env bash
# Seventy-second session (~200 s): variant xs (bench/proto/mixed-ldg-codes-xs.patch, DSMLP_PROTO_XS=1): the code
# kernels with 128- or 256-k stages let their 64-k chunks run on across stages (the next stage's first chunk
# converted while this stage's last wgmmas run; a stage released at the next chunk's wait_group 1) instead of
# waiting for all of a stage's wgmmas at its end. Correct results (not a bound): test_gpu_quant's mixed case under it.
#   prep: SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s82/store.tar.xz
#         3,8,16,32,64 build-gpu/bin/dsmlp-bench:BLOCK:3,8,16,32,64[:DSMLP_PROTO_XS=1] for the four code blocks
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s82/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=3,8,16,32,64
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run main $C out_in $TL 50; bench_run xs $C out_in $TL 50 DSMLP_PROTO_XS=1
    else bench_run xs $C out_in $TL 50 DSMLP_PROTO_XS=1; bench_run main $C out_in $TL 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof xsg8 out_in gelu_i8_h4096 8 DSMLP_PROTO_XS=1
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=8 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-400} - ($(date +%s) - t0) ))
DSMLP_PROTO_XS=1 CK_RUN_CASE=mixed timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-xs-mixed.log 2>&1; echo "test_gpu_quant mixed (xs) rc $?"
grep -E '^[0-9]+%:|cases \(' $OUT/quant-xs-mixed.log | tr '\n' ' ' | cut -c1-400; echo; grep -m5 -i "fail" $OUT/quant-xs-mixed.log
echo "== run-s82.sh took $(( $(date +%s) - t0 )) s"
