#!/usr/bin/env bash
# Sixty-third session, call 3: the working tree's wide float decode GEMVs on the GPU (test_gpu_mlp_family gemv_wide),
# the fp8-under-bf16 exception to the T = 1 code GEMV rule against main (dsmlp-bench-head), test_gpu_quant quant.
#   carry: build-gpu/bin build-gpu/lib   (build-gpu/bin/s63: the two test binaries; s62d: store, head bench)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
CK_RUN_CASE=gemv_wide timeout 200 build-gpu/bin/s63/test_gpu_mlp_family > /tmp/w.log 2>&1
echo "gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/w.log)"; grep -E "^ok|^FAIL|cases \(" /tmp/w.log | head -24
B=build-gpu/bin/s62d/dsmlp-bench-head N=build-gpu/bin/dsmlp-bench
for r in 1 2; do
  for blk in swiglu_fp8_h4096 gelu_fp8_h4096; do
    echo "== $blk r$r"; bench_run main $B out_in 1,2,3 50; bench_run new $N out_in 1,2,3 50
  done
done
CK_RUN_CASE=quant timeout ${QUANT_LIMIT:-150} build-gpu/bin/s63/test_gpu_quant > /tmp/q.log 2>&1
echo "test_gpu_quant quant rc $?: $(grep -E '^[0-9]+%:' /tmp/q.log)"; grep -E "^FAIL|cases \(" /tmp/q.log | head -3
