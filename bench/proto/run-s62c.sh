#!/usr/bin/env bash
# Sixty-second session: mixed GEMMs whose tiles take more than one wave (SwiGLU-4096's gated first GEMM: 224 one-a-SM
# tiles at T = 65..128, 1.7 waves) split k in clusters of 2 / 3 / 4 (variant msp, bench/proto/mixed-split-waves.patch;
# 224 x 4 = 896 blocks = 7 waves of 32 clusters of 4 on 128 SMs), against main, two rounds.
#   prep: bash bench/proto/prep-s62c.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62c/store.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/msp
for r in 1 2; do
  for blk in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_i8_h8192; do
    echo "== $blk round $r"; bench_run main $B out_in 64,96,128,256,1024 50
    for s in 2 3 4; do bench_run "msp $s" $V out_in 64,96,128,256,1024 50 DSMLP_PROBE_MIXED_SPLIT=$s; done
  done
done
