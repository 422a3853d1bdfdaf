#!/usr/bin/env bash
# test_docs.sh — docs that cannot go stale (issue 14): every ```c fragment in
# README.md and docs/*.md compiles against the public header (wrapped in a
# function, tests/docs/prelude.h declaring the caller's own names); the
# README's sample dsmlp-compile session prints what the README shows (wall
# times aside; the --verify part needs a GPU and is skipped); docs link only
# to files inside the repository.
set -uo pipefail
src="${DSMLP_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
build="${DSMLP_BINARY_DIR:-$src/build}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dsmlp-docs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# --- C fragments -------------------------------------------------------------
n=0
for md in "$src"/README.md "$src"/docs/*.md; do
  awk -v out="$tmp/frag" -v md="$(basename "$md")" '
    /^```c[ \t]*$/ { k++; f = out "_" md "_" k ".c"; line = NR + 1; print "#line " line " \"" md "\"" > f; p = 1; next }
    /^```/ { if (p) close(f); p = 0; next }
    p { print > f }' "$md"
done
for f in "$tmp"/frag_*.c; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  # "..." stands for elided code: "x = ...;" initializes x, a line "..." goes
  { echo '#include "prelude.h"'; echo 'int doc_fragment(void) {'; sed -E 's/= \.\.\.;/= {0};/; /^[[:space:]]*\.\.\.[[:space:]]*$/d' "$f"
    echo 'return 0; }'; } >"$f.full.c"
  if cc -std=gnu11 -fsyntax-only -Wall -Werror -Wno-unused-variable -Wno-unused-but-set-variable \
       -I"$src/include" -I"$src/tests/docs" "$f.full.c" 2>"$tmp/cc.log"; then :
  else fail "C fragment $(head -1 "$f" | sed 's/#line //') does not compile: $(head -5 "$tmp/cc.log")"; fi
done
[ $n -gt 0 ] && ok "$n C fragments in README.md and docs/ compile against include/dsmlp.h" || fail "no C fragments found"

# --- the README's sample session ---------------------------------------------
export DSMLP_CACHE_DIR="$tmp/store"; unset DSMLP_CACHE DSMLP_CACHE_MAX_MB
awk '/^```/ { inb = !inb; next } inb && /^\$ build\/bin\/dsmlp-compile/ { print }' "$src/README.md" \
  | grep -v -- '--verify' >"$tmp/cmds"
[ -s "$tmp/cmds" ] || fail "README has no sample dsmlp-compile session"
mask() { sed -E 's/wall [0-9.]+ s/wall N s/'; }
# Replay exactly: a fresh store, each command once, in order.
rm -rf "$tmp/store"
i=0
while IFS= read -r line; do
  i=$((i + 1))
  cmd="${line#\$ }"; cmd="${cmd%%#*}"
  occ=$(head -$i "$tmp/cmds" | grep -cxF -- "$line")   # the n-th time this command appears
  want=$(awk -v l="$line" -v occ="$occ" '$0 == l { c++; if (c == occ) { getline; print; exit } }' "$src/README.md" | mask)
  got=$(cd "$src" && bash -c "${cmd/build\/bin\//$build/bin/}" 2>/dev/null | tail -1 | mask)
  [ "$got" = "$want" ] && ok "README: \$ $cmd" || fail "README shows '$want' after '\$ $cmd'; it prints '$got' today"
done <"$tmp/cmds"

# --- links stay inside the repository ----------------------------------------
while IFS= read -r hit; do
  file=${hit%%:*}; target=${hit#*:}
  case "$target" in http*|mailto:*|\#*) continue ;; esac
  [ -e "$src/$(dirname "$file")/${target%%#*}" ] || fail "$file links to $target, which is not in the repository"
done < <(cd "$src" && grep -oE '\]\([^)]+\)' README.md docs/*.md CHANGELOG.md | sed -E 's/:\]\(/:/; s/\)$//')
grep -nE '/work/|shared/spec|\.\./shared' "$src"/README.md "$src"/docs/*.md && fail "docs point outside the repository"
[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
