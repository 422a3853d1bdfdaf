#!/usr/bin/env bash
# Prepared in the sixty-fifth session for the next session's first H100 call (starts are scarce: one call, ~500 s):
# run-s66c.sh (the pair probe with cluster sums, variant dpf against main, dpf's mixed case) then run-s66d.sh
# (variants w4 / w4n against main at T = 1..4 and 8, w4n's gemv_wide case). On an H200 run run-s65.sh first instead.
#   prep: the binaries both scripts name (built in the sixty-fifth session: build-gpu/bin/pair_stream, var/dpf, var/w4,
#         var/w4n and their tests)
#   carry: build-gpu/bin build-gpu/lib      (timeout_s 590)
t0=$(date +%s)
QUANT_LIMIT=80 bash bench/proto/run-s66c.sh
echo "== run-s66c.sh part took $(( $(date +%s) - t0 )) s"
bash bench/proto/run-s66d.sh
echo "== run-s67.sh took $(( $(date +%s) - t0 )) s"
