#!/usr/bin/env bash
# Sixtieth session, call 3: variant l2d (bench/proto/mixed-l2-ahead.patch) = the entry prefetch knobs of call 2
# (DSMLP_PROTO_MIXED_PF_KB: the first GEMM's budget; DSMLP_PROTO_MIXED_PF2: lines a row in the others) plus an L2
# prefetch k blocks ahead of the copies in the main loop (DSMLP_PROTO_MIXED_PFD blocks ahead; PFMODE 0: thread 0's
# bulk tensor prefetch, 1: the producer warp's prefetch.global.L2). Call 2: the second GEMM's 2 entry lines gave
# GELU-4096 int8 2.3 us at T = 3..16; call 1's 8 lines in both 3.2-4.1.   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s60/store-d.tar.xz
V=build-gpu/bin/var/l2d
TOK=3,4,8,16,32,64,128,1024
P=DSMLP_PROTO_MIXED
for r in 1 2; do
  blk=gelu_i8_h4096; echo "== $blk round $r"
  bench_run base $V out_in $TOK 50
  for l in 4 8 12; do bench_run "pf2_$l" $V out_in $TOK 50 ${P}_PF2=$l; done
  bench_run "pfd4m0" $V out_in $TOK 50 ${P}_PFD=4 ${P}_PFMODE=0
  bench_run "pfd4m1" $V out_in $TOK 50 ${P}_PFD=4 ${P}_PFMODE=1
  bench_run "pfd8m1" $V out_in $TOK 50 ${P}_PFD=8 ${P}_PFMODE=1
  bench_run "pfd4m1+pf2_4" $V out_in $TOK 50 ${P}_PFD=4 ${P}_PFMODE=1 ${P}_PF2=4
  blk=swiglu_i8_h4096; echo "== $blk round $r"
  bench_run base $V out_in $TOK 50
  bench_run "kb16384+pf2_8" $V out_in $TOK 50 ${P}_PF_KB=16384 ${P}_PF2=8
  bench_run "pfd4m1" $V out_in $TOK 50 ${P}_PFD=4 ${P}_PFMODE=1
  bench_run "kb16384+pf2_4+pfd4m1" $V out_in $TOK 50 ${P}_PF_KB=16384 ${P}_PF2=4 ${P}_PFD=4 ${P}_PFMODE=1
  blk=gelu_fp8_h4096; echo "== $blk round $r"
  bench_run base $V out_in $TOK 50
  bench_run "pf2_8" $V out_in $TOK 50 ${P}_PF2=8
  bench_run "pfd4m1+pf2_4" $V out_in $TOK 50 ${P}_PFD=4 ${P}_PFMODE=1 ${P}_PF2=4
done
