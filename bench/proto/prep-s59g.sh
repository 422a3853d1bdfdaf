#!/usr/bin/env bash
# Builds what bench/proto/run-s59g.sh carries (a new session's build-gpu/bin has none of it): dsmlp-bench of 415584c
# (before the GEMVs' L2 prefetch) and of 682fb46 (before the code kernels' twins) in worktrees, the pick-print
# variant pp, and a kernel store for every (binary, block, tokens) the call runs. About 6-8 minutes on 2 cores.
#   bash bench/proto/prep-s59g.sh    (then: run bench/proto/run-s59g.sh, carry build-gpu/bin build-gpu/lib)
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
root=$(pwd)
mkdir -p build-gpu/bin/old build-gpu/bin/s59
for c in 415584c:415 682fb46:head; do
  commit=${c%%:*} name=${c##*:} wt=/tmp/prep-s59g-$name
  [ -x build-gpu/bin/old/dsmlp-bench-$name ] && continue
  rm -rf "$wt"; git worktree add -f "$wt" "$commit" -q
  (cd "$wt" && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build --target dsmlp-bench | tail -1)
  cp "$wt/build/bin/dsmlp-bench" "build-gpu/bin/old/dsmlp-bench-$name"
  git worktree remove --force "$wt"
done
[ -x build-gpu/bin/var/pp ] || VARIANT_TESTS=test_plan bash bench/build_variant.sh pp bench/proto/mixed-pick-print.patch
rm -f build-gpu/bin/var/pp-test_plan
O=build-gpu/bin/old/dsmlp-bench-415 H=build-gpu/bin/old/dsmlp-bench-head B=build-gpu/bin/dsmlp-bench j=""
for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do j="$j $O:$blk:1,2 $B:$blk:1,2"; done
for blk in gelu_i8_h4096 gelu_fp8_h4096; do j="$j $H:$blk:3,16,64 $B:$blk:3,16,64"; done
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do j="$j $B:$blk:1,2,4,8,16,32,64,128,1024"; done
j="$j pp:gelu_i8_h4096:16,64 pp:gelu_i8_h4096:1,2,4,8,16,32,64,128,1024"
ji="$B:gelu_f16_h4096:1,2 $B:gelu_f16_h4096:1,2:DSMLP_DECODE_MAX_TOKENS=2 $B:bert_f16_h768:1,2 $B:bert_f16_h768:1,2:DSMLP_DECODE_MAX_TOKENS=2"
out=build-gpu/bin/s59/store-g.tar.xz
[ -f "$out" ] && cp "$out" /tmp/prep-s59g-seed.tar.xz && export SEED=/tmp/prep-s59g-seed.tar.xz   # grow the last one
# shellcheck disable=SC2086
bash bench/store_prefill.sh /tmp/prep-s59g-out.tar.xz 1 $j
# shellcheck disable=SC2086
SEED=/tmp/prep-s59g-out.tar.xz LAYOUT=in_out bash bench/store_prefill.sh "$out" 1 $ji
cd "$root" && du -sh build-gpu/bin
