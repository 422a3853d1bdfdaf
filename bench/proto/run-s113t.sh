#!/usr/bin/env bash
# Eighty-fourth session: the GPU tests of run-s113.sh's variants (~280 s; run it on the warm machine right after, or
# first if a variant is to land): test_gpu_quant mixed for xw2, xw3 and epi, mixed_two_groups for xw2 and epi (the
# second group's prefetched parts), test_gpu_wgmma's float kernels for epi. Each with its own kernel store.
#   prep: bash bench/proto/prep-s113.sh
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s113/store.tar.xz
{
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
export GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=3
gpu_case xw2-test_gpu_quant mixed xw2-mixed ${LIMIT:-270} &
gpu_case xw3-test_gpu_quant mixed xw3-mixed ${LIMIT:-270} &
gpu_case xw2-test_gpu_quant mixed_two_groups xw2-two ${LIMIT:-270} &
gpu_case epi-test_gpu_quant mixed epi-mixed ${LIMIT:-270} &
gpu_case epi-test_gpu_quant mixed_two_groups epi-two ${LIMIT:-270} &
gpu_case epi-test_gpu_wgmma wgmma epi-wgmma ${LIMIT:-270} &
wait
case_summaries
} 2>&1 | tee "$OUT/summary.txt"
