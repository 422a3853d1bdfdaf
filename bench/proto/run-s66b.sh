#!/usr/bin/env bash
# Sixty-fifth session (not run; run-s66c.sh holds the same probe and the dpf A/B, run-s65.sh stays for an H200): the pair-kernel stream probe (now with phase 2's cluster sums and consumer holds up to 2400
# cycles), then run-s65.sh (standing T = 1..1024, peers.py; on an H200 also the wide decode GEMVs' DRAM-rate decision).
#   prep: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu
#   carry: build-gpu/bin build-gpu/lib     (~220 s on an H100, ~440 on an H200)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
timeout 120 build-gpu/bin/pair_stream; echo "== pair_stream rc $? in $(( $(date +%s) - t0 )) s"
[ "${PAIR_ONLY:-0}" = 1 ] || bash bench/proto/run-s65.sh
echo "== run-s66b.sh took $(( $(date +%s) - t0 )) s"
