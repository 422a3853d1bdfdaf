#!/usr/bin/env bash
# Builds what bench/proto/run-s62c.sh carries: the variant `msp` (bench/proto/mixed-split-waves.patch: a k split in
# clusters of DSMLP_PROBE_MIXED_SPLIT blocks where a mixed GEMM's tiles alone take more than a wave) and a store for
# the int8 / fp8 blocks at T = 64..1024 (the split is chosen at run time: main's kernels).
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
[ -x build-gpu/bin/var/msp ] || VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh msp bench/proto/mixed-split-waves.patch
mkdir -p build-gpu/bin/s62c
B=build-gpu/bin/dsmlp-bench j=""
for blk in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_i8_h8192; do j="$j $B:$blk"; done
# shellcheck disable=SC2086
bash bench/store_prefill.sh build-gpu/bin/s62c/store.tar.xz 64,96,128,256,1024 $j
