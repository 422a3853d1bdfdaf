#!/bin/bash
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 200 ctest --test-dir build-gpu -R "test_gpu_(wgmma|gemm|runtime|layers|mlp_cross)" -j 5 --timeout 190 > $OUT/suites.log 2>&1
echo "suites rc=$?"; grep -E "Test +#|tests passed|Failed" $OUT/suites.log | head -20
