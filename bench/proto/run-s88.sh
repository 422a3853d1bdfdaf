#!/usr/bin/env bash
# Seventy-second session (~30 s; its second version added the x 7 / x 8 / clusters-of-2 line): why the second code GEMM's split stream is slower than the first's (copy-only,
# pair_stream.cu DIAG: the sixty-seventh session had 31.7 against 25.1 us for the same bytes a block). The GEMM shapes
# on each weight's bytes (W2 read as W1's [16384][4096] and W1 as W2's [4096][16384], 32 tiles x split 4) with and
# without the cluster launch, contiguous k shares and (KI=1) interleaved ones.
#   build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu -lcuda
#   carry: build-gpu/bin/pair_stream
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
DIAG=1 timeout 100 build-gpu/bin/pair_stream; echo "rc $?"
#DIAG=1 KI=1 timeout 100 build-gpu/bin/pair_stream; echo "rc $?"
