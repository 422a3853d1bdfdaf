#!/usr/bin/env bash
# Fiftieth session: why main's int8 decode GEMVs (GELU-4096 / SwiGLU-4096 T = 1: 54.3-55.3 / 70.8 us on an H100) run
# 2-2.6 us behind fused_decode's "two kernels" (52.6-52.7: the same math, two plain kernels): ncu on both pairs, the
# same sections, and dsmlp-bench's graph time beside fused_decode's, in one call.
#   bash bench/proto/run-s50-gemv-ncu.sh STORE.tar.xz
#   carry: build-gpu/bin/dsmlp-bench build-gpu/bin/fused_decode build-gpu/lib STORE
store=${1:?usage: run-s50-gemv-ncu.sh STORE.tar.xz}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
W=/tmp/s50n && mkdir -p $W
S="--section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats"
for b in gelu_i8_h4096 swiglu_i8_h4096; do
  timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens 1 --reps 30 --no-tune --layout out_in --md $W/$b.md > $W/$b.log 2>&1
  echo "$b T=1 rc $?: $(grep -E '^\| NVIDIA' $W/$b.md | cut -d'|' -f4-6)"
  timeout 150 ncu --clock-control none --kernel-name regex:gemv --launch-count 2 $S \
    build-gpu/bin/dsmlp-bench --block $b --tokens 1 --reps 2 --no-tune --layout out_in > $W/ncu-main-$b.txt 2>&1
  echo "ncu main $b rc $?"
done
timeout 200 ncu --clock-control none --kernel-name regex:"two1|two2" --launch-count 4 $S build-gpu/bin/fused_decode quick \
  > $W/ncu-two.txt 2>&1
echo "ncu two rc $?"
for f in $W/ncu-*.txt; do
  echo "== $f"
  grep -E "^  [a-z_0-9]+.*\(|void two|dsmlp_gemv|Duration|DRAM Throughput|Memory Throughput|^    Grid Size|^    Block Size|Registers Per|Achieved Occupancy|Theoretical Occupancy|Dynamic Shared|Static Shared|Warp Cycles Per Issued|Eligible Warps|Issued Warp Per|One or More|No Eligible|L2 Hit|Mem Busy|Max Bandwidth" "$f" | head -80
done
for f in $W/*; do echo "#### $f"; cat "$f"; done > $OUT/all.log
