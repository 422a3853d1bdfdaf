#!/usr/bin/env bash
# Fifty-seventh session, last call: ncu sections (SpeedOfLight, LaunchStats, Occupancy, MemoryWorkloadAnalysis) of
# SwiGLU-4096 bf16's two wgmma kernels at T = 8 (`[out,in]`, as loaded on an H100; pinned by DSMLP_MIXED_GEMM=2 so an
# H200 runs them too): the second GEMM (n 4096, k 14336, split 7) streams at 2.5 TB/s against the first's 2.83 (call 4).
#   bash bench/proto/run-s57f.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s57/store-c.tar.xz
for k in n28672 n4096; do
  DSMLP_MIXED_GEMM=2 timeout 100 ncu --clock-control none -k regex:"wgmma64.*${k}_" --launch-skip 4 --launch-count 1 \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis \
    build-gpu/bin/dsmlp-bench --block swiglu_bf16_h4096 --tokens 8 --reps 3 --no-tune --layout out_in > $OUT/ncu-$k.txt 2>&1
  echo "== $k rc $?"
  grep -E "Duration|DRAM Throughput|Memory Throughput|Grid Size|Cluster Size|Block Size|Waves Per SM|Registers Per|Shared Memory Config|Dynamic Shared|Achieved Occupancy|Theoretical Occupancy|Block Limit|Mem Busy|Max Bandwidth|L2 Hit|Compute \(SM\)" $OUT/ncu-$k.txt | sed 's/  */ /g' | head -30
done
