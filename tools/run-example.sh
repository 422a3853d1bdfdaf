#!/usr/bin/env bash
# run-example.sh — the README's first command: installs what dsmlp needs,
# builds it, and compiles every kernel of two bundled model scripts ahead of
# time into the default kernel store (DSMLP_CACHE_DIR, else
# $XDG_CACHE_HOME/dsmlp, else ~/.cache/dsmlp). Run it twice: the second time
# every kernel is cached and nothing is compiled. With a GPU it also checks
# every layer against the CPU reference (--verify).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/tools/bootstrap.sh"
tool="$build/bin/dsmlp-compile"
models=("$root/examples/llama3-8b.lua" "$root/examples/gpt2.lua")

for m in "${models[@]}"; do
  echo "== dsmlp-compile ${m#"$root"/}"
  "$tool" "$m" "$@"
done

# --verify exits 7 when there is no GPU (see docs/cli.md); its compile step
# is all cache hits after the runs above.
for m in "${models[@]}"; do
  echo "== dsmlp-compile ${m#"$root"/} --verify"
  rc=0
  "$tool" "$m" --verify "$@" || rc=$?
  if [ "$rc" -eq 7 ]; then
    echo "no GPU here: verification skipped (the kernels above are compiled and cached)"
    break
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
done
