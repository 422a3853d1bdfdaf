#!/usr/bin/env bash
# Seventy-second session (~300 s): variant oaf (bench/proto/mixed-one-after-feeder.patch: a code GEMM reading the output
# of one that runs its one-a-SM twin runs its own twin, GELU-4096's second GEMM as 32 tiles x 4 one a SM instead of
# clusters of 7 two a SM). The sixty-fourth session measured it level; this session's run-s80/s81 twins-everywhere
# control (tw) had GELU-4096 int8 / fp8 0.4-0.8 us faster at T = 16 and 1.1-1.6 at T = 32. Three rounds, order
# alternated, T = 3..64; SwiGLU-4096 int8 as the control the patch leaves alone. Then oaf's test_gpu_quant (heuristic,
# mixed) and test_gpu_gemm.
#   prep: VARIANT_TESTS="test_gpu_quant test_gpu_gemm" bash bench/build_variant.sh oaf bench/proto/mixed-one-after-feeder.patch
#         SEED=build-gpu/bin/s82/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s84/store.tar.xz 3,8,16,24,32,48,64
#         {build-gpu/bin/dsmlp-bench,oaf}:{gelu_i8_h4096,gelu_fp8_h4096,swiglu_i8_h4096}
#   carry: build-gpu/bin build-gpu/lib
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s84/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/oaf TL=3,8,16,24,32,48,64
for r in 1 2 3; do
  for blk in gelu_i8_h4096 gelu_fp8_h4096 swiglu_i8_h4096; do
    echo "== $blk out_in r$r"
    if [ $((r % 2)) = 1 ]; then bench_run main $C out_in $TL 50; bench_run oaf $V out_in $TL 50
    else bench_run oaf $V out_in $TL 50; bench_run main $C out_in $TL 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=8 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-560} - ($(date +%s) - t0) ))
( CK_RUN_CASE=heuristic timeout $L build-gpu/bin/var/oaf-test_gpu_quant > $OUT/oaf-heuristic.log 2>&1; echo "oaf test_gpu_quant heuristic rc $?" ) &
( CK_RUN_CASE=mixed timeout $L build-gpu/bin/var/oaf-test_gpu_quant > $OUT/oaf-mixed.log 2>&1; echo "oaf test_gpu_quant mixed rc $?" ) &
( timeout $L build-gpu/bin/var/oaf-test_gpu_gemm > $OUT/oaf-gemm.log 2>&1; echo "oaf test_gpu_gemm rc $?" ) &
wait
for f in $OUT/oaf-*.log; do echo "$(basename $f): $(grep -E '^[0-9]+%:|cases \(' $f | tr '\n' ' ' | cut -c1-300)"; grep -m3 -i "fail" $f; done
echo "== run-s84.sh took $(( $(date +%s) - t0 )) s"
