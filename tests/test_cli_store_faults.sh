#!/usr/bin/env bash
# test_cli_store_faults.sh — dsmlp-compile against stores that cannot keep its
# work (issue 15, defects 4, 5, 6, 9): a failed entry write is reported and
# exits 5 (it used to be silent, exit 0); a read-only store is read, and
# --clear / --import on it fail with exit 5 instead of reporting success; an
# over-long --cache-dir is a usage error naming the limit, and long paths in
# warnings keep their reason.
. "$(dirname "$0")/lib/cli_common.sh"
cat >"$tmp/m.lua" <<'LUA'
local dsmlp = dsmlp or require("dsmlp")
return {
  a = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm"},
  b = dsmlp.mlp{hidden = 64, intermediate = 128, dtype = "f16", activation = "gated_silu", norm = "rmsnorm"},
}
LUA
keys() { "$bin" --list --cache-dir "$1" | grep -oE '^[0-9a-f]{64}' | sort; }

# The model's keys, from a store that works.
run "$tmp/m.lua" --cache-dir "$tmp/good" --arch sm_90
[ $rc -eq 0 ] || fail "reference compile: exit $rc: $err"
all=$(keys "$tmp/good"); n=$(wc -l <<<"$all"); victim=$(head -1 <<<"$all")

# --- defect 4: a directory at one entry's path -----------------------------
for j in 1 2; do
  mkdir -p "$tmp/dir$j/$victim.dsk/x"
  run "$tmp/m.lua" --cache-dir "$tmp/dir$j" --arch sm_90 -j $j
  got=$(keys "$tmp/dir$j" | wc -l)
  if [ $rc -ne 5 ]; then fail "-j $j, directory at an entry path: want exit 5, got $rc: $err"
  elif ! grep -q "cannot write entry $victim.dsk" <<<"$err"; then fail "-j $j: warning does not name the entry: $err"
  elif ! grep -q "1 compiled kernel could not be written" <<<"$err"; then fail "-j $j: no failure count: $err"
  elif [ "$got" != $((n - 1)) ]; then fail "-j $j: the other entries were not all persisted ($got of $((n - 1)))"
  else ok "-j $j: a directory at one entry path: exit 5, named, the other $got entries persisted"; fi
done

# --- defects 5 and 6: a read-only store ------------------------------------
# Root is not stopped by permission bits: run the tool as nobody (setpriv);
# without root the directory is made 0555 instead.
"$bin" "$tmp/m.lua" --cache-dir "$tmp/other" --arch sm_80 --bundle "$tmp/other.bundle" -q || fail "bundle for import"
chmod 755 "$tmp"; chmod 644 "$tmp/m.lua" "$tmp/other.bundle"
as_reader() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  else chmod 555 "$tmp/good"; "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; fi
  rc=$?; out="$(cat "$tmp/out")"; err="$(cat "$tmp/err")"
}
if [ "$(id -u)" = 0 ] && ! setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
  echo "skip: setpriv cannot drop privileges here"
else
  before="$(snapshot "$tmp/good")"
  as_reader "$tmp/m.lua" --cache-dir "$tmp/good" --arch sm_90
  [ $rc -eq 0 ] && [ "$(field compiled)" = 0 ] && [ "$(field cached)" = "$n" ] && grep -q "read-only" <<<"$err" \
    && ok "read-only store is read: compiled 0, cached $n" || fail "read-only store (exit $rc): $out $err"
  as_reader --clear --cache-dir "$tmp/good"
  [ $rc -eq 5 ] && grep -q "read-only" <<<"$err" && ! grep -q "cleared" <<<"$out" \
    && ok "--clear on a read-only store: exit 5" || fail "--clear on read-only (exit $rc): $out $err"
  as_reader --import "$tmp/other.bundle" --cache-dir "$tmp/good" --arch sm_80
  [ $rc -eq 5 ] && grep -q "read-only" <<<"$err" && ! grep -q "imported" <<<"$out" \
    && ok "--import into a read-only store: exit 5" || fail "--import into read-only (exit $rc): $out $err"
  [ "$(snapshot "$tmp/good")" = "$before" ] && ok "read-only store unchanged" || fail "read-only store changed"
  chmod 755 "$tmp/good"
fi

# --- defect 9: long cache paths --------------------------------------------
long="$tmp/$(printf 'd%.0s' $(seq 1 5000))"
run "$tmp/m.lua" --cache-dir "$long" --arch sm_90
[ $rc -eq 2 ] && grep -q -- "--cache-dir: the path is 5[0-9]* bytes long; the limit is 4095" <<<"$err" \
  && ok "over-long --cache-dir: usage error naming the limit" || fail "over-long --cache-dir (exit $rc): $err"
name300="$tmp/$(printf 'e%.0s' $(seq 1 300))/store"
run "$tmp/m.lua" --cache-dir "$name300" --arch sm_90
w=$(grep warning <<<"$err")
[ $rc -eq 5 ] && grep -q "File name too long); using memory only" <<<"$w" && grep -q '\.\.\.' <<<"$w" \
  && ! grep -q "set DSMLP_CACHE_DIR" <<<"$w" && ok "long path: warning keeps its reason: ${w:0:120}..." \
  || fail "long path (exit $rc): $err"

[ $fails -eq 0 ] || exit 1
