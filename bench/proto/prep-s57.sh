#!/usr/bin/env bash
# Makes what bench/proto/run-s57.sh carries, in this checkout (no GPU needed; a fresh checkout first needs
# `BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh`): the variants gb / gs / ga from their patches and the
# kernel store build-gpu/bin/s57/store.tar.xz (seeded from build-gpu/bin/s56's if it is there). ~1-2 min.
#   bash bench/proto/prep-s57.sh
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
P=bench/proto
VARIANT_TESTS="test_gpu_mlp_cross test_gpu_mlp_family test_gpu_wgmma" bash bench/build_variant.sh gb $P/float-gated-block.patch
VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh gs $P/float-gated-block.patch $P/float-gated-second-only.patch
VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh ga $P/float-gated-block.patch $P/float-second-any.patch
rm -f build-gpu/bin/var/gs-test_gpu_wgmma build-gpu/bin/var/ga-test_gpu_wgmma
mkdir -p build-gpu/bin/s57
seed=build-gpu/bin/s56/store.tar.xz
B=build-gpu/bin/dsmlp-bench
SEED=$([ -f $seed ] && echo $seed || true) bash bench/store_prefill.sh build-gpu/bin/s57/store.tar.xz 1,2,3,4,8,16,32 \
  $B:swiglu_bf16_h4096 gb:swiglu_bf16_h4096 gs:swiglu_bf16_h4096 ga:swiglu_bf16_h4096 \
  $B:swiglu_bf16_h4096:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2 \
  $B:swiglu_bf16_h8192 gb:swiglu_bf16_h8192 gs:swiglu_bf16_h8192 $B:swiglu_bf16_h8192:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2 \
  $B:gelu_f16_h4096 gb:gelu_f16_h4096 ga:gelu_f16_h4096 $B:gelu_f16_h4096:1,2,3,4,8,16,32:DSMLP_MIXED_GEMM=2 \
  $B:gelu_i8_h4096:1,2,3 $B:swiglu_i8_h4096:1,2,3 $B:gelu_i8_h4096:1,2,3:DSMLP_DECODE_MAX_TOKENS=1 \
  $B:swiglu_i8_h4096:1,2,3:DSMLP_DECODE_MAX_TOKENS=1
du -sh build-gpu/bin build-gpu/lib
