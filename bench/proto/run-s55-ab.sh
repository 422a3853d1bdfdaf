#!/usr/bin/env bash
# Fifty-fifth session, call 3 (after the GPU suite, call 2: run-s55-suite.sh): main with the GEMV on codes to T = 2 (lower.c,
# GEMV_CODES_MAX_T_BEFORE_MIXED 2) against the old rule (DSMLP_DECODE_MAX_TOKENS=1: every GEMM of these blocks reads
# codes, so that is exactly T = 1 only), int8 and fp8, T = 1 / 2 / 3, two rounds; then main's standing at every T.
#   bash bench/proto/run-s55-ab.sh     carry: build-gpu/bin, build-gpu/lib
# Knobs: ROUNDS ("1 2"), AB_BLOCKS (the A/B's blocks), STANDING=0 (no standing runs), STORE (the carried store).
export DSMLP_COMPILE_THREADS=16
. bench/proto/device-env.sh ${STORE:-build-gpu/bin/s55/store.tar.xz}
B=build-gpu/bin/dsmlp-bench
s0=$SECONDS
for r in ${ROUNDS:-1 2}; do
  for blk in ${AB_BLOCKS:-gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096}; do
    timeout 60 $B --block $blk --tokens 1,2,3 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/new r$r /"
    DSMLP_DECODE_MAX_TOKENS=1 timeout 60 $B --block $blk --tokens 1,2,3 --reps 50 --no-tune --layout out_in 2>&1 |
      grep "T=" | sed "s/^/old r$r /"
  done | awk '{print $1, $2, $3, $4, $6, $8}'
  echo "round $r done $((SECONDS - s0)) s (rule round block T as-loaded main-route us)"
done
[ "${STANDING:-1}" = 0 ] || for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
  timeout 120 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 30 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk '{print "main", $1, $2, $4, $6, "floor", $15, $18}'
done
echo "all $((SECONDS - s0)) s"
