#!/usr/bin/env bash
# Sixty-first session, call 2: ncu of whole dsmlp-bench runs (every launch; floor measurements dropped), per kernel
# name: SwiGLU-8192 / 4096 bf16 [in,out] T = 1 with the decode GEMVs (auto) and cuBLASLt (DSMLP_DECODE_MAX_TOKENS=0);
# the int8 blocks at T = 8, 16 (GELU) and 128 (SwiGLU), [out,in].     carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s61/store.tar.xz
B=build-gpu/bin/dsmlp-bench
prof() {  # label layout block tokens [env...]
  local l=$1 lay=$2 blk=$3 t=$4; shift 4
  echo "== ncu $l: $blk [$lay] T = $t $*"
  env "$@" timeout 150 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    $B --block $blk --tokens $t --reps 2 --no-tune --layout $lay > $OUT/ncu-$l.csv 2>&1
  python3 bench/proto/ncu_by_kernel.py $OUT/ncu-$l.csv | head -14
}
prof h8192-gemv in_out swiglu_bf16_h8192 1
prof h8192-lt in_out swiglu_bf16_h8192 1 DSMLP_DECODE_MAX_TOKENS=0
prof h4096-gemv in_out swiglu_bf16_h4096 1
prof h4096-lt in_out swiglu_bf16_h4096 1 DSMLP_DECODE_MAX_TOKENS=0
prof gelu-i8-8 out_in gelu_i8_h4096 8
prof gelu-i8-16 out_in gelu_i8_h4096 16
prof swiglu-i8-128 out_in swiglu_i8_h4096 128
