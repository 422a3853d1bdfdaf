#!/usr/bin/env bash
# Sixty-fifth session: the pair-kernel stream probe (bench/proto/pair_stream.cu), then variant dpf
# (bench/proto/mixed-drain-prefetch.patch: a mixed kernel's producer asks L2 for the next mixed GEMM's first stages once
# its own copies are issued) against main, [out,in], two rounds, then dpf's test_gpu_quant mixed case.
#   prep: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu
#         VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh dpf bench/proto/mixed-drain-prefetch.patch
#   carry: build-gpu/bin build-gpu/lib      (~250 s on an H100)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
timeout 120 build-gpu/bin/pair_stream; echo "== pair_stream rc $? in $(( $(date +%s) - t0 )) s"
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/dpf
for r in $(seq 1 ${ROUNDS:-2}); do
  for blk in gelu_i8_h4096 ${SWIGLU:-swiglu_i8_h4096} ${MORE_BLOCKS:-}; do
    echo "== $blk r$r"; bench_run main $B out_in ${TOKENS:-3,8,16,64,128} 50; bench_run dpf $V out_in ${TOKENS:-3,8,16,64,128} 50
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
[ "${SKIP_TEST:-0}" = 1 ] && exit 0
CK_RUN_CASE=mixed timeout ${QUANT_LIMIT:-90} build-gpu/bin/var/dpf-test_gpu_quant > /tmp/m.log 2>&1
echo "dpf test_gpu_quant mixed rc $?: $(grep -E '^[0-9]+%:' /tmp/m.log)"; grep -E "^FAIL|cases \(" /tmp/m.log | tail -4
echo "== run-s66c.sh took $(( $(date +%s) - t0 )) s"
