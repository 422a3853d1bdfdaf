#!/usr/bin/env bash
# test_install.sh — dsmlp as a dependency (issue 14): `cmake --install` into a
# prefix, then a small outside project (tests/outside/) built against the
# installed tree both ways — CMake's find_package (static and shared targets)
# and pkg-config (dsmlp and dsmlp-static) — and against the source tree with
# add_subdirectory; every program runs (CPU only) and checks its results.
set -uo pipefail
src="${DSMLP_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
build="${DSMLP_BINARY_DIR:-$src/build}"
# A sanitizer build's libraries need the sanitizer runtime in every program that links them: an outside project
# built the ordinary way cannot, so packaging is checked on ordinary builds only.
if grep -q '^DSMLP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "skipped: $build is a sanitizer build (DSMLP_SANITIZE=ON); packaging is tested on ordinary builds"
  exit 77
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dsmlp-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export PATH="/usr/local/cuda/bin:$PATH"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
prefix="$tmp/prefix"
if cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then ok "cmake --install"
else fail "cmake --install: $(tail -5 "$tmp/install.log")"; fi
for f in include/dsmlp.h lib/libdsmlp.a lib/libdsmlp.so lib/cmake/dsmlp/dsmlpConfig.cmake \
         lib/pkgconfig/dsmlp.pc lib/pkgconfig/dsmlp-static.pc bin/dsmlp-compile share/doc/dsmlp/LICENSE \
         share/doc/dsmlp/kernel-store.md; do
  [ -e "$prefix/$f" ] || fail "installed tree lacks $f"
done
soname=$(objdump -p "$prefix/lib/libdsmlp.so" | awk '/SONAME/ {print $2}')
[[ "$soname" =~ ^libdsmlp\.so\.[0-9]+\.[0-9]+$ ]] && [ -e "$prefix/lib/$soname" ] && ok "SONAME $soname" \
  || fail "SONAME '$soname'"
"$prefix/bin/dsmlp-compile" --version >/dev/null && ok "installed dsmlp-compile runs" || fail "installed dsmlp-compile"

export DSMLP_CACHE=off
runapp() {   # runapp NAME BINARY
  if [ ! -x "$2" ]; then fail "$1: not built"; return; fi
  if out=$("$2" "$tmp/$1.dsb" 2>&1); then ok "$1: $out"; else fail "$1: $out"; fi
}
# 1. find_package, both targets
if cmake -S "$src/tests/outside" -B "$tmp/fp" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/fp.log" 2>&1 &&
   cmake --build "$tmp/fp" >>"$tmp/fp.log" 2>&1; then
  runapp find_package-static "$tmp/fp/app_static"
  runapp find_package-shared "$tmp/fp/app_shared"
else fail "find_package project: $(tail -15 "$tmp/fp.log")"; fi
# 2. pkg-config, both libraries
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
for pc in dsmlp dsmlp-static; do
  if cc -std=c11 -o "$tmp/pc-$pc" "$src/tests/outside/app.c" $(pkg-config --cflags --libs $pc) 2>"$tmp/pc.log"; then
    runapp "pkg-config-$pc" "$tmp/pc-$pc"
  else fail "pkg-config $pc: $(head -20 "$tmp/pc.log")"; fi
done
ldd "$tmp/pc-dsmlp-static" | grep -q libdsmlp && fail "dsmlp-static program links libdsmlp.so"
# 3. add_subdirectory of the source tree
if cmake -S "$src/tests/outside" -B "$tmp/sub" -G Ninja -DDSMLP_VIA=subdirectory -DDSMLP_SOURCE="$src" \
     -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/sub.log" 2>&1 &&
   cmake --build "$tmp/sub" -j "$(nproc)" >>"$tmp/sub.log" 2>&1; then
  runapp add_subdirectory-static "$tmp/sub/app_static"
  runapp add_subdirectory-shared "$tmp/sub/app_shared"
else fail "add_subdirectory project: $(grep -m5 -iE 'error' "$tmp/sub.log")"; fi
[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
