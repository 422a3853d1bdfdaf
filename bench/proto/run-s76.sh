#!/usr/bin/env bash
# Prepared in the sixty-ninth session (its start was refused: too little budget left; ~150 s on an H100): where main
# (the interleaved k split landed) stands: dsmlp-bench `[out,in]` T = 1..1024 for the six 4096-wide blocks, then
# bench/peers.py (torch.compile, eager, cuBLAS GEMMs alone) for GELU / SwiGLU at T = 1..128, two interleaved rounds.
# prep: the store in build-gpu/bin/s62d (or STORE=path: run-s93.sh) (bench/store_prefill.sh over the six blocks, T = 1,2,3,4,8,16,32,64,128,1024).
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh "${STORE:-build-gpu/bin/s62d/store.tar.xz}"
export DSMLP_COMPILE_THREADS=16
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
  timeout 60 build-gpu/bin/dsmlp-bench --block $blk --tokens 1,2,3,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 |
    grep "T=" | awk -v b=$blk '{printf "%s %s | ", $2, $4} END {print "  " b}'
done
timeout 120 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,4,16,64,128 \
  --blocks gelu_f16_h4096,swiglu_bf16_h4096 --reps 100 --rounds 2 --layout out_in \
  --json "$OUT/peers.json" > "$OUT/peers.log" 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" "$OUT/peers.log"
