#!/usr/bin/env bash
# Seventy-fifth session (499 s on an H100): the cluster / unsplit tail reading a round's epilogue inputs before its
# sums (templates/mixed.cu's last tail branch: rounds of 4 items a thread, 2 gated, 1 in <= 32-token kernels; before,
# an item at a time: its cluster sum, then bias / C from L2, then the store). main (build-main: 565c5c2) against the new
# build (build-gpu) in one store, three rounds with the order alternated, the six 4096-wide blocks `[out,in]`
# (the int8 / fp8 code kernels and the f16 / bf16 wgmma kernels share the tail); ncu of GELU-4096 int8 and f16 at
# T = 64 on both builds; then the GPU tests of the changed kernels (test_gpu_quant mixed, mixed_two_groups,
# mixed_clusters, heuristic; test_gpu_wgmma) beside test_gpu_stream's ring case (the one case last call's whole-suite
# run left at its 480 s limit).
#   prep: a worktree of main built into build-main (target dsmlp-bench); bench/store_prefill.sh
#         build-gpu/bin/s98/store.tar.xz 1,8,16,24,32,48,64,128,1024 with both binaries x the six blocks below
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-main/bin
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s98/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=1,8,16,24,32,48,64,128,1024
old() { bench_run main build-main/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run tail build-gpu/bin/dsmlp-bench out_in $TL 50; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096" old new
echo "== A/B done at $(( $(date +%s) - t0 )) s"
B=build-main/bin/dsmlp-bench ncu_prof g64-main out_in gelu_i8_h4096 64
ncu_prof g64-tail out_in gelu_i8_h4096 64
B=build-main/bin/dsmlp-bench ncu_prof f64-main out_in gelu_f16_h4096 64
ncu_prof f64-tail out_in gelu_f16_h4096 64
L=$(( ${LIMIT:-540} - ($(date +%s) - t0) ))
echo "== GPU tests, $L s each"
export CASE_THREADS=3
for c in mixed mixed_two_groups mixed_clusters heuristic; do gpu_case test_gpu_quant $c $c $L & done
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=4 timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/case-wgmma.log 2>&1; echo "test_gpu_wgmma rc $?") &
gpu_case test_gpu_stream ring ring $L &
wait
case_summaries
echo "== run-s98.sh took $(( $(date +%s) - t0 )) s"
