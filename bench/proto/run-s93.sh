#!/usr/bin/env bash
# Seventy-third session (~200 s): where main stands with the k split without clusters landed (0b8d087), on the card
# the goals are set on when the call gets an H200 (else an H100): dsmlp-bench `[out,in]` T = 1..1024 for the six
# 4096-wide blocks, bench/peers.py (torch.compile, eager, cuBLAS GEMMs alone) for GELU / SwiGLU f16/bf16 at
# T = 1..128, two interleaved rounds; then ncu per kernel where issue 10 still misses on the H100: GELU-4096 int8
# T = 16, SwiGLU-4096 int8 T = 16.
#   prep: bench/store_prefill.sh build-gpu/bin/s93/store.tar.xz 1,2,3,4,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:BLOCK
#         for the six blocks below (~70 s here)
#   carry: build-gpu/bin build-gpu/lib
STORE=build-gpu/bin/s93/store.tar.xz bash bench/proto/run-s76.sh   # the six blocks, then peers.py
. bench/proto/device-env.sh build-gpu/bin/s93/store.tar.xz > /dev/null
ncu_prof g16 out_in gelu_i8_h4096 16
ncu_prof s16 out_in swiglu_i8_h4096 16
