#!/usr/bin/env bash
# One device call for the one-kernel decode block: `fused_decode quick` (bench/proto/fused_decode.cu: the forms still in
# the running, RESULTS says which) beside main (dsmlp-bench, GELU-4096 and SwiGLU-4096 int8, T = 1 and 8) on the same
# card, from a prefilled kernel store. Used by the forty-seventh (ROUNDS=2) and forty-eighth (ROUNDS=1) sessions.
#   bash bench/proto/run-fused-quick.sh STORE.tar.xz        (ROUNDS=N: dsmlp-bench rounds, default 1)
#   carry: build-gpu/bin/fused_decode build-gpu/bin/dsmlp-bench build-gpu/lib STORE.tar.xz
#   store: bench/store_prefill.sh STORE.tar.xz 1,8 build-gpu/bin/dsmlp-bench:gelu_i8_h4096 \
#          build-gpu/bin/dsmlp-bench:swiglu_i8_h4096
store=${1:?usage: run-fused-quick.sh STORE.tar.xz}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 300 build-gpu/bin/fused_decode quick > "$OUT/q.log" 2>&1
echo "fused_decode rc $?"
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
for round in $(seq 1 "${ROUNDS:-1}"); do
  for b in gelu_i8_h4096 swiglu_i8_h4096; do
    timeout 120 build-gpu/bin/dsmlp-bench --block $b --tokens 1,8 --reps 30 --no-tune --layout out_in \
      --md "$OUT/$b-$round.md" > "$OUT/$b-$round.log" 2>&1
    echo "$b round $round rc $?"
  done
done
cat "$OUT/q.log"
for f in "$OUT"/*.md; do echo "== $f"; cat "$f"; done
