#!/usr/bin/env bash
# Fifty-second session, call 1: the pure-read times of the blocks' weight bytes (bench/proto/read_floor.cu, graph
# replays as dsmlp-bench times a block), then where the int8 decode kernels stall (run-s52-stalls.sh).
#   bash bench/proto/run-s52a.sh    carry: build-gpu/bin/s52 (read_floor), build-gpu/bin/dsmlp-bench, build-gpu/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
build-gpu/bin/s52/read_floor
build-gpu/bin/s52/read_floor | grep -E "rate|one kernel" | head -3   # a second round, first lines only
bash bench/proto/run-s52-stalls.sh
