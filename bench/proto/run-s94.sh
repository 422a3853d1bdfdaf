#!/usr/bin/env bash
# Seventy-third session (~250 s on an H100): the k split without clusters on the 64- and 128-token code kernels too
# (probe bench/proto/mixed-serial-split-128.patch: DSMLP_MIXED_SERIAL_SPLIT=2 takes it to 128-token blocks, no twins
# for them). Option 1 (main: <= 32-token blocks) against 2 in one binary, three rounds with the order alternated, the
# four 4096-wide code blocks at T = 33..1024; ncu of GELU-4096 int8 T = 128 under 2; then test_gpu_quant's mixed
# case under 2 (its T = 64 / 100 / 129 / 300 / 1000 take the split on the 64- / 128-token kernels).
#   prep: git apply bench/proto/mixed-serial-split-128.patch; build;
#         bench/store_prefill.sh build-gpu/bin/s94/store.tar.xz 33,48,64,96,128,192,256,512,1024 build-gpu/bin/dsmlp-bench:BLOCK
#         for the four blocks below (the option does not change the kernels)
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s94/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=33,48,64,96,128,192,256,512,1024
one() { bench_run to32 $C out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=1; }
two() { bench_run to128 $C out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=2; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096" one two
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof g128 out_in gelu_i8_h4096 128 DSMLP_MIXED_SERIAL_SPLIT=2
L=$(( ${LIMIT:-540} - ($(date +%s) - t0) ))
CASE_THREADS=16 gpu_case test_gpu_quant mixed s128 $L DSMLP_MIXED_SERIAL_SPLIT=2
case_summaries
echo "== run-s94.sh took $(( $(date +%s) - t0 )) s"
