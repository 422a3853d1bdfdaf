#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds the libFuzzer targets (clang, ASan + UBSan) in
# build-fuzz/ and runs each for SECONDS (default 300) on a seed corpus made
# from the examples and a real store/bundle: the Lua front end, the store
# entry reader and the bundle reader. Prints each target's executions and
# the crash files, if any (exit 1 then).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
secs="${1:-300}"
b="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
export PATH="/usr/local/cuda/bin:$PATH"
CC=clang CXX=clang++ cmake -S "$root" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSMLP_FUZZ=ON >/dev/null || exit 1
cmake --build "$b" -j "${JOBS:-2}" --target fuzz_lua fuzz_entry fuzz_bundle dsmlp-compile >/dev/null || exit 1
c="$b/corpus"
mkdir -p "$c/lua" "$c/entry" "$c/bundle" "$b/crashes"
cp "$root"/examples/*.lua "$c/lua/"
cat >"$c/lua/graph.lua" <<'LUA'
local g = dsmlp.graph("g")
local x = g:input("x", "f16", 64)
local w = g:param_matrix("w", "f16", 64, 64)
g:output("out", g:relu(g:matmul(x, w)))
return {g = g, s = ("a b"):gsub("%s+", "_"), t = table.concat({"x", "y"})}
LUA
store="$b/seed-store"
if [ ! -s "$c/bundle/seed.dsb" ]; then
  rm -rf "$store"
  DSMLP_CACHE_DIR="$store" "$b/bin/dsmlp-compile" "$root/tests/fuzz/seed.lua" --arch sm_90 -q \
    --bundle "$c/bundle/seed.dsb" || exit 1
  for f in "$store"/*.dsk; do cp "$f" "$c/entry/"; done
fi
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
rc=0
for t in lua entry bundle; do
  log="$b/fuzz_$t.log"
  "$b/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 -max_len=$([ $t = lua ] && echo 4096 || echo 65536) \
    -artifact_prefix="$b/crashes/$t-" "$c/$t" >"$log" 2>&1
  r=$?
  runs=$(grep -oE '#[0-9]+' "$log" | tail -1)
  echo "fuzz_$t: ${secs}s, ${runs#\#} executions, exit $r, corpus $(ls "$c/$t" | wc -l) files"
  [ $r -eq 0 ] || { rc=1; tail -30 "$log"; }
done
ls "$b/crashes"/* 2>/dev/null && rc=1
exit $rc
