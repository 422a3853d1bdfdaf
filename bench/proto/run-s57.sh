#!/usr/bin/env bash
# For the fifty-seventh session: the float wgmma kernels in a gated [out,in] block from T = 3. The fifty-sixth session
# measured (H100) both GEMMs pinned to wgmma (DSMLP_MIXED_GEMM=2) 0.4-3.2 µs ahead of as loaded at SwiGLU-4096 bf16
# T = 3..32, but the first GEMM alone on them 2-4 µs behind (float-gated-first.patch, reverted). Builds:
#   head = main; gb = float-gated-block.patch (both GEMMs of a gated block from T = 3: the candidate, with tests);
#   gs = gb + float-gated-second-only.patch (the second GEMM alone: which half wins);
#   ga = gb + float-second-any.patch (also the second GEMM of an ungated block: GELU-4096 f16, whose pinned pair lost
#        up to 1.8 µs at T = 3, perhaps by its first GEMM);
#   pin = head with DSMLP_MIXED_GEMM=2 (both, every T: the fifty-sixth session's winner).
# Then gb's GPU tests (test_gpu_mlp_cross runs gated H 512 at T = 7 as loaded; test_gpu_mlp_family; test_gpu_wgmma).
# Land gb if it is ahead of head at T = 3..32 on both SwiGLU blocks and its tests pass.
#   make the binaries and the store: bash bench/proto/prep-s57.sh (what it does, by hand; a fresh checkout: build-gpu first, README):
#     VARIANT_TESTS="test_gpu_mlp_cross test_gpu_mlp_family test_gpu_wgmma" bash bench/build_variant.sh gb bench/proto/float-gated-block.patch
#     VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh gs bench/proto/float-gated-block.patch bench/proto/float-gated-second-only.patch
#     VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh ga bench/proto/float-gated-block.patch bench/proto/float-second-any.patch
#     the store: run-s57.sh's STORE line below (bench/store_prefill.sh)
#   bash bench/proto/run-s57.sh    carry: build-gpu/bin build-gpu/lib
# STORE: B=build-gpu/bin/dsmlp-bench; bench/store_prefill.sh build-gpu/bin/s57/store.tar.xz 1,2,3,4,8,16,32 \
#   $B:swiglu_bf16_h4096 gb:swiglu_bf16_h4096 gs:swiglu_bf16_h4096 $B:swiglu_bf16_h4096:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2 \
#   $B:swiglu_bf16_h8192 gb:swiglu_bf16_h8192 gs:swiglu_bf16_h8192 $B:swiglu_bf16_h8192:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2 \
#   $B:gelu_f16_h4096 gb:gelu_f16_h4096 ga:gelu_f16_h4096 ga:swiglu_bf16_h4096 $B:gelu_f16_h4096:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2
. bench/proto/device-env.sh build-gpu/bin/s57/store.tar.xz
V=build-gpu/bin/var
run() {   # label binary block [VAR=VALUE]
  env ${4:-X=} timeout 60 $2 --block $3 --tokens 1,2,3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk -v l=$1 '{print l, $1, $2, $4, $6}'
}
# First, the fifty-sixth session's landing (the codes GEMV at T = 2) against the old rule on whatever card this is (it
# was measured on an H100 only; the issues name the H200): one round, int8 GELU / SwiGLU-4096, T = 1..3.
STORE=build-gpu/bin/s57/store.tar.xz ROUNDS=1 STANDING=0 AB_BLOCKS="gelu_i8_h4096 swiglu_i8_h4096" \
  bash bench/proto/run-s55-ab.sh | grep -v NVIDIA
for r in 1 2; do
  for blk in swiglu_bf16_h4096 swiglu_bf16_h8192; do
    run head-r$r build-gpu/bin/dsmlp-bench $blk; run gb-r$r $V/gb $blk; run gs-r$r $V/gs $blk
    run pin-r$r build-gpu/bin/dsmlp-bench $blk DSMLP_MIXED_GEMM=2
  done
  run head-r$r build-gpu/bin/dsmlp-bench gelu_f16_h4096; run gb-r$r $V/gb gelu_f16_h4096; run ga-r$r $V/ga gelu_f16_h4096
  run pin-r$r build-gpu/bin/dsmlp-bench gelu_f16_h4096 DSMLP_MIXED_GEMM=2; run ga-r$r $V/ga swiglu_bf16_h4096
  echo "round $r done $SECONDS s (build-round block T as-loaded main-steps us)"
done
export DSMLP_COMPILE_THREADS=5
for t in test_gpu_mlp_cross test_gpu_mlp_family test_gpu_wgmma; do
  ( timeout ${LIMIT:-300} $V/gb-$t > $OUT/gb-$t.log 2>&1; echo "gb-$t rc $? at $SECONDS s"; grep -E "^==|cases|worst|Checks|:F:|:E:" $OUT/gb-$t.log | cut -c1-220 ) &
done
wait
