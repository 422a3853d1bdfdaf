#!/usr/bin/env bash
# Fifty-sixth session, call 3: every column (as loaded, main steps, the weight-streaming route pinned) of the int8 /
# fp8 4096-wide blocks at T = 2..16 (call 2 saw the route, with the mixed kernels off, beat them at GELU int8 T = 2 / 3),
# and the f16 / bf16 blocks at T = 3..32 as loaded against the wgmma kernels at every T (DSMLP_MIXED_GEMM=2).
#   bash bench/proto/run-s56b.sh    carry: build-gpu/bin, build-gpu/lib (store: build-gpu/bin/s56/store.tar.xz)
export DSMLP_COMPILE_THREADS=16
. bench/proto/device-env.sh build-gpu/bin/s56/store.tar.xz
B=build-gpu/bin/dsmlp-bench
s0=$SECONDS
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    timeout 60 $B --block $blk --tokens 2,3,4,8,16 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/q r$r /"
  done
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    timeout 60 $B --block $blk --tokens 3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/auto r$r /"
    DSMLP_MIXED_GEMM=2 timeout 60 $B --block $blk --tokens 3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 |
      grep "T=" | sed "s/^/wgmma r$r /"
  done
  echo "round $r done $((SECONDS - s0)) s"
done | cut -c1-170
