#!/usr/bin/env bash
# Prepared in the seventy-second session for the next one's FIRST call (~250 s): the landing of the k split without
# clusters (bench/proto/mixed-serial-split-land.patch, applied in this build) against the same binary with
# DSMLP_MIXED_SERIAL_SPLIT=0 (main's clusters), three rounds with the order rotated, the four 4096-wide code blocks at
# T = 1..64 and 128 / 1024 (unchanged there: 64-token and wider kernels keep clusters); ncu per kernel at T = 8; then
# test_gpu_quant's mixed case (serial) and its new mixed_clusters case (T <= 32 with the option 0). SECOND call, if
# the first is green and faster: the whole GPU suite on the same build (QUANT_CASES="quant error heuristic mixed
# mixed_two_groups mixed_clusters" LIMIT=480 bash bench/proto/run-s55-suite.sh; carry bin, lib, tests,
# CTestTestfile.cmake).
#   prep: git apply bench/proto/mixed-serial-split-land.patch && export PATH=/usr/local/cuda/bin:$PATH &&
#         BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
#         B=build-gpu/bin/dsmlp-bench; bench/store_prefill.sh build-gpu/bin/s92/store.tar.xz 1,2,3,4,8,16,24,32,48,64,128,1024
#         $B:BLOCK and $B:BLOCK:1,2,3,4,8,16,24,32,48,64,128,1024:DSMLP_MIXED_SERIAL_SPLIT=0 for gelu_i8_h4096,
#         swiglu_i8_h4096, gelu_fp8_h4096, swiglu_fp8_h4096
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s92/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=1,2,3,4,8,16,24,32,48,64,128,1024
on() { bench_run serial $C out_in $TL 50; }
off() { bench_run clusters $C out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=0; }
ab_rounds 3 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096" off on
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof sg8 out_in gelu_i8_h4096 8
ncu_prof ss8 out_in swiglu_i8_h4096 8
L=$(( ${LIMIT:-540} - ($(date +%s) - t0) ))
gpu_case test_gpu_quant mixed serial $L &
gpu_case test_gpu_quant mixed_clusters clusters $L &
wait
case_summaries
echo "== run-s92.sh took $(( $(date +%s) - t0 )) s"
