#!/usr/bin/env bash
# Eightieth session's second call (<= 590 s): (1) main, whose second int8/fp8 GEMM now leaves T = 2 to its mixed kernel
# behind a wide first GEMM (lower.c lower_gemv), against "t2" (bench/proto/codes-second-gemv-t2.patch:
# the rule before, the second GEMM's GEMV to T = 2), two rounds at T = 1..3 on whichever card comes; (2) then the GPU
# tests that cover the change: test_gpu_quant quant (every layout and route), heuristic (the small-T route as loaded),
# mixed, error.
#   store: build-gpu/bin/s110/store.tar.xz   carry: build-gpu/bin build-gpu/lib build-gpu/tests
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s110/store.tar.xz
export DSMLP_COMPILE_THREADS=16
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
echo "== the second code GEMM at T = 2: its mixed kernel (main) or its GEMV (t2)"
a() { bench_run main build-gpu/bin/dsmlp-bench out_in 1,2,3 50; }
b() { bench_run t2 build-gpu/bin/var/t2 out_in 1,2,3 50; }
ab_rounds 2 "swiglu_i8_h4096 gelu_i8_h4096 swiglu_fp8_h4096" a b
L=$(( ${BUDGET:-585} - ($(date +%s) - t0) ))
echo "== at $(( $(date +%s) - t0 )) s: the GPU tests, limit $L s"
unset DSMLP_COMPILE_THREADS
(CASE_THREADS=4 gpu_case test_gpu_quant quant quant $L) &
(CASE_THREADS=4 gpu_case test_gpu_quant heuristic heuristic $L) &
(CASE_THREADS=4 gpu_case test_gpu_quant mixed mixed $L) &
(CASE_THREADS=4 gpu_case test_gpu_quant error error $L) &
wait
case_summaries
echo "== run-s110.sh took $(( $(date +%s) - t0 )) s"
