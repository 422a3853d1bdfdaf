# cli_common.sh — shared set-up of the dsmlp-compile shell tests (sourced).
# Gives: $src, $bin, a private $tmp (removed on exit) with DSMLP_CACHE_DIR
# inside it (never the user's store), and the helpers below.
set -uo pipefail
src="${DSMLP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
bin="${DSMLP_BINARY_DIR:-$src/build}/bin/dsmlp-compile"
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/dsmlp-$(basename "$0" .sh).XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
unset DSMLP_CACHE DSMLP_CACHE_MAX_MB
export DSMLP_CACHE_DIR="$tmp/default-store"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# run ARGS...: runs the tool; sets $rc, $out (stdout), $err (stderr).
run() {
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out="$(cat "$tmp/out")"
  err="$(cat "$tmp/err")"
}
# field NAME: the number after NAME in the summary line ("compiled 3,").
field() { sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p" <<<"$out" | tail -1; }
# snapshot DIR: every file's name and checksum.
snapshot() { (cd "$1" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }
