#!/usr/bin/env bash
# Eighty-third session's call (188 s on an H100; bfp and bfph both lost, bench/RESULTS.md): bf16 x in the decode GEMVs' f16 pairs. "bfp" (bench/proto/gemv-bf16-pairs.patch,
# eighty-second session): the first GEMV's norm output rounded to bf16 and staged as f16 times 2^-s (SwiGLU-4096 int8
# gated GEMV 68 -> 41 instructions a 16-byte load). "bfph" (bfp + bench/proto/gemv-bf16-read-pairs.patch): the second
# GEMV's bf16 x too, its 2^-s from x's maximum found as it stages x (one more barrier; its inner loop 70 -> 38 a load).
# dsmlp-bench [out,in] T = 1 / 2, three rounds with the sides' order rotated, SwiGLU-4096 int8 and fp8, GELU-4096 int8
# (f16 x: the same kernels) as the control; then bfph's test_gpu_quant cases quant, heuristic and error.
#   build: VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh bfp bench/proto/gemv-bf16-pairs.patch
#          VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh bfph bench/proto/gemv-bf16-pairs.patch \
#            bench/proto/gemv-bf16-read-pairs.patch
#   store: bench/store_prefill.sh build-gpu/bin/s112/store.tar.xz 1,2 {build-gpu/bin/dsmlp-bench,bfp,bfph}:{swiglu_i8_h4096,
#          swiglu_fp8_h4096,gelu_i8_h4096} (42 s here, 94 kernels)
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s112/store.tar.xz
export DSMLP_COMPILE_THREADS=16
main_side() { bench_run main build-gpu/bin/dsmlp-bench out_in 1,2 100; }
bfp_side() { bench_run bfp build-gpu/bin/var/bfp out_in 1,2 100; }
bfph_side() { bench_run bfph build-gpu/bin/var/bfph out_in 1,2 100; }
for r in 1 2 3; do
  for blk in swiglu_i8_h4096 swiglu_fp8_h4096; do
    echo "== $blk r$r"
    case $r in 1) main_side; bfp_side; bfph_side ;; 2) bfph_side; main_side; bfp_side ;; 3) bfp_side; bfph_side; main_side ;; esac
  done
done
blk=gelu_i8_h4096; echo "== $blk"; main_side; bfph_side
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
export GPU_TEST_DIR=build-gpu/bin/var CASE_THREADS=5
gpu_case bfph-test_gpu_quant quant quant ${LIMIT:-300} &
gpu_case bfph-test_gpu_quant heuristic heuristic 200 &
gpu_case bfph-test_gpu_quant error error 120 &
wait
case_summaries
