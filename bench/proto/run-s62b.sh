#!/usr/bin/env bash
# Sixty-second session: the int8 / fp8 [out,in] blocks at T = 1..16 with the code GEMVs' bound set per GEMM (variant
# cbp, bench/proto/codes-bound-per-gemm.patch): first:second = 1:2 (T = 2: mixed first GEMM + norm kernel, GEMV
# second), 2:4, 1:4, 1:8, 2:8, against main (2:2), two rounds.
#   prep: bash bench/proto/prep-s62b.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62b/store.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/cbp
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk round $r"; bench_run main $B out_in 1,2,3,4,8,16 50
    for fs in 1:2 2:4 1:4 1:8 2:8; do
      bench_run "cbp $fs" $V out_in 1,2,3,4,8,16 50 DSMLP_PROBE_CODES_T_FIRST=${fs%%:*} DSMLP_PROBE_CODES_T_SECOND=${fs#*:}
    done
  done
done
# float blocks: decode GEMVs to T = 4 / 8 against the auto bound (T <= 2), both layouts, one round
for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
  for lay in out_in in_out; do
    echo "== $blk $lay"; bench_run auto $B $lay 1,2,3,4,8,16 50
    bench_run gemv4 $B $lay 1,2,3,4,8,16 50 DSMLP_DECODE_MAX_TOKENS=4; bench_run gemv8 $B $lay 1,2,3,4,8,16 50 DSMLP_DECODE_MAX_TOKENS=8
  done
done
