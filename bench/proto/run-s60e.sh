#!/usr/bin/env bash
# Sixtieth session, call 5: which GEMMs gain from the L2 prefetch at entry, and how deep. Variant pfp (the landed
# candidate with every code kernel of <= 64 tokens built to prefetch, twins included, and DSMLP_PROTO_PF =
# "first,second,first64,second64": lines a row for the block's first GEMM (no residual) and its second (adds it), in
# the 16/32-token kernels and in the 64-token ones).   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s60/store-f.tar.xz
V=build-gpu/bin/var/pfp
TOK=3,8,16,32,64,128,1024
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_i8_h8192; do
    echo "== $blk round $r"
    for pf in 0,0,0,0 0,8,0,0 4,8,0,0 8,8,0,0 8,8,0,4 8,8,4,4 8,8,4,0; do
      bench_run "pf $pf" $V out_in $TOK 50 DSMLP_PROTO_PF=$pf
    done
  done
done
