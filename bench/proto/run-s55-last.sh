#!/usr/bin/env bash
# Fifty-fifth session, last call (~390 s of device time left after six failed starts): the codes GEMV to T = 2 against
# T = 1 (int8, one round), then the GPU tests that run GEMVs on codes, in parallel, cut at TOTAL s.
#   TOTAL=180 bash bench/proto/run-s55-last.sh     carry: build-gpu/bin, build-gpu/lib, build-gpu/tests,
#                                                  build-gpu/CTestTestfile.cmake
ROUNDS=1 AB_BLOCKS="gelu_i8_h4096 swiglu_i8_h4096" STANDING=0 bash bench/proto/run-s55-ab.sh
echo "tests from $SECONDS s"
LIMIT=$((${TOTAL:-180} - SECONDS)) DSMLP_COMPILE_THREADS=4 QUANT_CASES="heuristic mixed quant" STREAM_CASES=small \
  CTEST_ALSO_SKIP="test_gpu_mlp_cross|test_gpu_tp|test_gpu_gemm|test_gpu_wgmma|test_gpu_layers|test_gpu_minilm" \
  bash bench/proto/run-s55-suite.sh
