#!/usr/bin/env bash
# Fifty-first session, diagnostic: the int8 decode kernels of GELU-4096 / SwiGLU-4096 under ncu (--clock-control none)
# at T = 1 (the two decode GEMVs on the codes) and T = 4 (the mixed-input kernels), on whichever card comes: where the
# weight stream stops short of the read rate (issue 10 on the H200: 3.24 TB/s of 4.19 at T = 1).
#   bash bench/proto/run-s51g.sh          carry: build-gpu/bin/dsmlp-bench, build-gpu/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
export DSMLP_CACHE_DIR=/tmp/c-g DSMLP_COMPILE_THREADS=16 && mkdir -p $DSMLP_CACHE_DIR
for b in gelu_i8_h4096 swiglu_i8_h4096; do
  build-gpu/bin/dsmlp-bench --compile-only --block $b --tokens 1,4 --arch sm_90a > /dev/null 2>&1
  for T in 1 4; do
    timeout 120 ncu --clock-control none --kernel-name "regex:dsmlp_(gemv|mixed|wgmma)" --launch-count 3 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats \
      --section WarpStateStats build-gpu/bin/dsmlp-bench --block $b --tokens $T --reps 2 --no-tune --layout out_in \
      > $OUT/ncu-$b-$T.txt 2>&1
    echo "== $b T=$T rc $?"
    grep -E "^  dsmlp_|Duration|DRAM Throughput|Memory Throughput|L2 Hit Rate|Achieved Occupancy|Registers Per|Grid Size|Block Size|Waves Per SM|Warp Cycles Per Issued|Stall" \
      $OUT/ncu-$b-$T.txt | grep -v -- "----" | head -40
  done
done
