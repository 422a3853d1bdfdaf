#!/usr/bin/env bash
# Eighty-fourth session's call (prepared without a device; ~450 s): the 128-token code kernels keeping 2 or 3 wgmma
# groups in flight. The eighty-third session's ncu (H100, T = 128) found their consumers latency-bound: tensor pipe
# 54% of elapsed cycles, issue slots 26% busy, "wait" the top stall. On main a step issues this 64 k's wgmmas, waits
# for the step before's (wait_group 1), then converts the next 64 k: the conversion sits between one group's end and
# the next group's issue. "xw2" (bench/proto/mixed128-wait2.patch): four register sets, wait_group 2, so the next 64 k
# is converted while two groups are in flight; "xw3" (+ mixed128-wait3.patch): wait_group 3. Both hold each stage one
# or two steps longer (8 stages: 5 or 4 copies ahead instead of 6). Only the 128-token kernels change (T = 65..128);
# T = 256 runs the same kernels on every side (control).
# dsmlp-bench [out,in] T = 65 / 100 / 128 / 256, three rounds, the sides' order rotated; then both variants'
# test_gpu_quant mixed and mixed_two_groups (their own kernel stores).
#   build: VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh xw2 bench/proto/mixed128-wait2.patch
#          VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh xw3 bench/proto/mixed128-wait2.patch \
#            bench/proto/mixed128-wait3.patch
#   store: bench/store_prefill.sh build-gpu/bin/s113/store.tar.xz 65,100,128,256 \
#            {build-gpu/bin/dsmlp-bench,xw2,xw3}:{gelu_i8_h4096,swiglu_i8_h4096,gelu_fp8_h4096}
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s113/store.tar.xz
export DSMLP_COMPILE_THREADS=16
T=65,100,128,256
main_side() { bench_run main build-gpu/bin/dsmlp-bench out_in $T 50; }
xw2_side() { bench_run xw2 build-gpu/bin/var/xw2 out_in $T 50; }
xw3_side() { bench_run xw3 build-gpu/bin/var/xw3 out_in $T 50; }
{
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk r$r"
    case $r in 1) main_side; xw2_side; xw3_side ;; 2) xw3_side; main_side; xw2_side ;; 3) xw2_side; xw3_side; main_side ;; esac
  done
done
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
export GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=4
gpu_case xw2-test_gpu_quant mixed xw2-mixed ${LIMIT:-300} &
gpu_case xw3-test_gpu_quant mixed xw3-mixed ${LIMIT:-300} &
gpu_case xw2-test_gpu_quant mixed_two_groups xw2-two ${LIMIT:-300} &
gpu_case xw3-test_gpu_quant mixed_two_groups xw3-two ${LIMIT:-300} &
wait
case_summaries
} 2>&1 | tee "$OUT/summary.txt"
