#!/usr/bin/env bash
# Builds what bench/proto/run-s62b.sh carries: the variant `cbp` (bench/proto/codes-bound-per-gemm.patch: the code
# GEMVs' bound per GEMM from DSMLP_PROBE_CODES_T_FIRST / _SECOND) and a store for main and cbp's settings, T = 1..8.
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
[ -x build-gpu/bin/var/cbp ] || VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh cbp bench/proto/codes-bound-per-gemm.patch
mkdir -p build-gpu/bin/s62b
B=build-gpu/bin/dsmlp-bench j=""
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
  j="$j $B:$blk"
  for fs in 1:2 2:4 1:4 1:8 2:8; do
    j="$j cbp:$blk:1,2,3,4,8,16:DSMLP_PROBE_CODES_T_FIRST=${fs%%:*}+DSMLP_PROBE_CODES_T_SECOND=${fs#*:}"
  done
done
# shellcheck disable=SC2086
bash bench/store_prefill.sh build-gpu/bin/s62b/store.tar.xz 1,2,3,4,8,16 $j
# float blocks: the decode GEMVs to T = 4 / 8 (DSMLP_DECODE_MAX_TOKENS) against the auto bound, both layouts
j=""
for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
  j="$j $B:$blk $B:$blk:1,2,3,4,8,16:DSMLP_DECODE_MAX_TOKENS=4 $B:$blk:1,2,3,4,8,16:DSMLP_DECODE_MAX_TOKENS=8"
done
mv build-gpu/bin/s62b/store.tar.xz /tmp/s62b-seed.tar.xz
# shellcheck disable=SC2086
SEED=/tmp/s62b-seed.tar.xz bash bench/store_prefill.sh /tmp/s62b-oi.tar.xz 1,2,3,4,8,16 $j
# shellcheck disable=SC2086
SEED=/tmp/s62b-oi.tar.xz LAYOUT=in_out bash bench/store_prefill.sh build-gpu/bin/s62b/store.tar.xz 1,2,3,4,8,16 $j
