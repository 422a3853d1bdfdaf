#!/usr/bin/env bash
# test.sh — the README's test command: set up, build, run every CPU test.
# GPU tests (label gpu) skip themselves without a device.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/bootstrap.sh"
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure -j "$(nproc)" "$@"
