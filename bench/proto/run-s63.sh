#!/usr/bin/env bash
# Sixty-third session, call 1: run-s62d.sh's A/B of d3293e8 (the wide code GEMMs' GEMV for T = 1 only, against the
# rule before: variant cbp at 2:2) and test_gpu_quant's quant case, with the float blocks' decode GEMVs built to 8
# (DSMLP_DECODE_MAX_TOKENS=8) against the auto bound at T = 1..4 between them: does a second decode GEMV for T = 3..4
# pay on this card? And the working tree's second GEMV (wide: built for 8, serving T = 3..4).
#   prep: bash bench/proto/prep-s62d.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
B=build-gpu/bin/s62d/dsmlp-bench-head V=build-gpu/bin/var/cbp N=build-gpu/bin/dsmlp-bench
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 swiglu_i8_h8192; do
  echo "== $blk"; bench_run before $V out_in 1,2,3 50 DSMLP_PROBE_CODES_T_FIRST=2 DSMLP_PROBE_CODES_T_SECOND=2
  bench_run main $B out_in 1,2,3 50
done
export DSMLP_COMPILE_THREADS=16
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    for lay in out_in in_out; do
      echo "== $blk $lay r$r"; bench_run auto $B $lay 1,2,3,4,8 50; bench_run gemv8 $B $lay 1,2,3,4,8 50 DSMLP_DECODE_MAX_TOKENS=8; bench_run wide $N $lay 1,2,3,4,8 50
    done
  done
done
CK_RUN_CASE=quant timeout ${QUANT_LIMIT:-150} build-gpu/bin/s62d/test_gpu_quant > /tmp/q.log 2>&1
echo "test_gpu_quant quant rc $?: $(grep -E '^[0-9]+%:' /tmp/q.log)"; grep -E "^FAIL|cases \(" /tmp/q.log | head -3
