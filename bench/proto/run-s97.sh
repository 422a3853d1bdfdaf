#!/usr/bin/env bash
# Seventy-fourth session, run-s96.sh cut to what a short budget holds (~300 s): its A/B (main against the serial split's
# new tail, three rounds) and ncu of GELU-4096 int8 at T = 16, then the GPU tests of the kernels the change touches, side
# by side: test_gpu_quant's mixed, mixed_two_groups, mixed_clusters and heuristic cases (the code kernels: the new tail,
# the unsplit tail, the clusters and two groups), test_gpu_wgmma (the float-weight kernels share the epilogue).
#   prep and carry: run-s96.sh's
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
L=$(( ${LIMIT:-300} - ($(date +%s) - t0) ))
echo "== GPU tests, $L s each"
export CASE_THREADS=3
for c in mixed mixed_two_groups mixed_clusters heuristic; do gpu_case test_gpu_quant $c $c $L & done
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=4 timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/case-wgmma.log 2>&1; echo "test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s97.sh took $(( $(date +%s) - t0 )) s"
