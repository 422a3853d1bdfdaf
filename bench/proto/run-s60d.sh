#!/usr/bin/env bash
# Sixtieth session, call 4: the L2 prefetch at entry as landed (exec_mixed.c prefetch_lines: 8 lines a row in the
# 16- / 32-token code kernels two a SM, 4 in the 64-token ones) against 4695e73, two rounds, T = 1..1024; then
# test_gpu_quant's cases.   carry: build-gpu/bin build-gpu/lib build-gpu/tests
. bench/proto/device-env.sh build-gpu/bin/s60/store-e.tar.xz
H=build-gpu/bin/old/dsmlp-bench-4695 B=build-gpu/bin/dsmlp-bench
TOK=1,2,3,4,8,16,32,64,128,1024
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 swiglu_i8_h8192; do
    echo "== $blk round $r"; bench_run 4695e73 $H out_in $TOK 50; bench_run new $B out_in $TOK 50
  done
done
export DSMLP_COMPILE_THREADS=4
for c in mixed mixed_two_groups quant heuristic error; do
  ( t0=$(date +%s); CK_RUN_CASE=$c timeout 400 build-gpu/tests/test_gpu_quant > /tmp/q-$c.log 2>&1; rc=$?
    echo "test_gpu_quant $c: rc $rc, $(( $(date +%s) - t0 )) s: $(grep -E 'cases|^[0-9]+%' /tmp/q-$c.log | tr '\n' ' ' | cut -c1-300)" ) &
done
wait
