#!/usr/bin/env bash
# Builds what bench/proto/run-s61.sh carries (a new session's build-gpu/bin has none of it): dsmlp-bench of 4695e73
# (before the mixed kernels' L2 prefetch at entry) in a worktree, and a kernel store for every (binary, block, tokens,
# setting) the call runs. Several minutes on 2 cores.
#   bash bench/proto/prep-s61.sh    (then: run bench/proto/run-s61.sh, carry build-gpu/bin build-gpu/lib)
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
mkdir -p build-gpu/bin/old build-gpu/bin/s61
if [ ! -x build-gpu/bin/old/dsmlp-bench-4695 ]; then
  wt=/tmp/prep-s61-4695
  rm -rf "$wt"; git worktree add -f "$wt" 4695e73 -q
  (cd "$wt" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build --target dsmlp-bench | tail -1)
  cp "$wt/build/bin/dsmlp-bench" build-gpu/bin/old/dsmlp-bench-4695
  git worktree remove --force "$wt"
fi
O=build-gpu/bin/old/dsmlp-bench-4695 B=build-gpu/bin/dsmlp-bench T=1,2,3,4,8,16,32,64,128,1024 j=""
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do j="$j $O:$blk:$T $B:$blk:$T"; done
for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_i8_h8192; do j="$j $B:$blk:$T"; done
# shellcheck disable=SC2086
bash bench/store_prefill.sh /tmp/prep-s61-out.tar.xz 1 $j
SEED=/tmp/prep-s61-out.tar.xz LAYOUT=in_out bash bench/store_prefill.sh build-gpu/bin/s61/store.tar.xz 1 \
  $B:swiglu_bf16_h8192:1 $B:swiglu_bf16_h8192:1:DSMLP_DECODE_MAX_TOKENS=0 $B:swiglu_bf16_h4096:1 \
  $B:swiglu_bf16_h4096:1:DSMLP_DECODE_MAX_TOKENS=0
du -sh build-gpu/bin
