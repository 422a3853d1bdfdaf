#!/usr/bin/env bash
# test_symbols.sh — dsmlp's names cannot collide with a host's (issue 14):
# libdsmlp.so exports only dsmlp_* (BLAKE2, Lua, libsodium, libelf and the
# internal names not re-exported), libdsmlp.a defines no other global symbol,
# and a program that defines err_set, store_get and blake2b of its own (and,
# with the sealed static library, Lua's lua_newstate too) links against each
# library and still gets correct results from dsmlp (tests/outside/app.c
# -DCLASH). libdsmlp.so links the shared liblua5.4.so.0, whose symbols a host
# can interpose: a host with a Lua of its own links libdsmlp.a.
set -uo pipefail
src="${DSMLP_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
build="${DSMLP_BINARY_DIR:-$src/build}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dsmlp-symbols.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
so="$build/lib/libdsmlp.so"; a="$build/libdsmlp.a"
[ -f "$so" ] && [ -f "$a" ] || { echo "FAIL: libraries not built"; exit 1; }
if grep -q "DSMLP_STATIC_SEAL:BOOL=OFF\|DSMLP_SANITIZE:BOOL=ON\|DSMLP_FUZZ:BOOL=ON" "$build/CMakeCache.txt"; then
  echo "skip: this build does not seal libdsmlp.a (sanitizers or DSMLP_STATIC_SEAL=OFF)"; exit 77
fi
other=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^dsmlp_' | grep -vE '^(_init|_fini|_edata|_end|__bss_start)$')
n=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -c '^dsmlp_')
[ -z "$other" ] && ok "libdsmlp.so exports $n symbols, all dsmlp_*" || fail "libdsmlp.so also exports: $(head -c 400 <<<"$other")"
other=$(nm -g --defined-only "$a" 2>/dev/null | awk 'NF == 3 {print $3}' | grep -v '^dsmlp_')
[ -z "$other" ] && ok "libdsmlp.a defines only dsmlp_* globally" || fail "libdsmlp.a defines: $(head -c 400 <<<"$other")"
# the internal names carry their module's prefix (tools/dev/prefix-internal.sh)
int="$build/libdsmlp_internal.a"
other=$(nm -g --defined-only "$int" 2>/dev/null | awk 'NF == 3 {print $3}' | grep -vE '^dsmlp(_|[BCRLM]_)')
[ -z "$other" ] && ok "every internal global symbol is dsmlpB_/C_/R_/L_/M_ (prefix-internal.sh)" \
  || fail "internal symbols without a module prefix (run tools/dev/prefix-internal.sh): $(head -c 400 <<<"$other")"
# every public function of the header is exported
nm -D --defined-only "$so" | awk '{print $3}' >"$tmp/exported"
for f in $(grep -oE '\bdsmlp_[a-z0-9_]+\(' "$src/include/dsmlp.h" | tr -d '(' | sort -u); do
  grep -qx "$f" "$tmp/exported" || fail "dsmlp.h declares $f but libdsmlp.so does not export it"
done
cuda="$(dirname "$(readlink -f "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")/../lib64"
[ -d "$cuda" ] || cuda=/usr/local/cuda/lib64
[ -d "$cuda" ] || cuda=/usr/local/cuda/lib
nccl=$(dirname "$(ls /usr/local/cuda/lib*/libnccl.so* /usr/lib/x86_64-linux-gnu/libnccl.so* 2>/dev/null | head -1)")
libs="-L$cuda -Wl,-rpath,$cuda -lnvrtc -lcublasLt -L$nccl -Wl,-rpath,$nccl -lnccl -lpthread -ldl -lm"
if cc -std=c11 -DCLASH -DCLASH_LUA -I"$src/include" -o "$tmp/clash_static" "$src/tests/outside/app.c" "$a" $libs 2>"$tmp/s.log"
then out=$(DSMLP_CACHE=off "$tmp/clash_static" "$tmp/s.dsb" 2>&1) && ok "static, own err_set/store_get/blake2b/lua_newstate: $out" \
  || fail "static clash program: $out"
else fail "static clash program does not link: $(head -c 600 "$tmp/s.log")"; fi
if cc -std=c11 -DCLASH -I"$src/include" -o "$tmp/clash_shared" "$src/tests/outside/app.c" -L"$build/lib" \
     -Wl,-rpath,"$build/lib" -ldsmlp 2>"$tmp/d.log"
then out=$(DSMLP_CACHE=off "$tmp/clash_shared" "$tmp/d.dsb" 2>&1) && ok "shared, own err_set/store_get/blake2b: $out" \
  || fail "shared clash program: $out"
else fail "shared clash program does not link: $(head -c 600 "$tmp/d.log")"; fi
[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
