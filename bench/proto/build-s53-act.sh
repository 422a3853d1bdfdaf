#!/usr/bin/env bash
# Builds what bench/proto/run-s53-act.sh carries (fifty-second session): the act-follower branch's dsmlp-bench and GPU
# tests (build-gpu, on that branch), main's dsmlp-bench with the branch's bench_main.c (the erf blocks) in a worktree
# build, and one kernel store for every bench run of the call. Run on branch act-follower: bash bench/proto/build-s53-act.sh
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
B=build-gpu/bin/s53
mkdir -p $B
cmake --build build-gpu -j2 --target dsmlp-bench test_gpu_mlp_family test_gpu_wgmma test_gpu_runtime test_gpu_quant >/dev/null
cp build-gpu/bin/dsmlp-bench $B/act-dsmlp-bench
for t in test_gpu_mlp_family test_gpu_wgmma test_gpu_runtime test_gpu_quant; do cp build-gpu/tests/$t $B/act-$t; done
base=$(git merge-base HEAD main)
rm -rf /tmp/wt-s53 && git worktree add -f --detach /tmp/wt-s53 "$base" >/dev/null
cp bench/bench_main.c /tmp/wt-s53/bench/bench_main.c
cmake -S /tmp/wt-s53 -B /tmp/build-s53-head -G Ninja -DCMAKE_BUILD_TYPE=Release -DDSMLP_BUILD_TESTS=OFF >/dev/null
cmake --build /tmp/build-s53-head -j2 --target dsmlp-bench >/dev/null
cp /tmp/build-s53-head/bin/dsmlp-bench $B/head-dsmlp-bench
git worktree remove --force /tmp/wt-s53
p=()
for b in head act; do p+=("$B/$b-dsmlp-bench:bert_erf_f16_h768:1,2,4,8,16,32,64,128" "$B/$b-dsmlp-bench:gelu_erf_i8_h4096:1,2,16,64,128,1024"); done
bash bench/store_prefill.sh /tmp/s53-a.tar.xz 1 "${p[@]}" "$B/act-dsmlp-bench:bert_f16_h768:1,2,4,8,16,32,64,128" \
  "$B/act-dsmlp-bench:bert_erf_f16_h768:2,4,8,16,32,64:DSMLP_MIXED_GEMM=2"
SEED=/tmp/s53-a.tar.xz LAYOUT=in_out bash bench/store_prefill.sh $B/store.tar.xz 1 \
  "$B/head-dsmlp-bench:bert_erf_f16_h768:1,2,8,64,100,128" "$B/act-dsmlp-bench:bert_erf_f16_h768:1,2,8,64,100,128"
ls -la $B; du -sh $B
