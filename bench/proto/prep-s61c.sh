#!/usr/bin/env bash
# Builds what bench/proto/run-s61c.sh carries: dsmlp-bench of f7c6924 (before the k-split [in,out] GEMVs) and a kernel
# store for both binaries' [in,out] runs at T = 1, 2 (auto and DSMLP_DECODE_MAX_TOKENS=2).
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
mkdir -p build-gpu/bin/old build-gpu/bin/s61
if [ ! -x build-gpu/bin/old/dsmlp-bench-f7c ]; then
  wt=/tmp/prep-s61c-f7c
  rm -rf "$wt"; git worktree add -f "$wt" f7c6924 -q
  (cd "$wt" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build --target dsmlp-bench | tail -1)
  cp "$wt/build/bin/dsmlp-bench" build-gpu/bin/old/dsmlp-bench-f7c
  git worktree remove --force "$wt"
fi
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench j=""
for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
  for b in $O $B; do j="$j $b:$blk:1,2 $b:$blk:1,2:DSMLP_DECODE_MAX_TOKENS=2"; done
done
# shellcheck disable=SC2086
LAYOUT=in_out bash bench/store_prefill.sh build-gpu/bin/s61/store-c.tar.xz 1,2 $j
du -sh build-gpu/bin
SEED=build-gpu/bin/s61/store-c.tar.xz LAYOUT=out_in bash bench/store_prefill.sh /tmp/prep-s61c.tar.xz 1 \
  $B:gelu_i8_h4096:1 $B:gelu_i8_h4096:2
mv /tmp/prep-s61c.tar.xz build-gpu/bin/s61/store-c.tar.xz
