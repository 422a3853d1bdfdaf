#!/usr/bin/env bash
# Prepared in the seventy-third session for the next one's FIRST call (~400 s on an H100 or H200; no machine came for
# run-s94.sh this session): the 64- / 128-token serial-split probe (run-s94.sh: A/B, ncu, test_gpu_quant mixed under
# DSMLP_MIXED_SERIAL_SPLIT=2), then where main stands (run-s93.sh: six blocks, peers.py, ncu at T = 16; the probe's
# default option 1 is main's behaviour, so one build serves both).
#   prep: git apply bench/proto/mixed-serial-split-128.patch; export PATH=/usr/local/cuda/bin:$PATH;
#         BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh; then the stores of run-s94.sh and run-s93.sh
#         (their headers; ~70 s each here)
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
LIMIT=${LIMIT:-230} bash bench/proto/run-s94.sh
bash bench/proto/run-s93.sh
