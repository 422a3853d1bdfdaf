#!/bin/bash
# session 36, call 3: (1) why the x multicast (mixed-x-multicast.patch) was slower: the timeline of its first GEMM at
# T = 128 (a second wave shows as late block starts) and ncu with launch and occupancy stats; (2) A/B of 0997fef (hd:
# setmaxnreg 24/96 at 64 tokens, 8 stages at 128) against fa79bdc (old); (3) the GPU suites on 0997fef.
# Carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-tl/bin/var build-gpu/run.sh.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for v in tl tlmc; do
  DSMLP_PROTO_MCAST_MIN_N=8192 DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-tl/bin/var/$v --block gelu_i8_h4096 --tokens 128 --reps 30 --no-tune --layout out_in > $OUT/$v-128.raw 2>&1
  echo "timeline $v T=128 rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/$v-128.raw
done
DSMLP_PROTO_MCAST_MIN_N=8192 DSMLP_CACHE_DIR=/tmp/c-ncu timeout 120 ncu --clock-control none --kernel-name regex:'mixed128.*n16384' --launch-count 1 \
  --section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis --section WarpStateStats \
  build-gpu/bin/var/mc --block gelu_i8_h4096 --tokens 128 --reps 2 --no-tune --layout out_in > $OUT/ncu-mc.txt 2>&1
echo "ncu rc=$? $((SECONDS-s0))s"
grep -E "Duration|Throughput|Cluster|Waves|Active Clusters|Block Limit|Stall|Warp Cycles|Eligible|L2 Hit" $OUT/ncu-mc.txt | head -40
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    for v in old hd; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block $b --tokens 33,64,65,100,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
DSMLP_CACHE_DIR=/tmp/c-hd timeout 60 build-gpu/bin/var/hd --block gelu_f16_h4096 --tokens 32,64,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1
echo "f16 hd gelu_f16_h4096 $(row)"
rm -rf build-gpu/bin/var
timeout 420 ctest --test-dir build-gpu -L gpu -E test_gpu_stream -j 8 --timeout 400 > $OUT/suites.log 2>&1
echo "suites rc=$? $((SECONDS-s0))s"; grep -E "Test +#|tests passed|Failed|Skipped" $OUT/suites.log | head -20
