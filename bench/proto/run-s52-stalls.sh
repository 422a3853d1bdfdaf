#!/usr/bin/env bash
# Prepared in the fifty-first session for the next one (not yet run): where the int8 decode kernels stall. ncu's
# warp-state breakdown (all stall reasons) and the SASS instructions with the most stall samples (no line info: the
# kernels are NVRTC-compiled without -lineinfo) for GELU-4096 int8's decode GEMV 1 and 2 at T = 1 and its 16-token
# mixed kernels at T = 4 (bench/RESULTS.md, fifty-first session, call 11: 58-72% of the DRAM peak).
#   bash bench/proto/run-s52-stalls.sh      carry: build-gpu/bin/dsmlp-bench, build-gpu/lib    (~60 s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
export DSMLP_CACHE_DIR=/tmp/c-s DSMLP_COMPILE_THREADS=16 && mkdir -p $DSMLP_CACHE_DIR
k() {   # NAME KERNEL_REGEX T
  timeout 150 ncu --clock-control none --kernel-name "regex:$2" --launch-count 1 --section WarpStateStats \
    --section SourceCounters --print-details all build-gpu/bin/dsmlp-bench --block gelu_i8_h4096 --tokens $3 --reps 2 \
    --no-tune --layout out_in > $OUT/$1.txt 2>&1
  echo "== $1 rc $?"
  grep -E "Stall|Warp Cycles Per|smsp__pcsamp_warps_issue_stalled|Branch Instructions|Uncoalesced" $OUT/$1.txt | sort -t' ' -k2 | head -40
  timeout 150 ncu --clock-control none --kernel-name "regex:$2" --launch-count 1 --section SourceCounters --page source \
    --print-source sass --csv build-gpu/bin/dsmlp-bench --block gelu_i8_h4096 --tokens $3 --reps 2 --no-tune \
    --layout out_in > $OUT/$1-sass.csv 2>&1
  echo "== $1 sass rc $? ($(wc -l < $OUT/$1-sass.csv) lines)"; python3 bench/proto/sass_top.py $OUT/$1-sass.csv 25
}
k gemv1 "dsmlp_gemv_oi_f16_wi8.*n16384" 1
k gemv2 "dsmlp_gemv_oi_f16_wi8.*n4096" 1
k mixed1 "dsmlp_mixed16.*n16384" 4
k mixed2 "dsmlp_mixed16.*n4096" 4
