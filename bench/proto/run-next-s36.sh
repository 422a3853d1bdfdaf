#!/bin/bash
# session 36 (prepared in session 35, whose device time ran out): the wide code kernels (T > 64). GELU-4096 int8
# T = 128 runs at 83.6 us, ~40% of the tensor rate (0.65x f16 would be ~56). Before the call:
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh hd
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh w200 bench/proto/mixed-wide-200k-stages.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh k128 bench/proto/mixed-tok128-k128.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh mc bench/proto/mixed-x-multicast.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh r64 bench/proto/mixed-64tok-setmaxnreg.patch
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tl   (the timeline build of head)
#   cp bench/proto/run-next-s36.sh build-gpu/run-next.sh
# carry build-gpu/bin/var build-tl/bin/var build-gpu/run-next.sh. (0) the whole block's timeline at T = 128. (1) ncu on head's 128-token kernels (tensor pipe, warp stalls,
# issue slots); (2) the four variants' correctness (mc: mixed-x-multicast.patch; r64: the 64-token kernels' setmaxnreg) (CK_RUN_CASE=mixed covers T = 129, 300, 1000 at every layout);
# (3) A/B, separate processes, two rounds. Run without a pipe into tail, as two calls (~600 s in all):
# PART=1 bash build-gpu/run-next.sh (timeline, ncu, suites), then PART=2 (the A/B).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
if [ "${PART:-1}" = 1 ]; then
for t in 64 128; do
  DSMLP_CACHE_DIR=/tmp/c-tl timeout 90 build-tl/bin/var/tl --block gelu_i8_h4096 --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-$t.raw 2>&1
  echo "timeline T=$t rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-$t.raw
done
DSMLP_CACHE_DIR=/tmp/c-ncu timeout 120 ncu --clock-control none --kernel-name regex:'mixed128' --launch-count 2 \
  --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --section SchedulerStats --section MemoryWorkloadAnalysis \
  build-gpu/bin/var/hd --block gelu_i8_h4096 --tokens 128 --reps 2 --no-tune --layout out_in > $OUT/ncu.txt 2>&1
echo "ncu rc=$? $((SECONDS-s0))s"
grep -E "dsmlp_mixed|Duration|Throughput|Pipe|Stall|Warp Cycles|Issued|Eligible|Active Warps|Tensor|Registers|L2|L1" $OUT/ncu.txt | head -80
for v in w200 k128 mc r64; do
  CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/$v-test_gpu_quant > $OUT/q-$v.log 2>&1; echo "$v quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-$v.log | head -5
done
exit 0
fi
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    for v in hd w200 k128 mc mc1; do   # mc1: multicast for the first GEMM only (DSMLP_PROTO_MCAST_MIN_N=8192)
      bin=$v; mn=; [ $v = mc1 ] && bin=mc mn=8192
      DSMLP_PROTO_MCAST_MIN_N=$mn DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-gpu/bin/var/$bin --block $b --tokens 65,100,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
for r in 1 2; do   # the 64-token kernels (T = 33..64) with setmaxnreg (no serialized wgmmas)
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    for v in hd r64; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block $b --tokens 33,48,64 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
