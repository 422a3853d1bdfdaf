#!/usr/bin/env bash
# Sixty-third session (prepared; run in the sixty-fourth, H100: level, not kept, bench/RESULTS.md): variant oaf (bench/proto/mixed-one-after-feeder.patch: a code GEMM reading the output of
# one run one a SM runs its own twin with a k split filling 3/4 of the SMs: GELU-4096's second GEMM, 32 tiles x 4)
# against main, [out,in], two rounds; then oaf's test_gpu_quant heuristic case (twins at T = 3..8 at 4096 x 16384).
#   prep: VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh oaf bench/proto/mixed-one-after-feeder.patch
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/oaf
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do
    echo "== $blk r$r"; bench_run main $B out_in 3,4,8,16,32,64 50; bench_run oaf $V out_in 3,4,8,16,32,64 50
  done
done
CK_RUN_CASE=heuristic timeout ${QUANT_LIMIT:-100} build-gpu/bin/var/oaf-test_gpu_quant > /tmp/h.log 2>&1
echo "oaf test_gpu_quant heuristic rc $?: $(grep -E '^[0-9]+%:' /tmp/h.log)"; grep -E "^FAIL|runs|cases \(" /tmp/h.log | tail -4
