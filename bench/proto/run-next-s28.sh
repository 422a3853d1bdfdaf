#!/bin/bash
# session 28 call 1 (prepared in session 27). Build build-gpu first (Release: BUILD_DIR=build-gpu BUILD_TYPE=Release
# tools/bootstrap.sh); copy this to build-gpu/run-next.sh; carry build-gpu/bin/dsmlp-bench and build-gpu/run-next.sh.
# Why do the int8 decode GEMVs stream at 3.2-3.4 TB/s where the f16 ones reach 3.9-4.1 with the same loads in
# flight per warp (16 x 16 bytes a lane, 4 rows x 2 KiB a warp)? Session 27 ruled out the kernel boundary (PDL),
# the instructions per code (MMA GEMV), the batch's compute (half batches) and the stream's depth (L2 prefetch).
# 1. ncu of GELU-4096's two GEMVs, int8 against f16, T = 1, `[out,in]`, each kernel alone: duration, DRAM bytes and
#    throughput, L2 hit rate and sectors per request, issue stalls (long scoreboard share), achieved occupancy.
# 2. (after 1, if it shows loads in flight as the limit) bench/proto/gemv-codes-3-blocks.patch: the GEMVs on codes at
#    3 blocks per SM (`VARIANT_TESTS=" " bash bench/build_variant.sh occ3 bench/proto/gemv-codes-3-blocks.patch`,
#    then GELU-4096 / SwiGLU-4096 int8 and fp8 at T = 1 against the head, as loaded, two rounds).
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
B=build-gpu/bin/dsmlp-bench
for b in gelu_i8_h4096 gelu_f16_h4096; do
  timeout 120 $B --block $b --tokens 1 --reps 3 --no-tune --layout out_in > /dev/null 2>&1   # compile into the cache
  timeout 240 ncu --clock-control none --kernel-name regex:'gemv_oi' --launch-skip 4 --launch-count 2 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --metrics dram__bytes_read.sum,lts__t_sector_hit_rate.pct,lts__t_sectors_srcunit_tex_op_read.sum,smsp__inst_executed.sum \
    $B --block $b --tokens 1 --reps 2 --no-tune --layout out_in > $OUT/ncu-$b.txt 2>&1
  echo "== $b"; grep -E "gemv_oi|Duration|DRAM Throughput|dram__bytes_read|lts__t_sector_hit|Achieved Occupancy|Stall Long|Warp Cycles Per Issued|inst_executed|L2 Hit" $OUT/ncu-$b.txt | head -40
done
