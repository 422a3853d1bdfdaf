#!/usr/bin/env bash
# test_cli_bundle.sh — dsmlp-compile --bundle / --import: a bundle holds
# exactly the model's kernels; importing it into an empty store makes the next
# compile compile nothing; altered, truncated, empty, missing and foreign
# (other arch, other dsmlp version) bundles are refused with exit code 5 and
# leave the store exactly as it was.
. "$(dirname "$0")/lib/cli_common.sh"
# The store as dsmlp-compile lists it (without the age column) plus checksums.
state() { "$bin" --list --cache-dir "$1" 2>&1 | awk '{ $NF = ""; print }'; snapshot "$1"; }

cat >"$tmp/a.lua" <<'EOF'
local dsmlp = dsmlp or require("dsmlp")
return {
  block = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm"},
  gated = dsmlp.mlp{hidden = 64, intermediate = 128, dtype = "f16", activation = "gated_gelu", norm = "rmsnorm"},
}
EOF
cat >"$tmp/b.lua" <<'EOF'
local dsmlp = dsmlp or require("dsmlp")
return { other = dsmlp.mlp{hidden = 96, intermediate = 192, dtype = "f32", activation = "relu", norm = "layernorm"} }
EOF

# --- --bundle writes exactly this model's kernels --------------------------
# The store also holds another model's kernels: they must stay out.
run "$tmp/b.lua" --cache-dir "$tmp/src" --arch sm_80,sm_90
run "$tmp/a.lua" --cache-dir "$tmp/src" --arch sm_80,sm_90 --bundle "$tmp/a.bundle"
uniq=$(sed -n 's/.*kernels \([0-9]*\) unique.*/\1/p' <<<"$out")
if [ $rc -ne 0 ] || [ ! -s "$tmp/a.bundle" ]; then fail "--bundle exit $rc: $out $err"
else grep -q "wrote bundle $tmp/a.bundle: $uniq kernels" <<<"$out" && ok "--bundle: $uniq kernels" \
  || fail "--bundle message: $out"; fi

# --- import into an empty store, then compile: zero compiles --------------
run --import "$tmp/a.bundle" --cache-dir "$tmp/dst" --arch sm_80,sm_90
[ $rc -eq 0 ] && grep -q "imported $uniq entries" <<<"$out" && ok "--import: $out" || fail "--import exit $rc: $out $err"
n=$("$bin" --list --cache-dir "$tmp/dst" | grep -cE '^[0-9a-f]{64} ')
[ "$n" = "$uniq" ] && ok "store after import holds $n entries (not the other model's)" || fail "imported store holds $n, want $uniq"
run "$tmp/a.lua" --cache-dir "$tmp/dst" --arch sm_80,sm_90
[ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && [ "$(field cached)" = "$uniq" ] \
  && ok "compile after import: compiled 0" || fail "compile after import (exit $rc): $out $err"
# --import together with the model in one command: the same.
run "$tmp/a.lua" --import "$tmp/a.bundle" --cache-dir "$tmp/dst2" --arch sm_80,sm_90
[ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && ok "--import + compile in one run: compiled 0" \
  || fail "--import + compile (exit $rc): $out $err"

# --- bad bundles: refused with exit 5, the store untouched -----------------
# The victim store holds the other model's kernels.
run "$tmp/b.lua" --cache-dir "$tmp/victim" --arch sm_80,sm_90
before="$(state "$tmp/victim")"
[ -n "$(snapshot "$tmp/victim")" ] || fail "victim store is empty"

size=$(stat -c %s "$tmp/a.bundle")
refused() {   # refused NAME FILE [ARCH] [MESSAGE-REGEX]
  run --import "$2" --cache-dir "$tmp/victim" --arch "${3:-sm_80,sm_90}"
  if [ $rc -ne 5 ]; then fail "$1 bundle: want exit 5, got $rc: $out $err"
  elif ! grep -qF "import refused, store unchanged: " <<<"$err" || ! grep -qF "$2" <<<"$err"; then
    fail "$1 bundle: message: $err"
  elif [ -n "${4:-}" ] && ! grep -qiE "$4" <<<"$err"; then fail "$1 bundle: message lacks /$4/: $err"
  elif [ "$(state "$tmp/victim")" != "$before" ]; then fail "$1 bundle changed the store"
  else ok "$1 bundle refused, store unchanged: $(head -c 200 <<<"$err")"; fi
}
# A flipped byte in every eighth of the file (header, index, payloads).
for part in 1 3 5 7; do
  cp "$tmp/a.bundle" "$tmp/flip.bundle"
  off=$((size * part / 8))
  b=$(od -An -tu1 -j $off -N1 "$tmp/flip.bundle" | tr -d ' ')
  printf "$(printf '\\%03o' $(((b ^ 0x5a) & 255)))" | dd of="$tmp/flip.bundle" bs=1 seek=$off conv=notrunc status=none
  refused "altered(byte $off/$size)" "$tmp/flip.bundle"
done
for keep in $((size - 1)) $((size / 2)) 16; do
  head -c $keep "$tmp/a.bundle" >"$tmp/trunc.bundle"
  refused "truncated($keep/$size)" "$tmp/trunc.bundle"
done
: >"$tmp/empty.bundle"
refused "empty" "$tmp/empty.bundle"
cat "$tmp/a.bundle" "$tmp/a.bundle" >"$tmp/doubled.bundle"
refused "trailing-garbage" "$tmp/doubled.bundle"
run --import "$tmp/missing.bundle" --cache-dir "$tmp/victim"
[ $rc -eq 5 ] && grep -q "missing.bundle" <<<"$err" && [ "$(state "$tmp/victim")" = "$before" ] \
  && ok "missing bundle: exit 5" || fail "missing bundle: exit $rc: $err"

# A bundle for a mixed fleet: --import stores every verified entry whatever
# the archs (issue 14: it used to refuse archs outside --arch); --arch only
# says what to compile.
run --import "$tmp/a.bundle" --cache-dir "$tmp/fleet" --arch sm_90
[ $rc -eq 0 ] && grep -q "imported $uniq entries" <<<"$out" && ok "sm_80+sm_90 bundle into an sm_90 machine: all $uniq" \
  || fail "fleet import (exit $rc): $out $err"
run "$tmp/a.lua" --cache-dir "$tmp/fleet" --arch sm_80,sm_90
[ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && ok "then both archs compile nothing" || fail "after fleet import: $out $err"
run --import "$tmp/a.bundle" --import-local --cache-dir "$tmp/fleet2"
if [ $rc -eq 0 ]; then grep -q "for sm_" <<<"$out" && ok "--import-local on a GPU: $out" || fail "--import-local: $out"
else grep -qi "GPU" <<<"$err" && ok "--import-local without a GPU says so (exit $rc)" \
  || fail "--import-local without GPU (exit $rc): $err"; fi
# --bundle does not depend on what the size limit evicted (-j 2, tiny limit)
DSMLP_CACHE_MAX_MB=0.001 run "$tmp/a.lua" --cache-dir "$tmp/tiny" --arch sm_80,sm_90 -j 2 --bundle "$tmp/tiny.bundle"
[ $rc -eq 0 ] && grep -q "wrote bundle $tmp/tiny.bundle: $uniq kernels" <<<"$out" \
  && ok "--bundle with a size limit below the model and -j 2: $uniq kernels" || fail "--bundle + size limit (exit $rc): $out $err"
run --import "$tmp/tiny.bundle" --cache-dir "$tmp/tiny-dst"
[ $rc -eq 0 ] && grep -q "imported $uniq entries" <<<"$out" && ok "that bundle imports all $uniq" || fail "tiny bundle import: $out $err"

# Foreign version: the same bundle with dsmlp's version string replaced by a
# same-length other one wherever it appears (the header carries it).
ver=$(sed -n 's/#define DSMLP_VERSION_STRING "\(.*\)"/\1/p' "$src/include/dsmlp.h")
other=$(sed 's/[0-9]$/9/' <<<"$ver"); [ "$other" = "$ver" ] && other=$(sed 's/[0-9]$/8/' <<<"$ver")
if grep -q -F "$ver" "$tmp/a.bundle"; then
  LC_ALL=C sed "s/$(sed 's/\./\\./g' <<<"$ver")/$other/g" "$tmp/a.bundle" >"$tmp/ver.bundle"
  refused "foreign-version($other)" "$tmp/ver.bundle" sm_80,sm_90 "version|$other"
else
  fail "bundle does not carry the version string $ver: cannot make a foreign-version bundle"
fi

# --- signed bundles: --keygen, --sign, --trust ------------------------------
run --keygen "$tmp/k1" --cache-dir "$tmp/none"
[ $rc -eq 0 ] && [ -s "$tmp/k1.key" ] && [ -s "$tmp/k1.pub" ] && [ "$(stat -c %a "$tmp/k1.key")" = 600 ] \
  && ok "--keygen: k1.key (0600), k1.pub" || fail "--keygen (exit $rc): $out $err"
run --keygen "$tmp/k1"
[ $rc -eq 5 ] && grep -q "exists; not overwritten" <<<"$err" && ok "--keygen never overwrites" \
  || fail "--keygen over existing (exit $rc): $err"
"$bin" --keygen "$tmp/k2" -q || fail "second key pair"
run "$tmp/a.lua" --cache-dir "$tmp/src" --arch sm_80,sm_90 --bundle "$tmp/signed.bundle" --sign "$tmp/k1.key"
[ $rc -eq 0 ] && grep -q "wrote signed bundle" <<<"$out" && ok "--sign: signed bundle written" \
  || fail "--sign (exit $rc): $out $err"
run --import "$tmp/signed.bundle" --trust "$tmp/k1.pub" --cache-dir "$tmp/sdst" --arch sm_80,sm_90
[ $rc -eq 0 ] && grep -q "imported $uniq entries" <<<"$out" && ok "--trust k1: signed bundle imported" \
  || fail "--trust import (exit $rc): $out $err"
run --import "$tmp/signed.bundle" --trust "$tmp/k2.pub" --cache-dir "$tmp/victim" --arch sm_80,sm_90
[ $rc -eq 5 ] && grep -q "not a trusted key" <<<"$err" && [ "$(state "$tmp/victim")" = "$before" ] \
  && ok "--trust k2: bundle signed by k1 refused" || fail "--trust other key (exit $rc): $err"
run --import "$tmp/a.bundle" --trust "$tmp/k1.pub" --cache-dir "$tmp/victim" --arch sm_80,sm_90
[ $rc -eq 5 ] && grep -q "not signed" <<<"$err" && [ "$(state "$tmp/victim")" = "$before" ] \
  && ok "--trust: unsigned bundle refused" || fail "--trust unsigned (exit $rc): $err"
run --import "$tmp/signed.bundle" --trust "$tmp/k1.key" --cache-dir "$tmp/victim"
[ $rc -eq 2 ] && grep -q "not a public key file" <<<"$err" && ok "--trust with a secret key: usage error" \
  || fail "--trust secret key (exit $rc): $err"
run "$tmp/a.lua" --sign "$tmp/k1.key"
[ $rc -eq 2 ] && grep -q -- "--sign needs --bundle" <<<"$err" && ok "--sign without --bundle: usage error" \
  || fail "--sign alone (exit $rc): $err"

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
