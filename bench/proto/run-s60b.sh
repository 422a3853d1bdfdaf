#!/usr/bin/env bash
# Sixtieth session, call 2: the mixed GEMMs' L2 prefetch at entry (prefetch.global.L2), now a budget for the first
# GEMM (the one after the norm kernel, whose blocks wait through it) and lines a row for the others
# (bench/proto/mixed-l2-lines-first.patch, variant l2m: DSMLP_PROTO_MIXED_PF_KB over the first GEMM's row tiles,
# DSMLP_PROTO_MIXED_PF2 lines a row elsewhere). Call 1 (every GEMM, lines a row): 4-8 lines 3-4.6 us faster at
# T = 3..16, deeper lost up to 10; T = 64 / 128 lost with 8.   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s60/store.tar.xz
V=build-gpu/bin/var/l2m
TOK=3,4,8,16,32,64,128,1024
for r in 1 2; do
  blk=gelu_i8_h4096; echo "== $blk round $r"
  for kb in 0 4096 8192 12288 16384 24576; do bench_run "kb$kb" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF_KB=$kb; done
  bench_run "kb8192+pf2_2" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF_KB=8192 DSMLP_PROTO_MIXED_PF2=2
  blk=swiglu_i8_h4096; echo "== $blk round $r"
  for kb in 0 4096 8192 12288 16384; do bench_run "kb$kb" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF_KB=$kb; done
  blk=gelu_fp8_h4096; echo "== $blk round $r"
  for kb in 0 8192 16384; do bench_run "kb$kb" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF_KB=$kb; done
done
echo "== l2m test_gpu_quant mixed, first GEMM 16 MiB, others 2 lines"
DSMLP_COMPILE_THREADS=16 DSMLP_PROTO_MIXED_PF_KB=16384 DSMLP_PROTO_MIXED_PF2=2 CK_RUN_CASE=mixed timeout 300 build-gpu/bin/var/l2m-test_gpu_quant 2>&1 | tail -4
