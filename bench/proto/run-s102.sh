#!/usr/bin/env bash
# Seventy-sixth session (~430 s on an H100): the landed trigger (templates/mixed.cu: float kernels at entry, code
# kernels of <= 32 tokens after their last copy; run-s101.sh measured each as a variant) against main's binary
# (build-main) in one store, two rounds with the order alternated, the six 4096-wide blocks at T = 2..128; then the
# GPU tests of the kernels it touches, side by side: test_gpu_quant mixed / mixed_two_groups / mixed_clusters /
# heuristic, test_gpu_wgmma, test_gpu_stream stream (its route runs the mixed GEMMs after its own kernels).
#   prep: bench/store_prefill.sh build-gpu/bin/s102/store.tar.xz 2,3,8,16,32,64,128 for both binaries x six blocks;
#         the three test binaries copied to build-gpu/bin/t
#   carry: build-gpu/bin build-gpu/lib build-main/bin
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s102/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=2,3,8,16,32,64,128
old() { bench_run main build-main/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run trig build-gpu/bin/dsmlp-bench out_in $TL 50; }
ab_rounds 2 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096" old new
L=$(( ${LIMIT:-420} - ($(date +%s) - t0) ))
echo "== A/B done at $(( $(date +%s) - t0 )) s; GPU tests, $L s each"
tcase() { env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=3 CK_RUN_CASE=$2 timeout $L build-gpu/bin/t/$1 > $OUT/case-$1-$2.log 2>&1; echo "$1 $2 rc $?"; }
for c in mixed mixed_two_groups mixed_clusters heuristic; do tcase test_gpu_quant $c & done
tcase test_gpu_stream stream &
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=3 timeout $L build-gpu/bin/t/test_gpu_wgmma > $OUT/case-wgmma.log 2>&1; echo "test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s102.sh took $(( $(date +%s) - t0 )) s"
