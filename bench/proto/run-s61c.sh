#!/usr/bin/env bash
# Sixty-first session, call 3: the k-split [in,out] decode GEMVs (emit.c gemv_io_shape). Their GPU test
# (test_gpu_mlp_family gemv_split), then f7c6924 (unsplit) against main at T = 1, 2 with the GEMVs as built (auto: T = 1)
# and built to T = 2 (DSMLP_DECODE_MAX_TOKENS=2), two rounds; ncu per kernel of SwiGLU-8192 bf16 T = 1.
#   prep: bash bench/proto/prep-s61c.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests/test_gpu_mlp_family
. bench/proto/device-env.sh build-gpu/bin/s61/store-c.tar.xz
O=build-gpu/bin/old/dsmlp-bench-f7c B=build-gpu/bin/dsmlp-bench
(cd build-gpu && CK_RUN_CASE=gemv_split DSMLP_COMPILE_THREADS=16 timeout 400 ./tests/test_gpu_mlp_family 2>&1 | tail -22)
ab() {
  for blk in gelu_f16_h4096 swiglu_bf16_h4096 swiglu_bf16_h8192 bert_f16_h768; do
    echo "== $blk round $1"
    bench_run f7c $O in_out 1,2 50; bench_run main $B in_out 1,2 50
    bench_run f7c-d2 $O in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2; bench_run main-d2 $B in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2
  done
}
ab 1
for b in $O $B; do
  echo "== ncu $b swiglu_bf16_h8192 [in,out] T = 1"
  timeout 150 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    $b --block swiglu_bf16_h8192 --tokens 1 --reps 2 --no-tune --layout in_out > $OUT/ncu.csv 2>&1
  python3 bench/proto/ncu_by_kernel.py $OUT/ncu.csv | head -8
done
ab 2
# Why GELU-4096 int8's [out,in] code GEMVs take 5 us more at T = 2 than at T = 1: ncu sections of both GEMVs, main.
for t in 1 2; do
  echo "== ncu gelu_i8_h4096 [out,in] T = $t, the GEMVs (last two launches)"
  timeout 150 ncu --clock-control none -k regex:gemv_oi --section SpeedOfLight --section WarpStateStats \
    --section SchedulerStats --section MemoryWorkloadAnalysis --section Occupancy \
    $B --block gelu_i8_h4096 --tokens $t --reps 2 --no-tune --layout out_in > $OUT/ncu-gemv-t$t.txt 2>&1
  grep -E "dsmlp_gemv|Duration|DRAM Throughput|Memory Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Stall|Achieved Occupancy|Registers Per|Shared Memory Configuration|L1/TEX Hit|Mem Busy|Max Bandwidth" $OUT/ncu-gemv-t$t.txt | tail -32
done
# The model families at H = 1232 / 4096 (gpt2 / bloom / bert [in,out] at 4096: split second GEMVs at T = 1), if time is left.
(cd build-gpu && CK_RUN_CASE=family DSMLP_COMPILE_THREADS=16 timeout 240 ./tests/test_gpu_mlp_family 2>&1 |
  grep -E "FAIL|T=1 |Checks|model families|worst" | tail -30)
