#!/bin/bash
# session 39: the whole GPU suite on the tree with gelu-silu-sfu.patch applied (landed as 3b0c496) (every activation kernel changed).
# carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
export NCCL_NVLS_ENABLE=0
export DSMLP_COMPILE_THREADS=2   # 8 tests at once on 16 cores: each plan's NVRTC on 2 threads (0 would be 16 each)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 480 ctest --test-dir build-gpu -L gpu -E test_gpu_stream -j 8 --timeout 470 2>&1 | grep -vE "^ *Start|^$"
