#!/bin/bash
# session 38, call 5: main (ea9312e, not run whole on the GPU since d131b34: its later commits moved the split rule's
# slot count into one helper) - the suites of the mixed and wgmma kernels that the rule picks: the two-group case of
# test_gpu_quant, test_gpu_wgmma, test_gpu_runtime and test_gpu_gemm.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
CK_RUN_CASE=mixed_two_groups DSMLP_CACHE_DIR=/tmp/c-q timeout 150 build-gpu/tests/test_gpu_quant > $OUT/two.log 2>&1 &
timeout 150 ctest --test-dir build-gpu -R "test_gpu_(wgmma|runtime|gemm)$" -j 3 --timeout 140 > $OUT/suites.log 2>&1
echo "ctest rc=$? $((SECONDS-s0))s"; grep -E "Test +#|tests passed|tests failed" $OUT/suites.log
wait
echo "two groups done $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/two.log | head -4
