#!/usr/bin/env bash
# Seventy-second session (~90 s): does a GEMM 1 on mma.sync with W1 in fragment order (fused_tc.cuh's phase 1: 16 warps
# a SM, each lane's codes straight from global memory into registers, x normalized into shared memory by every block)
# stream W1 faster than main's code kernel (ncu: 28.2 us, 2.39 TB/s at T = 8 on an H100)? `fused_decode p1`: W1's read
# stream and phase 1 alone (graph replays), then ncu of phase 1 and of the read stream (rows 2 and 3: T = 8, 16).
#   build: nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fopenmp bench/proto/fused_decode.cu -lcublasLt \
#          $(gcc -print-file-name=libgomp.a) -o build-gpu/bin/fused_decode
#   carry: build-gpu/bin/fused_decode
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 200 build-gpu/bin/fused_decode p1; echo "fused_decode p1 rc $?"
for n in 2 3; do
  for k in tc_phase1 read_stream; do
    timeout 100 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
      --kernel-name regex:$k --launch-skip 10 --launch-count 4 build-gpu/bin/fused_decode p1 $n > $OUT/ncu-p1-$n-$k.csv 2>&1
    echo "ncu row $n $k rc $?"; python3 bench/proto/ncu_by_kernel.py $OUT/ncu-p1-$n-$k.csv | tail -3
  done
done
