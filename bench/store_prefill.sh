#!/usr/bin/env bash
# store_prefill.sh — compiles here (no GPU needed) the kernels that a device call's dsmlp-bench runs will load, and
# packs them as one kernel store to `carry`. A fresh device machine starts with an empty store, and a cold
# (build, block) costs its first process ~30 s of device time: 36-37 kernels at --tokens up to 1024, compiled one after
# another by NVRTC (the store key is the source, NVRTC's version and options and the arch, none of which depends on
# the card, and both machines have CUDA 13.0).
#   bench/store_prefill.sh OUT.tar.xz TOKENS BUILD:BLOCK[:TOKENS[:VAR=VALUE]] [...]
#     TOKENS       the --tokens list of the call's runs (each pair may name its own): the plan's kernels depend on
#                  its largest T (the weight-streaming route's token tile is cut to it), so give every list a run
#                  of that (build, block) will use, as separate pairs
#     BUILD        a dsmlp-bench binary: a name under build-gpu/bin/var (bench/build_variant.sh) or a path
#     VAR=VALUE    the environment settings the call's run makes (e.g. DSMLP_DECODE_MAX_TOKENS=4: other kernels),
#                  several joined by '+' (DSMLP_MIXED_GEMM=0+DSMLP_DECODE_MAX_TOKENS=4)
#     LAYOUT=out_in (default) or in_out: the --layout the call will run
#   SEED=OLD.tar.xz  start from an earlier store (its kernels are not compiled again; keys that no plan asks for
#                    stay in it)
# On the device: mkdir -p /tmp/c-b && tar -xJf OUT.tar.xz -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
set -euo pipefail
out="${1:?usage: bench/store_prefill.sh OUT.tar.xz TOKENS BUILD:BLOCK ...}"
tokens="${2:?usage: bench/store_prefill.sh OUT.tar.xz TOKENS BUILD:BLOCK ...}"
shift 2
[ $# -gt 0 ] || { echo "store_prefill.sh: no BUILD:BLOCK given" >&2; exit 2; }
mkdir -p "$(dirname "$out")"   # before the compiles: a missing folder failed only at the end (tar), minutes later
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
if [ -n "${SEED:-}" ]; then tar -xJf "$SEED" -C "$store"; echo "store_prefill.sh: seeded with $(find "$store" -type f | wc -l) kernels of $SEED" >&2; fi
jobs=()
for pair in "$@"; do
  build="${pair%%:*}" rest="${pair#*:}"
  block="${rest%%:*}" toks="$tokens" setting=
  [ "$rest" = "$block" ] || toks="${rest#*:}"
  case "$toks" in *:*) setting="${toks#*:}" toks="${toks%%:*}" ;; esac
  [ -x "$build" ] || build="build-gpu/bin/var/$build"
  [ -x "$build" ] || { echo "store_prefill.sh: no dsmlp-bench binary for '$pair'" >&2; exit 1; }
  jobs+=("$build $block $toks${setting:+ $setting}")   # no trailing blank: xargs -L would join the next line
done
echo "store_prefill.sh: ${#jobs[@]} (build, block, tokens) plans, $(nproc) at a time" >&2
# shellcheck disable=SC2016
printf '%s\n' "${jobs[@]}" | DSMLP_CACHE_DIR="$store" DSMLP_COMPILE_THREADS=1 xargs -P "$(nproc)" -L 1 sh -c \
  'env $(printf %s "$3" | tr + " ") "$0" --compile-only --block "$1" --tokens "$2" --layout '"${LAYOUT:-out_in}"' | sed "s|^|$0 (T up to the last of $2${3:+; $3}): |"'
tar -cJf "$out" -C "$store" .
echo "store_prefill.sh: $out: $(find "$store" -type f | wc -l) kernels, $(du -h "$out" | cut -f1)" >&2
