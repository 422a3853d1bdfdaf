#!/bin/bash
# session 44: the whole GPU suite (stream included) on the tree with gelu-silu-sfu-land.patch applied (landed as 3b0c496), in one call:
# the two long tests' Check cases run as separate processes beside ctest of the rest, so the wall time is the longest
# case's, not the sum. carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
# (Now a caller of run-s55-suite.sh, which grew knobs: test_gpu_quant's cases as they were then.)
QUANT_CASES="quant heuristic mixed mixed_two_groups" LIMIT=${LIMIT:-500} exec bash bench/proto/run-s55-suite.sh
