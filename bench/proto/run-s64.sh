#!/usr/bin/env bash
# Sixty-fourth session, the call after the suite: run-s63d.sh (variant oaf against main, int8 T = 3..64, and oaf's
# heuristic case), then run-s63f.sh (main's standing T = 1..1024 and bench/peers.py) on whatever card comes.
#   prep: the variants oaf (run-s63d.sh) in build-gpu/bin/var, the store in build-gpu/bin/s62d
#   carry: build-gpu/bin build-gpu/lib
t0=$(date +%s)
bash bench/proto/run-s63d.sh
echo "== run-s63d.sh took $(( $(date +%s) - t0 )) s"
bash bench/proto/run-s63f.sh
echo "== both took $(( $(date +%s) - t0 )) s"
