#!/usr/bin/env bash
# Sixty-first session, call 4: the k-split GEMVs' GPU test (its output was cut from call 3's tail), then the auto rule
# that builds [in,out] GEMVs of >= 32 MiB weights to T = 2 (lower.c): f7c6924 as loaded against main as loaded, at
# T = 1, 2, [in,out].   carry: build-gpu/bin build-gpu/lib build-gpu/tests/test_gpu_mlp_family
. bench/proto/device-env.sh build-gpu/bin/s61/store-d.tar.xz
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench
(cd build-gpu && CK_RUN_CASE=gemv_split DSMLP_COMPILE_THREADS=16 timeout 200 ./tests/test_gpu_mlp_family 2>&1 | grep -v "^note" | tail -20)
for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
  echo "== $blk"
  bench_run f7c $O in_out 1,2 50; bench_run main $B in_out 1,2 50
done
