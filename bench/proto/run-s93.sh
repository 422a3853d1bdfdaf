#!/usr/bin/env bash
# Seventy-third session (~200 s): where main stands with the k split without clusters landed (0b8d087), on the card
# the goals are set on when the call gets an H200 (else an H100): dsmlp-bench `[out,in]` T = 1..1024 for the six
# 4096-wide blocks, bench/peers.py (torch.compile, eager, cuBLAS GEMMs alone) for GELU / SwiGLU f16/bf16 at
# T = 1..128, two interleaved rounds; then ncu per kernel where issue 10 still misses on the H100: GELU-4096 int8
# T = 16, SwiGLU-4096 int8 T = 16.
#   prep: bench/store_prefill.sh build-gpu/bin/s93/store.tar.xz 1,2,3,4,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:BLOCK
#         for the six blocks below (~70 s here)
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s93/store.tar.xz
export DSMLP_COMPILE_THREADS=16
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
  timeout 60 build-gpu/bin/dsmlp-bench --block $blk --tokens 1,2,3,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 |
    grep "T=" | awk -v b=$blk '{printf "%s %s | ", $2, $4} END {print "  " b}'
done
timeout 120 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,4,16,64,128 \
  --blocks gelu_f16_h4096,swiglu_bf16_h4096 --reps 100 --rounds 2 --layout out_in \
  --json "$OUT/peers.json" > "$OUT/peers.log" 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" "$OUT/peers.log"
ncu_prof g16 out_in gelu_i8_h4096 16
ncu_prof s16 out_in swiglu_i8_h4096 16
