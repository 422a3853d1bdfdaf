#!/usr/bin/env bash
# Prepared in the sixty-fourth session (run in the sixty-fifth, H100, through run-s66.sh: bench/RESULTS.md): ncu of whole dsmlp-bench runs, per kernel name (as run-s61b.sh), for issue 9's
# remaining miss: GELU-4096 f16 at T = 3..16 (1.14-1.16x the read floor on an H100) against T = 2 (1.06x, decode GEMVs),
# both layouts; which kernel of the main route (norm, first GEMM, second GEMM) streams below the GEMVs' rate.
#   carry: build-gpu/bin build-gpu/lib    (~200 s)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench
for lay in out_in in_out; do
  for t in 2 3 16; do ncu_prof gelu-f16-$lay-$t $lay gelu_f16_h4096 $t; done   # one T a run: kernels of a name merge
done
# Why GELU-4096 int8's second code GEMM streams 13% slower than its first at T = 8 (sixty-first session; its occupancy
# is not the cause: variant oaf, sixty-fourth session): both kernels' speed-of-light, memory and warp-state sections.
timeout 200 ncu --clock-control none -k regex:mixed16 --launch-count 4 --section SpeedOfLight \
  --section MemoryWorkloadAnalysis --section WarpStateStats --section LaunchStats \
  $B --block gelu_i8_h4096 --tokens 8 --reps 2 --no-tune --layout out_in > $OUT/ncu-i8-sections.txt 2>&1
grep -E "mixed16|Duration|DRAM Throughput|Memory Throughput|L2 Hit Rate|Mem Busy|Max Bandwidth|Stall|Warp Cycles Per Issued|Grid Size|Cluster" \
  $OUT/ncu-i8-sections.txt | head -80
