#!/usr/bin/env bash
# Sixty-fifth session (run once, H100: bench/RESULTS.md; its probe faulted at HOLD 1600, since fixed): the pair-kernel stream probe (bench/proto/pair_stream.cu: one
# launch streaming GELU-4096 int8's two weights with a grid-wide counter between, against two PDL-chained kernels),
# then run-s65b.sh's ncu rows (~200 s).
#   prep: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu
#   carry: build-gpu/bin build-gpu/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
timeout 120 build-gpu/bin/pair_stream; echo "== pair_stream rc $? in $(( $(date +%s) - t0 )) s"
[ "${PAIR_ONLY:-0}" = 1 ] || bash bench/proto/run-s65b.sh
echo "== run-s66.sh took $(( $(date +%s) - t0 )) s"
