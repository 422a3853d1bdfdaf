#!/usr/bin/env bash
# One device call for the code kernels that walk their tiles (templates/mixed.cu DS_WALK, forty-ninth session): builds
# side by side (head: a block a tile, the staged epilogue; a walking build with DSMLP_MIXED_PERSIST=1, one block a SM
# where the tiles outnumber them, and =0, a block a tile), in turn in one call from a prefilled store; optionally ncu
# on one kernel of two builds; then the GPU test of the walk.
#   bash bench/proto/run-s49-walk.sh STORE.tar.xz
#     RUNS="NAME:BUILD[:VAR=VALUE] ..."  builds under build-gpu/bin/var (default: head, walk4 at 1 and 0)
#     BLOCKS="..." TOKENS=... ROUNDS=N   what each build runs (default GELU-4096 / SwiGLU-4096 int8, T = 1..2048, 1)
#     F16=1                              also GELU-4096 f16 on head, once (issue 10's ratio)
#     NCU="BUILD[:VAR=VALUE] ..." NCU_KERNEL=regex NCU_BLOCK=... NCU_T=...   ncu of that kernel in each build
#     TEST=BUILD TEST_CASES="..."        those Check cases (default mixed_walk) of BUILD-TEST_BIN (none: no test;
#                                        TEST_BIN default test_gpu_quant)
#   carry: the builds (and BUILD-test_gpu_quant), build-gpu/lib, STORE
#   store: bench/store_prefill.sh STORE.tar.xz TOKENS head:gelu_i8_h4096 walk4:gelu_i8_h4096 ...
store=${1:?usage: run-s49-walk.sh STORE.tar.xz}
tokens=${TOKENS:-1,64,128,256,512,1024,2048}
runs=${RUNS:-head:head walk:walk4:DSMLP_MIXED_PERSIST=1 regs:walk4:DSMLP_MIXED_PERSIST=0}
blocks=${BLOCKS:-gelu_i8_h4096 swiglu_i8_h4096}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
bench() {   # NAME BUILD BLOCK ROUND [VAR=VALUE]
  env ${5:-} timeout 150 "build-gpu/bin/var/$2" --block "$3" --tokens "$tokens" --reps 30 --no-tune --layout out_in \
    --md "$OUT/$1-$3-$4.md" > "$OUT/$1-$3-$4.log" 2>&1
  echo "$1 $3 round $4 rc $?"
}
for round in $(seq 1 "${ROUNDS:-1}"); do
  for b in $blocks; do
    for r in $runs; do
      IFS=: read -r name build setting <<< "$r"
      bench "$name" "$build" "$b" "$round" "$setting"
    done
  done
done
[ "${F16:-0}" = 1 ] && bench head head gelu_f16_h4096 1
for f in "$OUT"/*.md; do echo "== $f"; grep -v -e '^|---' -e '^| card' "$f" | sed 's/^| NVIDIA [^|]*| //'; done
for n in ${NCU:-}; do
  IFS=: read -r build setting <<< "$n"
  env $setting timeout 150 ncu --clock-control none --kernel-name "regex:$NCU_KERNEL" --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section InstructionStats \
    "build-gpu/bin/var/$build" --block "$NCU_BLOCK" --tokens "$NCU_T" --reps 2 --no-tune --layout out_in \
    > "$OUT/ncu-$build-${setting//=/_}.txt" 2>&1
  echo "ncu $build $setting rc $?"
  grep -E "dsmlp_mixed|Duration|Throughput|Warp Cycles|Issued|Eligible|Executed Ipc" "$OUT/ncu-$build-${setting//=/_}.txt" | head -24
done
if [ -n "${TEST:-}" ]; then
  export DSMLP_CACHE_DIR=/tmp/c-t
  mkdir -p /tmp/c-t
  for c in ${TEST_CASES:-mixed_walk}; do   # side by side: the wall time is the longest case's
    (CK_RUN_CASE=$c timeout "${TEST_LIMIT:-300}" "build-gpu/bin/var/$TEST-${TEST_BIN:-test_gpu_quant}" > "$OUT/test-$c.log" 2>&1
     echo "test $c ($TEST) rc $?") &
  done
  wait
  for c in ${TEST_CASES:-mixed_walk}; do grep -E "FAIL|cases|Checks|walking" "$OUT/test-$c.log" | head -12; done
fi
