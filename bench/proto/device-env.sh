# Sourced by the bench/proto call scripts on the device machine: NCCL without NVLink multicast (KINDS.md), the
# templates and build found from the repository root, the carried kernel store unpacked as the store, the card named.
#   . bench/proto/device-env.sh STORE.tar.xz     (bench/store_prefill.sh makes STORE)
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
export DSMLP_CACHE_DIR=/tmp/c-b && mkdir -p $DSMLP_CACHE_DIR
tar -xJf "${1:?usage: . bench/proto/device-env.sh STORE.tar.xz}" -C $DSMLP_CACHE_DIR
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# One dsmlp-bench process of an A/B table (the block in $blk): prints "T=<t> <µs as loaded> ..." and the label.
bench_run() {   # label binary layout tokens reps [VAR=VALUE...]
  local l=$1 b=$2 lay=$3 tok=$4 reps=$5
  shift 5
  env "$@" timeout 90 "$b" --block "$blk" --tokens "$tok" --reps "$reps" --no-tune --layout "$lay" 2>&1 | grep "T=" |
    awk -v l="$l" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
# An A/B table: ROUNDS rounds over BLOCKS (each sets $blk for bench_run), the two sides' order alternated (A first in
# odd rounds); A and B are commands that run one side, usually small functions around bench_run.
ab_rounds() {   # rounds "blocks" A B
  local r
  for r in $(seq "$1"); do
    for blk in $2; do
      echo "== $blk r$r"
      if [ $((r % 2)) = 1 ]; then $3; $4; else $4; $3; fi
    done
  done
}
# ncu of a whole dsmlp-bench run (every launch), printed per kernel name by ncu_by_kernel.py; the CSV in $OUT.
ncu_prof() {   # label layout block tokens [VAR=VALUE...]    (binary: $B, else build-gpu/bin/dsmlp-bench)
  local l=$1 lay=$2 blk=$3 t=$4
  shift 4
  echo "== ncu $l: $blk [$lay] T = $t $*"
  env "$@" timeout 150 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    "${B:-build-gpu/bin/dsmlp-bench}" --block "$blk" --tokens "$t" --reps 2 --no-tune --layout "$lay" > "$OUT/ncu-$l.csv" 2>&1
  python3 bench/proto/ncu_by_kernel.py "$OUT/ncu-$l.csv" | head -14
}
# ncu's stall, pipe, memory and occupancy sections of the kernels matching REGEX in one dsmlp-bench run: COUNT launches
# (default 2) after SKIP (default 0; eighty-third session: of two 128-token kernels profiled together ncu gave the
# second no data, rc 9), the report in $OUT/ncu-BLOCK-T[-sSKIP].txt and its key lines printed.
ncu_sections() {   # regex block tokens [skip [count]]    (binary: $B, else build-gpu/bin/dsmlp-bench)
  local re=$1 blk=$2 t=$3 skip=${4:-0} count=${5:-2} f="$OUT/ncu-$2-$3${4:+-s$4}.txt"
  timeout 150 ncu --clock-control none --kernel-name "regex:$re" --launch-skip "$skip" --launch-count "$count" \
    --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section InstructionStats --section Occupancy --print-details all \
    "${B:-build-gpu/bin/dsmlp-bench}" --block "$blk" --tokens "$t" --reps 2 --no-tune --layout out_in > "$f" 2>&1
  echo "== ncu $blk T = $t: rc $?"
  grep -E "dsmlp_|Duration|Throughput|Stall|Executed Ipc|Issue Slots|Pipe|Tensor|Achieved Occupancy|Hit Rate" "$f" | head -70
}
# ncu's warp-stall samples per SASS instruction of one launch matching REGEX (after SKIP), the CSV in
# $OUT/sass-BLOCK-T[-sSKIP].csv; sass_top.py prints the samples by kind of wait (barrier loops, wgmma waits, shared
# loads, conversion) and the top lines (eighty-fourth session: where the 128-token code kernels' consumers wait).
ncu_sass() {   # regex block tokens [skip]    (binary: $B, else build-gpu/bin/dsmlp-bench)
  local re=$1 blk=$2 t=$3 skip=${4:-0} f="$OUT/sass-$2-$3${4:+-s$4}.csv"
  timeout 150 ncu --clock-control none --kernel-name "regex:$re" --launch-skip "$skip" --launch-count 1 \
    --section SourceCounters --page source --print-source sass --csv \
    "${B:-build-gpu/bin/dsmlp-bench}" --block "$blk" --tokens "$t" --reps 2 --no-tune --layout out_in > "$f" 2>&1
  echo "== ncu sass $blk T = $t skip $skip: rc $? ($(wc -l < "$f") lines)"
  python3 bench/proto/sass_top.py "$f" "${SASS_TOP:-16}"
}
# A GPU test's Check case with the test's own kernel store (not the carried one), logged to $OUT/case-LABEL.log; run
# several with & and wait, then case_summaries prints each log's result lines and first failures (seventy-second
# session: every call script had grown its own copy of these lines).
gpu_case() {   # test case label limit_s [VAR=VALUE...]   (NVRTC threads: CASE_THREADS, default 8; the test binaries'
               # folder: GPU_TEST_DIR, default build-gpu/tests)
  local t=$1 c=$2 l=$3 lim=$4
  shift 4
  env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS="${CASE_THREADS:-8}" "$@" CK_RUN_CASE="$c" timeout "$lim" \
    "${GPU_TEST_DIR:-build-gpu/tests}/$t" > "$OUT/case-$l.log" 2>&1
  echo "$t $c ($l) rc $?"
}
case_summaries() {
  for f in "$OUT"/case-*.log; do
    echo "$(basename "$f"): $(grep -E '^[0-9]+%:|cases \(' "$f" | tr '\n' ' ' | cut -c1-300)"
    grep -m5 FAIL "$f"
  done
}
