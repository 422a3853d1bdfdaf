#!/usr/bin/env bash
# test_examples.sh — every bundled model script loads from C (dsmlp_script_load),
# plans without a GPU, and runs on the CPU reference with a finite, non-zero
# output; a bad script fails with file:line.
set -euo pipefail
bin="$DSMLP_BINARY_DIR/bin/example_script_layers"
export DSMLP_CACHE=off
# the reference on every CPU (0 = auto): the quantized example's 8B-class weights in f64 took 37 s on one thread of
# this 2-core machine (half of it the kernel zeroing fresh pages), 17 s on two
export DSMLP_REF_THREADS="${DSMLP_REF_THREADS:-0}"
for m in "$DSMLP_SOURCE_DIR"/examples/*.lua; do
  out=$("$bin" "$m" 2)
  grep -q '^  plan for sm_90: norm' <<<"$out" || { echo "FAIL $m: no plan line"; echo "$out"; exit 1; }
  rms=$(sed -n 's/.*output RMS \([0-9.e+-]*\).*/\1/p' <<<"$out" | head -1)
  awk -v r="$rms" 'BEGIN { exit !(r > 0.01 && r < 100) }' || { echo "FAIL $m: output RMS '$rms'"; exit 1; }
  echo "ok $m (RMS $rms)"
done
bad=$(mktemp --suffix=.lua)
trap 'rm -f "$bad"' EXIT
printf 'return { x = dsmlp.mlp{ hiden = 4 } }\n' >"$bad"
rc=0; msg=$("$bin" "$bad" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL bad script: exit $rc"; exit 1; }
grep -q "$(basename "$bad"):1: .*unknown field 'hiden' (did you mean 'hidden'?)" <<<"$msg" || { echo "FAIL message: $msg"; exit 1; }
echo "ok bad script: $msg"
