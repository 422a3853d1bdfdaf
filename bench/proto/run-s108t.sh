#!/usr/bin/env bash
# Seventy-eighth session's second call (~300 s, the machine warm after run-s108.sh): the GPU tests the seventy-seventh
# session's change (dsmlpR_mixed_next_early) did not get through, test_gpu_quant quant and test_gpu_stream stream, and
# tw200's test_gpu_quant mixed case, side by side, five NVRTC threads each (each test compiles its own kernels).
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s108/store.tar.xz
L=${LIMIT:-560}
(CASE_THREADS=5 gpu_case test_gpu_quant quant quant $L) &
(CASE_THREADS=5 gpu_case test_gpu_stream stream stream $L) &
(CASE_THREADS=5 GPU_TEST_DIR=build-gpu/bin/var gpu_case tw200-test_gpu_quant mixed tw200-mixed $L) &
wait
case_summaries
echo "== run-s108t.sh took $(( $(date +%s) - t0 )) s"
