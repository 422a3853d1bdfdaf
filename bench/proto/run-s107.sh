#!/usr/bin/env bash
# Prepared in the seventy-seventh session for the next one (~250 s): (1) where the T = 128 code GEMMs lose their tensor
# rate (issue 10's T = 128 line: int8 / f16 0.81 / 0.87 on the H200 against 0.65): ncu's stall reasons, pipes and
# memory for GELU- and SwiGLU-4096 int8's two 128-token mixed kernels (each alone, clocks not locked); (2) the GPU tests
# the seventy-seventh session's change (dsmlpR_mixed_next_early) did not get through for want of device time:
# test_gpu_quant quant and test_gpu_stream stream, side by side after the profiles, eight NVRTC threads each.
#   prep: bench/store_prefill.sh build-gpu/bin/s107/store.tar.xz 128 build-gpu/bin/dsmlp-bench x gelu_i8_h4096
#         swiglu_i8_h4096 (SEED: any earlier store)
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s107/store.tar.xz
for blk in gelu_i8_h4096 swiglu_i8_h4096; do
  timeout 150 ncu --clock-control none --kernel-name regex:mixed128 --launch-count 2 \
    --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section InstructionStats --section Occupancy --print-details all \
    build-gpu/bin/dsmlp-bench --block $blk --tokens 128 --reps 2 --no-tune --layout out_in > $OUT/ncu-$blk-128.txt 2>&1
  echo "== ncu $blk T = 128: rc $?"
  grep -E "dsmlp_mixed|Duration|Throughput|Stall|Executed Ipc|Issue Slots|Pipe|Tensor|Achieved Occupancy|Hit Rate" \
    $OUT/ncu-$blk-128.txt | head -70
done
echo "== ncu done at $(( $(date +%s) - t0 )) s; the tests (alone on the GPU, so the profiles are not disturbed)"
(CASE_THREADS=8 gpu_case test_gpu_quant quant quant 300) &
(CASE_THREADS=8 gpu_case test_gpu_stream stream stream 300) &
wait
case_summaries
echo "== run-s107.sh took $(( $(date +%s) - t0 )) s"
