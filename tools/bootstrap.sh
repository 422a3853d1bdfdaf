#!/usr/bin/env bash
# bootstrap.sh — installs what dsmlp needs (Debian packages) and builds it.
# Idempotent: skips apt when everything is present. BUILD_DIR overrides ./build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
pkgs=(cmake ninja-build pkg-config liblua5.4-dev check libsubunit-dev libb2-dev libsodium-dev libelf-dev zlib1g-dev libjansson-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
if ! command -v nvcc >/dev/null 2>&1 && [ ! -e /usr/local/cuda/include/nvrtc.h ]; then
  echo "bootstrap: the CUDA toolkit (NVRTC, cuBLASLt, NCCL headers) is required; install it first" >&2
  exit 1
fi
export PATH="/usr/local/cuda/bin:$PATH"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
