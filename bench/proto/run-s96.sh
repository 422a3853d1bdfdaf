#!/usr/bin/env bash
# Seventy-fourth session (~560 s on an H100 or H200): the serial split's tail reading all of a thread's items at once
# (templates/mixed.cu: the parts, four at a time, and bias / C with them; before, an item at a time, two L2 round trips
# each). main (build-main: dc31ac3) against the new build (build-gpu) in one store, three rounds with the order
# alternated, the four 4096-wide code blocks at T = 1..1024 (T > 32 checks that the 64- to 256-token kernels, whose
# dead serial branch is gone, did not move); ncu of GELU- and SwiGLU-4096 int8 at T = 16 on the new build; then the GPU
# suite on the new build (test_gpu_stream's ring case left out: the stream kernels are not touched).
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
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $((r % 2)) = 1 ]; then old; new; else new; old; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof g16 out_in gelu_i8_h4096 16
ncu_prof s16 out_in swiglu_i8_h4096 16
L=$(( ${LIMIT:-570} - ($(date +%s) - t0) ))
echo "== the GPU suite, $L s a process"
env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=2 LIMIT=$L STREAM_CASES="stream small" \
  QUANT_CASES="quant error heuristic mixed mixed_two_groups mixed_clusters" bash bench/proto/run-s55-suite.sh
echo "== run-s96.sh took $(( $(date +%s) - t0 )) s"
