#!/usr/bin/env bash
# Sixty-sixth session: the short form of run-s67.sh for a call with less device time left (~300 s on an H100): the
# pair probe, variant dpf against main (one round, T = 3..64) and dpf's mixed test case (run-s66c.sh), then variants
# w4 / w4n against main ([out,in], one round, no test: run-s66d.sh). Most important first, so that a call cut by its
# limit still brings the first parts back.
#   carry: build-gpu/bin build-gpu/lib      (timeout_s >= 330)
t0=$(date +%s)
ROUNDS=1 TOKENS=3,8,16,64 QUANT_LIMIT=60 bash bench/proto/run-s66c.sh
ROUNDS=1 LAYOUTS=out_in SKIP_TEST=1 bash bench/proto/run-s66d.sh
echo "== run-s68.sh took $(( $(date +%s) - t0 )) s"
