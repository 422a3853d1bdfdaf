#!/usr/bin/env bash
# Sixty-second session, first call: (1) on an H200, the k-split [in,out] GEMVs and their T <= 2 bound (f7c6924 against
# main, [in,out], T = 1 / 2, two rounds); (2) on either card, the [out,in] GEMVs' loads pipelined in halves (variant
# oih, bench/proto/gemv-oi-halves.patch) against main at T = 1 / 2, two rounds, then its test_gpu_quant quant case and test_gpu_mlp_family act case.
#   prep: bash bench/proto/prep-s62.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62/store.tar.xz
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/oih
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768; do
    echo "== $blk [out,in] round $r"; bench_run main $B out_in 1 50; bench_run oih $V out_in 1 50
    bench_run main $B out_in 2 50; bench_run oih $V out_in 2 50
  done
done
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for r in 1 2; do
    for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
      echo "== $blk [in,out] round $r"; bench_run f7c $O in_out 1,2 50; bench_run main $B in_out 1,2 50
    done
  done
fi
# the variant's GPU tests: int8 / fp8 code GEMVs at T = 1, 2 (quant), float [out,in] GEMVs (family's act case)
CK_RUN_CASE=quant DSMLP_COMPILE_THREADS=16 timeout 300 build-gpu/bin/var/oih-test_gpu_quant 2>&1 | tail -6
CK_RUN_CASE=act DSMLP_COMPILE_THREADS=16 timeout 200 build-gpu/bin/var/oih-test_gpu_mlp_family 2>&1 | tail -6
