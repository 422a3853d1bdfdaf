#!/usr/bin/env bash
# Builds what bench/proto/run-s62.sh carries: dsmlp-bench of f7c6924 (before the k-split [in,out] GEMVs; prep-s61c.sh),
# the variant `oih` (bench/proto/gemv-oi-halves.patch: the [out,in] GEMVs' loads pipelined in halves) with its
# test_gpu_quant and test_gpu_mlp_family, and a kernel store for main and oih at T = 1, 2 ([out,in] int8 / fp8 / f16 / bf16 blocks) and for
# f7c6924 and main at T = 1, 2 ([in,out] blocks).
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
[ -x build-gpu/bin/old/dsmlp-bench-f7c ] || bash bench/proto/prep-s61c.sh
VARIANT_TESTS="test_gpu_quant test_gpu_mlp_family" bash bench/build_variant.sh oih bench/proto/gemv-oi-halves.patch
mkdir -p build-gpu/bin/s62
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench V=oih j=""
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768; do
  j="$j $B:$blk:1 $B:$blk:2 $V:$blk:1 $V:$blk:2"
done
# shellcheck disable=SC2086
bash bench/store_prefill.sh /tmp/prep-s62-oi.tar.xz 1 $j
j=""
for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do j="$j $O:$blk:1,2 $B:$blk:1,2"; done
# shellcheck disable=SC2086
SEED=/tmp/prep-s62-oi.tar.xz LAYOUT=in_out bash bench/store_prefill.sh build-gpu/bin/s62/store.tar.xz 1,2 $j
du -sh build-gpu/bin
