#!/usr/bin/env bash
# Seventy-seventh session (~230 s on an H200): (1) run-s103.sh (the landed trigger with mixed_serial_split = 0: the
# second GEMM at T <= 32 in clusters, launched early); (2) trig64 (bench/proto/mixed-trigger-late-64.patch: the
# 64-token code kernels trigger after their last copy too, their second GEMM in clusters) against the landed build,
# three rounds, the four 4096-wide code blocks at T = 33..128 (96 / 128: 128-token kernels, a control); (3) trigFL
# (bench/proto/mixed-trigger-float-late.patch: the float kernels trigger after their last copy, not at entry) against
# the landed build, two rounds, GELU-4096 f16 / SwiGLU-4096 bf16 at T = 3..128; then, side by side, trig64's
# test_gpu_quant mixed and mixed_clusters and trigFL's test_gpu_wgmma.
#   prep: run-s103.sh's; VARIANT_TESTS=test_gpu_quant bench/build_variant.sh trig64 bench/proto/mixed-trigger-late-64.patch;
#         VARIANT_TESTS=test_gpu_wgmma bench/build_variant.sh trigFL bench/proto/mixed-trigger-float-late.patch;
#         SEED=build-gpu/bin/s103/store.tar.xz bench/store_prefill.sh build-gpu/bin/s104/store.tar.xz 33,48,64,96,128
#         over build-gpu/bin/dsmlp-bench and trig64 x the four blocks; SEED=build-gpu/bin/s104/store.tar.xz
#         bench/store_prefill.sh build-gpu/bin/s105/store.tar.xz 3,8,16,32,64,128 over build-gpu/bin/dsmlp-bench and
#         trigFL x gelu_f16_h4096 swiglu_bf16_h4096
#   carry: build-gpu/bin build-gpu/lib build-main/bin
t0=$(date +%s)
bash bench/proto/run-s103.sh
. bench/proto/device-env.sh build-gpu/bin/s104/store.tar.xz > /dev/null
export DSMLP_COMPILE_THREADS=16
TL=33,48,64,96,128
old() { bench_run trig build-gpu/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run trig64 build-gpu/bin/var/trig64 out_in $TL 50; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096" old new
echo "== trig64 A/B done at $(( $(date +%s) - t0 )) s"
. bench/proto/device-env.sh build-gpu/bin/s105/store.tar.xz > /dev/null
export DSMLP_COMPILE_THREADS=16
TL=3,8,16,32,64,128
old() { bench_run landed build-gpu/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run trigFL build-gpu/bin/var/trigFL out_in $TL 50; }
ab_rounds 2 "gelu_f16_h4096 swiglu_bf16_h4096" old new
L=$(( ${LIMIT:-480} - ($(date +%s) - t0) ))
echo "== A/B done at $(( $(date +%s) - t0 )) s; the variants' tests, $L s each"
for c in mixed mixed_clusters; do GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=5 gpu_case trig64-test_gpu_quant $c trig64-$c $L & done
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=5 timeout $L build-gpu/bin/var/trigFL-test_gpu_wgmma > $OUT/case-trigFL-wgmma.log 2>&1; echo "trigFL test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s105.sh took $(( $(date +%s) - t0 )) s"
