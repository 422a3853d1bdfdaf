#!/bin/bash
# session 38 (prepared in session 37, whose device time was spent): (1) test_gpu_stream on main (not run since the
# thirty-fifth session; the route's main_from runs the mixed GEMMs, now with two groups of clusters); (2) where the
# time goes now: the block timeline of GELU-4096 int8 at T = 64 / 128 and SwiGLU-4096 int8 at T = 64 (timeline
# build of main), ncu on the second GEMM at T = 128 (two groups of 2: 128 blocks, cooperative) and on SwiGLU's
# first GEMM at T = 64 (224 gated row tiles on 264 block slots, no split). Before the call:
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tl   (build-tl: a Release build
#     configured with -DCMAKE_C_FLAGS=-DDSMLP_TIMELINE=20; configure it first if it is missing)
#   cp bench/proto/run-next-s38.sh build-gpu/run-next.sh
# carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-tl/bin/var build-gpu/run-next.sh;
# run without a pipe into tail: bash build-gpu/run-next.sh (~420 s).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
timeout 300 ctest --test-dir build-gpu -R test_gpu_stream --timeout 290 --output-on-failure > $OUT/stream.log 2>&1
echo "test_gpu_stream rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL|tests passed' $OUT/stream.log | head -10
for bt in gelu_i8_h4096:64 gelu_i8_h4096:128 swiglu_i8_h4096:16 swiglu_i8_h4096:64; do   # SwiGLU: 224 gated row tiles
  # on 264 block slots at T <= 64 (no split fits): do the SMs holding one block finish early, the GEMM ending with
  # the 92 that hold two? (SwiGLU-4096 int8 T = 2..16 57.6-57.9 us against issue 10's 50.6)
  b=${bt%:*} t=${bt#*:}
  DSMLP_CACHE_DIR=/tmp/c-tl timeout 90 build-tl/bin/var/tl --block $b --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-$b-$t.raw 2>&1
  echo "timeline $b T=$t rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-$b-$t.raw
done
for bt in gelu_i8_h4096:128:mixed128 swiglu_i8_h4096:64:mixed64; do
  b=${bt%%:*} r=${bt#*:} t=${r%%:*} k=${r#*:}
  DSMLP_CACHE_DIR=/tmp/c-ncu timeout 120 ncu --clock-control none --kernel-name regex:$k --launch-count 2 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section LaunchStats --section Occupancy \
    build-gpu/bin/dsmlp-bench --block $b --tokens $t --reps 2 --no-tune --layout out_in > $OUT/ncu-$b-$t.txt 2>&1
  echo "ncu $b T=$t rc=$? $((SECONDS-s0))s"
  grep -E "dsmlp_mixed|Duration|Throughput|Stall|Warp Cycles|Issued|Eligible|Cluster|Grid Size|Waves" $OUT/ncu-$b-$t.txt | head -50
done
