#!/usr/bin/env bash
# Sixty-third session (prepared, not run): where main stands on the card the call gets: dsmlp-bench T = 1..1024 for
# the float, int8 and fp8 4096-wide blocks, then bench/peers.py (torch.compile, eager, cuBLAS GEMMs alone) at T =
# 1..128, two interleaved rounds. Issues 9 and 10 state their goals on an H200: run it there first.
#   carry: build-gpu/bin build-gpu/lib    (~200 s; output: $OUT/peers.json, $OUT/peers.log)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench
for lay in out_in in_out; do
  echo "== standing $lay"
  for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    [ $lay = in_out ] && case $blk in *i8*|*fp8*) continue;; esac   # codes: [out,in] only
    timeout 120 $B --block $blk --tokens 1,2,3,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout $lay 2>&1 | grep "T=" |
      awk -v b=$blk '{printf "%s %s | ", $2, $4} END {print "  " b}'
  done
done
timeout 170 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16,32,64,128 \
  --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --rounds 2 --layout out_in \
  --json $OUT/peers.json > $OUT/peers.log 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" $OUT/peers.log
