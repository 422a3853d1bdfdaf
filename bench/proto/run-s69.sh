#!/usr/bin/env bash
# Sixty-seventh session, call 2 (H100): the wide decode GEMV built for 4 tokens (decode-wide-t4.patch, now on main)
# against the binary before it (build-gpu/bin/var/pre-w4 = fb52c1d's dsmlp-bench), T = 3 / 4, two rounds; then the
# whole GPU suite on the working tree (run-s55-suite.sh, LIMIT 460).
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake     (timeout_s 590)
t0=$(date +%s)
(
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    for lay in out_in in_out; do
      echo "== $blk $lay r$r"
      bench_run pre-w4 build-gpu/bin/var/pre-w4 $lay 3,4 50; bench_run main build-gpu/bin/dsmlp-bench $lay 3,4 50
    done
  done
done
)
echo "== A/B done at $(( $(date +%s) - t0 )) s"
LIMIT=${LIMIT:-460} bash bench/proto/run-s55-suite.sh
echo "== run-s69.sh took $(( $(date +%s) - t0 )) s"
