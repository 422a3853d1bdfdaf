#!/usr/bin/env bash
# Sixty-ninth session, call 4 (~300 s on an H100): variant b128 (bench/proto/mixed-split16-bk128.patch: the second
# GEMM's 16/32-token code kernels in 128-k stages, so that their k split interleaves as the 64-token ones' does since
# fae9b94) against main (fae9b94) at T = 3..64, three rounds, order alternated; then b128's test_gpu_quant cases that
# run the code kernels (quant, mixed, mixed_two_groups).
#   prep: VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh b128 bench/proto/mixed-split16-bk128.patch;
#         bench/store_prefill.sh build-gpu/bin/s75/store.tar.xz (main and b128, 4 blocks)   carry: build-gpu/bin build-gpu/lib
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s75/store.tar.xz
export DSMLP_COMPILE_THREADS=16
M=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/b128
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $((r % 2)) = 1 ]; then bench_run main $M out_in 3,8,16,32,64 50; bench_run b128 $V out_in 3,8,16,32,64 50
    else bench_run b128 $V out_in 3,8,16,32,64 50; bench_run main $M out_in 3,8,16,32,64 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
export DSMLP_COMPILE_THREADS=5
for c in mixed mixed_two_groups quant; do
  ( CK_RUN_CASE=$c DSMLP_CACHE_DIR=/tmp/c-$c timeout ${QUANT_LIMIT:-300} build-gpu/bin/var/b128-test_gpu_quant > $OUT/q-$c.log 2>&1
    echo "b128 test_gpu_quant $c rc $? at $(( $(date +%s) - t0 )) s: $(grep -E '^[0-9]+%:' $OUT/q-$c.log)"; grep -E "^FAIL|cases \(" $OUT/q-$c.log | head -4 ) &
done
wait
echo "== run-s75.sh took $(( $(date +%s) - t0 )) s"
