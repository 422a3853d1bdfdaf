#!/usr/bin/env bash
# Seventy-ninth session's call (one call, <= 590 s: starts failed for most of the session's device time, so the
# seventy-eighth session's two calls run-s108.sh / run-s108t.sh are cut to one, ncu dropped): (1) the second GEMM at
# T = 2 on its mixed kernel (DSMLP_DECODE_MAX_TOKENS=1, "d1") against main, two rounds int8, one fp8; (2) tw200
# (bench/proto/mixed-twin-200k-stages.patch) against main, one round, T = 3..64; (3) then, with what is left, the GPU
# tests main's 6f165e3 has not had (test_gpu_quant quant, test_gpu_stream stream) and test_gpu_quant quant under d1.
#   store: build-gpu/bin/s108/store.tar.xz (run-s108.sh's)   carry: build-gpu/bin build-gpu/lib build-gpu/tests
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s108/store.tar.xz
export DSMLP_COMPILE_THREADS=16
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
echo "== the second GEMM at T = 2: its GEMV (main) or its mixed kernel (d1)"
c() { bench_run main build-gpu/bin/dsmlp-bench out_in 1,2 50; }
d() { bench_run d1 build-gpu/bin/dsmlp-bench out_in 1,2 50 DSMLP_DECODE_MAX_TOKENS=1; }
ab_rounds 2 "swiglu_i8_h4096 gelu_i8_h4096" c d
[ -n "$SKIP_TW" ] || ab_rounds 1 "swiglu_fp8_h4096 gelu_fp8_h4096" c d
echo "== at $(( $(date +%s) - t0 )) s: tw200 against main"
TL=3,8,16,32,64
a() { bench_run main build-gpu/bin/dsmlp-bench out_in $TL 50; }
b() { bench_run tw200 build-gpu/bin/var/tw200 out_in $TL 50; }
[ -n "$SKIP_TW" ] || ab_rounds 1 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096" a b   # SKIP_TW=1: short of time
L=$(( ${BUDGET:-585} - ($(date +%s) - t0) ))
echo "== at $(( $(date +%s) - t0 )) s: the GPU tests, limit $L s"
unset DSMLP_COMPILE_THREADS
(CASE_THREADS=5 gpu_case test_gpu_quant quant quant $L) &
(CASE_THREADS=5 gpu_case test_gpu_stream stream stream $L) &
(CASE_THREADS=5 gpu_case test_gpu_quant quant quant-d1 $L DSMLP_DECODE_MAX_TOKENS=1) &
wait
case_summaries
echo "== run-s109.sh took $(( $(date +%s) - t0 )) s"
