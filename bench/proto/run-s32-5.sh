#!/bin/bash
# session 32, call 5: the GPU suites on 6cd3591 within the last device seconds
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 320 ctest --test-dir build-gpu -L gpu -j 8 --timeout 310 2>&1 | grep -E "Test +#|tests passed|Failed|\*\*\*"
