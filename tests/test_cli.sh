#!/usr/bin/env bash
# test_cli.sh — dsmlp-compile: compiling into the store, cache hits, -j
# determinism, --list, --clear, --explain, --stream-max-tokens/--stream-pipe,
# --help/--version, unusable-store warning, --verify without a GPU. Bundles:
# test_cli_bundle.sh; bad arguments and scripts: test_cli_errors.sh.
. "$(dirname "$0")/lib/cli_common.sh"

# Two small layers (tiny sizes compile fast) sharing nothing, one repeated:
# the repeat must add no kernels.
cat >"$tmp/tiny.lua" <<'EOF'
local dsmlp = dsmlp or require("dsmlp")
return {
  gelu_ln = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm"},
  swiglu_rms = dsmlp.mlp{hidden = 64, intermediate = 128, dtype = "bf16", activation = "gated_silu",
                         norm = "rmsnorm", bias = false},
  gelu_ln_again = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm"},
}
EOF

# --- first run compiles, second run is all cache hits ----------------------
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_80,sm_90
if [ $rc -ne 0 ]; then fail "first compile exit $rc: $err"; else
  uniq=$(sed -n 's/.*kernels \([0-9]*\) unique.*/\1/p' <<<"$out")
  compiled=$(field compiled); cached=$(field cached); layers=$(field layers)
  [ "$layers" = 3 ] || fail "layers: want 3, got '$layers' in: $out"
  [ -n "$uniq" ] && [ "$uniq" -gt 0 ] || fail "no kernels reported: $out"
  [ "$compiled" = "$uniq" ] && [ "$cached" = 0 ] || fail "cold run: want compiled=$uniq cached=0: $out"
  ok "cold run: $uniq unique kernels compiled"
fi
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_80,sm_90
[ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && [ "$(field cached)" = "$uniq" ] \
  && ok "warm run: compiled 0, cached $uniq" || fail "warm run (exit $rc): $out $err"
[ -z "$(grep compiled <<<"$err")" ] || fail "warm run printed compile lines: $err"

# The same model for one arch reuses those entries (keys include the arch). sm_90 plans hold more kernels than
# sm_80 ones (the wgmma kernels of GEMMs whose out is a multiple of 128): sm_80's count comes from a store of its own.
run "$tmp/tiny.lua" --cache-dir "$tmp/a80" --arch sm_80
n80=$(field compiled)
[ $rc -eq 0 ] && [ -n "$n80" ] && [ "$n80" -gt 0 ] && [ "$n80" -le $((uniq / 2)) ] \
  && ok "sm_80 alone: $n80 kernels" || fail "sm_80 alone (uniq $uniq): $out $err"
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_90
[ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && [ "$(field cached)" = $((uniq - n80)) ] \
  && ok "sm_90 alone: all cached" || fail "sm_90 alone: $out $err"

# --- -j 1 and -j 4 build identical stores ---------------------------------
run "$tmp/tiny.lua" --cache-dir "$tmp/j1" --arch sm_80,sm_90 -j 1
rc1=$rc
run "$tmp/tiny.lua" --cache-dir "$tmp/j4" --arch sm_80,sm_90 -j 4
if [ $rc1 -ne 0 ] || [ $rc -ne 0 ]; then fail "-j runs exit $rc1/$rc: $err"
elif [ -z "$(snapshot "$tmp/j1")" ]; then fail "-j 1 store is empty"
elif [ "$(snapshot "$tmp/j1")" != "$(snapshot "$tmp/j4")" ]; then
  fail "-j 1 and -j 4 stores differ:"; diff <(snapshot "$tmp/j1") <(snapshot "$tmp/j4")
else ok "-j 1 and -j 4 stores identical ($(snapshot "$tmp/j1" | wc -l) files)"; fi

# --- --list: one row per entry, the model's kernels and archs ------------
run --list --cache-dir "$tmp/s1"
rows=$(grep -cE '^[0-9a-f]{64} ' <<<"$out")
if [ $rc -ne 0 ]; then fail "--list exit $rc: $err"
elif [ "$rows" != "$uniq" ]; then fail "--list: want $uniq rows, got $rows: $out"
elif ! grep -q "^$uniq entries, [0-9]* bytes in $tmp/s1" <<<"$out"; then fail "--list footer: $out"
elif [ "$(grep -cE '^[0-9a-f]{64} +[A-Za-z_0-9]+ +sm_80 ' <<<"$out")" != "$n80" ]; then
  fail "--list: want $n80 sm_80 rows: $out"
else ok "--list shows $rows entries with kernel, arch, bytes, age"; fi
head -1 <<<"$out" | grep -q 'KEY.*KERNEL.*ARCH.*BYTES.*AGE' || fail "--list header: $(head -1 <<<"$out")"

# --- --clear empties the store; the next compile compiles everything ------
run --clear --cache-dir "$tmp/s1"
[ $rc -eq 0 ] && grep -q "cleared $uniq entries" <<<"$out" && ok "--clear: $out" || fail "--clear exit $rc: $out $err"
run --list --cache-dir "$tmp/s1"
grep -q '^0 entries' <<<"$out" || fail "--list after --clear: $out"
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_80,sm_90
[ "$(field compiled)" = "$uniq" ] && ok "after --clear: compiled $uniq again" || fail "after --clear: $out $err"

# --- DSMLP_CACHE_DIR is the default store; --quiet prints nothing --------
run "$tmp/tiny.lua" --quiet
if [ $rc -ne 0 ] || [ -n "$out" ] || [ -n "$err" ]; then fail "--quiet (exit $rc) printed: $out $err"
elif [ -z "$(snapshot "$DSMLP_CACHE_DIR")" ]; then fail "default store $DSMLP_CACHE_DIR empty"
else ok "--quiet, default store from DSMLP_CACHE_DIR"; fi

# --- --explain prints each layer's plan with its kernel keys --------------
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_80,sm_90 --explain
if [ $rc -ne 0 ]; then fail "--explain exit $rc: $err"
elif [ "$(grep -c '^== layer ' <<<"$out")" != 6 ]; then fail "--explain: want 6 plan headers: $out"
elif ! grep -q "== layer swiglu_rms (sm_80)" <<<"$out"; then fail "--explain lacks swiglu_rms (sm_80): $out"
else ok "--explain: 3 layers x 2 archs"; fi
explained="$out"
run --list --cache-dir "$tmp/s1"
for k in $(grep -oE '^[0-9a-f]{64}' <<<"$out"); do
  grep -q "${k:0:16}" <<<"$explained" || fail "--explain does not show kernel key $k"
done

# --- --stream-max-tokens / --stream-pipe set every layer's compile options: the
# plans are the ones -O builds, and the flags win over -O ----------------------
cat >"$tmp/one.lua" <<'EOF'
local dsmlp = dsmlp or require("dsmlp")
return { block = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm",
                           layout = "out_in"} }
EOF
# explain ARGS...: --explain's plan text for one.lua on sm_90 (the summary line dropped) in $plan
explain() {
  run "$tmp/one.lua" --cache-dir "$tmp/sp" --arch sm_90 --explain "$@"
  [ $rc -eq 0 ] || fail "--explain $* exit $rc: $err"
  plan=$(grep -v ': layers [0-9]*, archs ' <<<"$out")
}
explain
grep -q "small-T route: none" <<<"$plan" && ok "f16 layer: no small-T route by default" || fail "default route: $plan"
explain --stream-max-tokens 8
e_route=$plan
grep -q "small-T route (weight-streaming kernels), may serve T <= 8;" <<<"$plan" \
  && ok "--stream-max-tokens 8 builds the route" || fail "--stream-max-tokens 8: $plan"
explain -O stream_max_tokens=8
[ "$plan" = "$e_route" ] && ok "-O stream_max_tokens=8: the same plan" || fail "-O stream_max_tokens=8 differs: $plan"
explain -O stream_max_tokens=0 --stream-max-tokens 8
[ "$plan" = "$e_route" ] && ok "--stream-max-tokens wins over -O" || fail "--stream-max-tokens over -O: $plan"
grep -q "W ring" <<<"$e_route" && ok "the route has the W ring variants by default" || fail "default: no W ring: $e_route"
explain --stream-max-tokens 8 --stream-pipe 1
[ "$plan" = "$e_route" ] && ok "--stream-pipe 1: the default plan" || fail "--stream-pipe 1 differs: $plan"
explain --stream-max-tokens 8 --stream-pipe 0
e_noring=$plan
grep -q "may serve T <= 8;" <<<"$plan" && ! grep -q "W ring" <<<"$plan" && ok "--stream-pipe 0: the route without the W ring" \
  || fail "--stream-pipe 0: $plan"
explain -O stream_max_tokens=8 -O stream_pipe=0
[ "$plan" = "$e_noring" ] && ok "-O stream_pipe=0: the same plan as --stream-pipe 0" || fail "-O stream_pipe=0 differs: $plan"
explain --stream-max-tokens 8 -O stream_pipe=0 --stream-pipe=1
[ "$plan" = "$e_route" ] && ok "--stream-pipe=1 wins over -O stream_pipe=0" || fail "--stream-pipe=1 over -O: $plan"

# --- unusable store: one warning, kernels compiled, exit 5 (nothing persisted)
echo x >"$tmp/file"
run "$tmp/tiny.lua" --cache-dir "$tmp/file/store" --arch sm_90
n=$(grep -c 'warning' <<<"$err")
[ $rc -eq 5 ] && [ "$n" = 1 ] && grep -q "memory only" <<<"$err" && [ "$(field compiled)" -gt 0 ] \
  && grep -q "could not be written to the kernel store" <<<"$err" \
  && ok "unusable dir: one warning, compiled in memory, exit 5" || fail "unusable dir (exit $rc, $n warnings): $out $err"
DSMLP_CACHE=off run "$tmp/tiny.lua" --arch sm_90
[ $rc -eq 0 ] && [ "$(grep -c warning <<<"$err")" = 1 ] && grep -q 'DSMLP_CACHE=off' <<<"$err" \
  && ok "DSMLP_CACHE=off: one warning" || fail "DSMLP_CACHE=off (exit $rc): $err"

# --- --verify without a GPU: its own exit code and message ---------------
run "$tmp/tiny.lua" --cache-dir "$tmp/s1" --arch sm_90 --verify
if [ $rc -eq 7 ]; then
  grep -q 'verify needs a GPU' <<<"$err" && ok "--verify without GPU: exit 7" || fail "--verify message: $err"
elif [ $rc -eq 0 ] && grep -q 'verify: .* passed, 0 failed' <<<"$out"; then ok "--verify on a GPU passed: $out"
else fail "--verify exit $rc: $out $err"; fi

# --- progress: a bar on a terminal, plain lines otherwise -----------------
# (the plain lines were checked above: stderr is a file in every run)
run "$tmp/tiny.lua" --cache-dir "$tmp/plain" --arch sm_90
grep -qE '^\[1/[0-9]+\] compiled [A-Za-z_0-9]+ sm_90 \([0-9.]+ s\)$' <<<"$err" && ! grep -q $'\r' <<<"$err" \
  && ok "not a terminal: plain lines" || fail "plain progress lines: $err"
if command -v script >/dev/null; then
  script -qec "'$bin' '$tmp/tiny.lua' --cache-dir '$tmp/tty' --arch sm_90" /dev/null >"$tmp/tty.out" 2>&1
  if grep -qE $'\r\[=+>? *\] [0-9]+/[0-9]+ kernels' "$tmp/tty.out" && grep -q 'compiled [1-9]' "$tmp/tty.out"; then
    ok "terminal: progress bar"
  else fail "terminal progress bar: $(cat -v "$tmp/tty.out")"; fi
else echo "note: no 'script' command; terminal progress bar not checked"; fi

# --- --help and --version ---------------------------------------------------
run --help
[ $rc -eq 0 ] && grep -q '^usage: dsmlp-compile MODEL.lua' <<<"$out" && grep -q '7  --verify: no GPU' <<<"$out" \
  && grep -q '^  5  kernel store or bundle error' <<<"$out" && ok "--help" || fail "--help exit $rc: $out"
run --version
want=$(sed -n 's/#define DSMLP_VERSION_STRING "\(.*\)"/\1/p' "$src/include/dsmlp.h")
[ $rc -eq 0 ] && grep -q "^dsmlp-compile $want" <<<"$out" && ok "--version: $out" || fail "--version: $out"

# --- a bundled example: cold compiles, warm compiles nothing -------------
if [ -f "$src/examples/gpt2.lua" ]; then
  run "$src/examples/gpt2.lua" --cache-dir "$tmp/ex" --arch sm_90
  c1=$(field compiled)
  run "$src/examples/gpt2.lua" --cache-dir "$tmp/ex" --arch sm_90
  [ "${c1:-0}" -gt 0 ] && [ "$(field compiled)" = 0 ] && ok "examples/gpt2.lua: $c1 compiled, then 0" \
    || fail "examples/gpt2.lua (exit $rc): $out $err"
else fail "examples/gpt2.lua missing"; fi

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
