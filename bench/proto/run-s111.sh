#!/usr/bin/env bash
# Eighty-second session's prepared call (<= 590 s; after run-s110s.sh, or on its own): bench/proto/gemv-bf16-pairs.patch
# ("bfp": a bf16 block's first decode GEMV on int8 / fp8 codes multiplies in f16 pairs, its norm's output rounded to
# bf16 and staged as f16 times 2^-s; SwiGLU-4096 int8's gated GEMV, 2/3 of the block's bytes, issues 41 instructions a
# 16-byte load against main's 68; the forty-first session's probe put the GEMVs' arithmetic at 3.6 us of SwiGLU-4096
# int8's T = 1 on an H100) against main, dsmlp-bench [out,in] T = 1 / 2, three rounds with the sides alternated, GELU-4096
# int8 (f16 x: the same kernels) as the control; then bfp's test_gpu_quant cases quant (bf16 blocks' GEMVs at T <= 2
# among them), heuristic and error.
#   build: VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh bfp bench/proto/gemv-bf16-pairs.patch
#   store: build-gpu/bin/s111/store.tar.xz (bench/store_prefill.sh, SEED the s110 store: main and bfp at T = 1, 2)
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s111/store.tar.xz
export DSMLP_COMPILE_THREADS=16
main_side() { bench_run main build-gpu/bin/dsmlp-bench out_in 1,2 100; }
bfp_side() { bench_run bfp build-gpu/bin/var/bfp out_in 1,2 100; }
ab_rounds 3 "swiglu_i8_h4096 swiglu_fp8_h4096" main_side bfp_side
ab_rounds 1 "gelu_i8_h4096" main_side bfp_side
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
export GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=5
gpu_case bfp-test_gpu_quant quant quant ${LIMIT:-300} &
gpu_case bfp-test_gpu_quant heuristic heuristic 200 &
gpu_case bfp-test_gpu_quant error error 120 &
wait
case_summaries
