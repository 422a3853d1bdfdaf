#!/usr/bin/env bash
# Fifty-second session, call 1: the pure-read times of the blocks' weight bytes (bench/proto/read_floor.cu, graph
# replays as dsmlp-bench times a block), then where the int8 decode kernels stall (run-s52-stalls.sh).
#   bash bench/proto/run-s52a.sh    carry: build-gpu/bin/s52 (read_floor), build-gpu/bin/dsmlp-bench, build-gpu/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
build-gpu/bin/s52/read_floor
build-gpu/bin/s52/read_floor | grep -E "rate|one kernel" | head -3   # a second round, first lines only
bash bench/proto/run-s52-stalls.sh
# Per kernel at T = 64 / 128 (issue 10's largest misses past T = 32: int8 / f16 0.815-0.851 at T = 128): every
# kernel of one "as loaded" replay, GELU-4096 int8 and f16, [out,in]. (ncu units: duration ns, bytes.)
for b in gelu_i8_h4096 gelu_f16_h4096; do for t in 64 128; do
  timeout 120 ncu --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv --launch-skip 30 \
    --launch-count 40 build-gpu/bin/dsmlp-bench --block $b --tokens $t --reps 30 --no-tune --layout out_in \
    > $OUT/k-$b-$t.csv 2>&1; echo "== $b T = $t rc $?"; python3 bench/proto/ncu_kernels.py $OUT/k-$b-$t.csv
done; done
