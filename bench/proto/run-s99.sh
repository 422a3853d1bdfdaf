#!/usr/bin/env bash
# Seventy-fifth session, second probe (92 s on an H100): the round tail for clustered tiles only
# (bench/proto/mixed-tail-rounds-clusters.patch: the 64-token two-a-SM kernels, C > 1 and S == C; every other kernel of
# the six 4096-wide blocks compiles byte-identical to main's). main (build-main: 565c5c2) against the patched build,
# two rounds, order alternated, GELU- / SwiGLU-4096 int8 and GELU fp8 `[out,in]`; then test_gpu_quant mixed_clusters
# beside ncu of GELU-4096 int8 T = 64 on both builds (run-s98.sh measured the clustered second GEMM 35.09 -> 34.46 us
# and the unsplit first 30.30 -> 31.34 with rounds everywhere).
#   prep: git apply bench/proto/mixed-tail-rounds-clusters.patch; build build-gpu; SEED=<run-s98.sh's store>
#         bench/store_prefill.sh build-gpu/bin/s99/store.tar.xz 1,8,16,24,32,48,64,128,1024 with the new binary x the
#         three blocks below
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-main/bin
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s99/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=1,8,16,24,32,48,64,128,1024
old() { bench_run main build-main/bin/dsmlp-bench out_in $TL 50; }
new() { bench_run clus build-gpu/bin/dsmlp-bench out_in $TL 50; }
ab_rounds 2 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096" old new
echo "== A/B done at $(( $(date +%s) - t0 )) s"
L=$(( ${LIMIT:-200} - ($(date +%s) - t0) ))
CASE_THREADS=12 gpu_case test_gpu_quant mixed_clusters mixed_clusters $L &
B=build-main/bin/dsmlp-bench ncu_prof g64-main out_in gelu_i8_h4096 64
ncu_prof g64-clus out_in gelu_i8_h4096 64
wait
case_summaries
echo "== run-s99.sh took $(( $(date +%s) - t0 )) s"
