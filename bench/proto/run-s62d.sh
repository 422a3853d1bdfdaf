#!/usr/bin/env bash
# Sixty-second session: main with the wide code GEMMs' GEMV for T = 1 only (lower.c GEMV_CODES_T1_MIN_TILES) against
# the rule before (variant cbp at 2:2), one round; then test_gpu_quant's quant case.
#   prep: bash bench/proto/prep-s62d.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/cbp
for r in 1; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 swiglu_i8_h8192; do
    echo "== $blk round $r"; bench_run before $V out_in 1,2,3 50 DSMLP_PROBE_CODES_T_FIRST=2 DSMLP_PROBE_CODES_T_SECOND=2
    bench_run main $B out_in 1,2,3 50
  done
done
export DSMLP_COMPILE_THREADS=16
for c in quant; do
  ( CK_RUN_CASE=$c timeout ${QUANT_LIMIT:-180} build-gpu/bin/s62d/test_gpu_quant > /tmp/q-$c.log 2>&1; echo "test_gpu_quant $c rc $?: $(grep -E '^[0-9]+%:' /tmp/q-$c.log)"; grep -E "^FAIL|cases \(" /tmp/q-$c.log | head -3 ) &
done
wait
