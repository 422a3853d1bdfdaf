#!/bin/bash
# session 31 (prepared in session 30). Before the call:
#   VARIANT_TESTS="test_gpu_gemm" bash bench/build_variant.sh ltnone bench/proto/lt-reduce-none.patch
#   VARIANT_TESTS="test_gpu_gemm" bash bench/build_variant.sh ltinpl bench/proto/lt-reduce-inplace.patch
#   cmake -S . -B build-tl -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-DDSMLP_TIMELINE=20 && cmake --build build-tl --target dsmlp-bench
#   cp bench/proto/run-next-s31.sh build-gpu/run-next.sh
# carry build-gpu/bin/dsmlp-bench build-gpu/bin/var/ltnone build-gpu/bin/var/ltnone-test_gpu_gemm build-gpu/bin/var/ltinpl
#       build-gpu/bin/var/ltinpl-test_gpu_gemm build-gpu/lib build-gpu/run-next.sh build-tl/bin/dsmlp-bench
# Session 30's ncu: at T = 8..32 the block is norm + cuBLASLt GEMMs + gated + a separate split-k reduce kernel (3.6-4.3
# us); the kernels' sum is the replay. (1) cuBLASLt without out-of-place split-k reductions (none / none + in place),
# as loaded and with DSMLP_GEMM_TUNE=1, and their accuracy (test_gpu_gemm); (2) ncu of our wgmma kernel against
# cuBLASLt's on SwiGLU-4096's first GEMM at T = 8 ([in,out], DSMLP_MIXED_GEMM=2 against 0): why ours streams ~4.6 us
# slower there (DRAM throughput, stall reasons, occupancy); (3) the same for the int8 mixed16 kernels at T = 16;
# (4) the timeline of that wgmma kernel per SM: SwiGLU-4096's first GEMM is 224 blocks on 264 slots (92 SMs with two,
# 40 with one): do the two-block SMs end last?
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for v in ltnone ltinpl; do
  timeout 150 build-gpu/bin/var/$v-test_gpu_gemm > $OUT/gemm-$v.log 2>&1; echo "$v test_gpu_gemm rc=$?"; grep -E '^==|FAIL' $OUT/gemm-$v.log | head -3
done
for r in 1 2; do
  for tune in 0 1; do
    for v in build-gpu/bin/dsmlp-bench build-gpu/bin/var/ltnone build-gpu/bin/var/ltinpl; do
      for cf in out_in:gelu_f16_h4096 in_out:swiglu_bf16_h4096; do
        lay=${cf%%:*} b=${cf#*:}
        DSMLP_GEMM_TUNE=$tune timeout 120 $v --block $b --tokens 2,8,16,32,1024 --reps 30 --no-tune --layout $lay --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
        echo "r$r tune=$tune $(basename $v) $lay $b $(row)"
      done
    done
  done
done
B=build-gpu/bin/dsmlp-bench
for m in 0 2; do
  DSMLP_MIXED_GEMM=$m timeout 120 $B --block swiglu_bf16_h4096 --tokens 8 --reps 3 --no-tune --layout in_out > /dev/null 2>&1
  DSMLP_MIXED_GEMM=$m timeout 200 ncu --clock-control none --kernel-name regex:'wgmma64|nvjet' --launch-skip 10 --launch-count 2 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
    $B --block swiglu_bf16_h4096 --tokens 8 --reps 2 --no-tune --layout in_out > $OUT/ncu-swiglu-m$m.txt 2>&1
  echo "== mixed_gemm $m"; grep -E "wgmma64|nvjet|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Stall Long|Warp Cycles Per Issued|Registers Per|Grid Size|Dynamic Shared" $OUT/ncu-swiglu-m$m.txt | head -40
done
timeout 120 $B --block gelu_i8_h4096 --tokens 16 --reps 3 --no-tune --layout out_in > /dev/null 2>&1
timeout 200 ncu --clock-control none --kernel-name regex:'mixed16' --launch-skip 4 --launch-count 2 \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \
  $B --block gelu_i8_h4096 --tokens 16 --reps 2 --no-tune --layout out_in > $OUT/ncu-i8-16.txt 2>&1
echo "== int8 mixed16"; grep -E "mixed16|Duration|DRAM Throughput|Achieved Occupancy|Stall Long|Warp Cycles Per Issued" $OUT/ncu-i8-16.txt | head -20
for i in 1 2 3; do
  DSMLP_MIXED_GEMM=2 DSMLP_CACHE_DIR=/tmp/tl timeout 100 build-tl/bin/dsmlp-bench --block swiglu_bf16_h4096 --tokens 8 --reps 30 \
    --no-tune --layout in_out > $OUT/tl-$i.raw 2>&1
done
echo "== timeline, SwiGLU-4096 [in,out] T = 8, wgmma pinned"; python3 bench/timeline_sms.py $OUT/tl-1.raw $OUT/tl-2.raw $OUT/tl-3.raw | head -40
