#!/usr/bin/env bash
# Seventy-fourth session (~260 s on an H100): the serial split's tail reading all of a thread's items at once
# (templates/mixed.cu: the parts, four at a time, and bias / C with them; before, an item at a time, two L2 round trips
# each). main (build-main: dc31ac3) against the new build (build-gpu) in one store, three rounds with the order
# alternated, the four 4096-wide code blocks at T = 1..1024; ncu of GELU-4096 int8 at T = 16 on the new build; then the
# GPU tests of the kernels the change touches, side by side: test_gpu_quant's mixed, mixed_two_groups, mixed_clusters
# and heuristic cases (the new tail, the unsplit tail, clusters, two groups), test_gpu_wgmma (the float-weight kernels
# share the epilogue). (The budget left no room for the rest of the GPU suite after it.)
#   prep: a worktree of main built into build-main (cmake -S WORKTREE -B build-main; target dsmlp-bench);
#         bench/store_prefill.sh build-gpu/bin/s96/store.tar.xz 1,2,3,4,8,16,24,32,48,64,128,1024 for both binaries x
#         the four blocks below
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-main/bin
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s96/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=1,2,3,4,8,16,24,32,48,64,128,1024
old() { bench_run main build-main/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run tail build-gpu/bin/dsmlp-bench out_in $TL 50; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096" old new
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof g16 out_in gelu_i8_h4096 16
L=$(( ${LIMIT:-300} - ($(date +%s) - t0) ))
echo "== GPU tests, $L s each"
export CASE_THREADS=3
for c in mixed mixed_two_groups mixed_clusters heuristic; do gpu_case test_gpu_quant $c $c $L & done
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=4 timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/case-wgmma.log 2>&1; echo "test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s97.sh took $(( $(date +%s) - t0 )) s"
