#!/usr/bin/env bash
# Sixtieth session, call 8: the [in,out] decode GEMV at T = 2 again, on more blocks (call 1: GELU-4096 f16 2.5-3.3 us
# faster than cuBLASLt there since the GEMVs' L2 prefetch, BERT-base 1.6-1.8 slower): DSMLP_DECODE_MAX_TOKENS=2
# against auto (which builds the [in,out] GEMV for T = 1 only), order swapped between rounds.
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s60/store-io.tar.xz
B=build-gpu/bin/dsmlp-bench
for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
  echo "== $blk [in,out]"
  bench_run auto $B in_out 1,2 50; bench_run gemv2 $B in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2
  bench_run gemv2 $B in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2; bench_run auto $B in_out 1,2 50
done
