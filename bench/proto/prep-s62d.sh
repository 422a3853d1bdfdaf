#!/usr/bin/env bash
# Builds what bench/proto/run-s62d.sh carries: main's test_gpu_quant and a store for main (the wide code GEMMs' GEMV
# for T = 1 only) and the variant cbp at 2:2 (the rule before) at T = 1, 2, 3.
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
mkdir -p build-gpu/bin/s62d
cp build-gpu/tests/test_gpu_quant build-gpu/bin/s62d/
B=build-gpu/bin/dsmlp-bench j=""
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 swiglu_i8_h8192; do
  j="$j $B:$blk cbp:$blk:1,2,3:DSMLP_PROBE_CODES_T_FIRST=2+DSMLP_PROBE_CODES_T_SECOND=2"
done
# shellcheck disable=SC2086
bash bench/store_prefill.sh build-gpu/bin/s62d/store.tar.xz 1,2,3 $j
