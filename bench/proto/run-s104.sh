#!/usr/bin/env bash
# Prepared in the seventy-sixth session for the next one (~250 s on an H100): (1) run-s103.sh (the landed trigger with
# mixed_serial_split = 0: the second GEMM at T <= 32 in clusters, launched early); (2) variant trig64
# (bench/proto/mixed-trigger-late-64.patch: the 64-token code kernels trigger after their last copy too, their second
# GEMM in clusters of up to 7: the nineteenth session's 9-12 us loss, on the kernels of then) against the landed build,
# three rounds, the four 4096-wide code blocks at T = 33..128 (96 / 128: 128-token kernels, a control); (3) trig64's
# test_gpu_quant mixed and mixed_clusters cases.
#   prep: bench/build_variant.sh trig64 bench/proto/mixed-trigger-late-64.patch (VARIANT_TESTS=test_gpu_quant);
#         bench/store_prefill.sh build-gpu/bin/s104/store.tar.xz 33,48,64,96,128 over build-gpu/bin/dsmlp-bench and
#         trig64 x the four blocks (SEED=build-gpu/bin/s103/store.tar.xz); run-s103.sh's prep
#   carry: build-gpu/bin build-gpu/lib build-main/bin
t0=$(date +%s)
bash bench/proto/run-s103.sh
. bench/proto/device-env.sh build-gpu/bin/s104/store.tar.xz > /dev/null
export DSMLP_COMPILE_THREADS=16
TL=33,48,64,96,128
old() { bench_run trig build-gpu/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run trig64 build-gpu/bin/var/trig64 out_in $TL 50; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096" old new
L=$(( ${LIMIT:-300} - ($(date +%s) - t0) ))
echo "== A/B done at $(( $(date +%s) - t0 )) s; trig64's cases, $L s each"
for c in mixed mixed_clusters; do GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=6 gpu_case trig64-test_gpu_quant $c trig64-$c $L & done
wait
case_summaries
echo "== run-s104.sh took $(( $(date +%s) - t0 )) s"
