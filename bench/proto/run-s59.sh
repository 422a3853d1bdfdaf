#!/usr/bin/env bash
# Fifty-ninth session, first call, on whichever card comes.
# 1. pf (bench/proto/gemv-l2-prefetch.patch): the decode GEMVs ask L2 for the first XPF_LINES 128-byte lines of each
#    row their warps read first, before the norm stage (XPF_ALL: before x's staging too, the second GEMV), so HBM
#    streams while the blocks compute x (the fiftieth session: all 256 blocks compute the norm before any weight load;
#    no norm stage at all was 2-2.5 us at T = 1). pf without XPF_LINES is the same code without the prefetch.
# 2. q1 (bench/proto/codes-one-per-sm.patch): the int8 / fp8 code kernels of <= 64 tokens one a SM too (as the float
#    ones since 22d02be: 6-10 stages, setmaxnreg 40 / 232) against main's two a SM, T = 3..128.
# 3. On an H200 only: main (22d02be's float kernels one a SM) against 5911d99 where that acts there, and the float
#    pair pinned (DSMLP_MIXED_GEMM=2) against as loaded at T = 3..64 (the pair rule's 4 TB/s limit).
#   prep: bench/build_variant.sh pf / q1 (VARIANT_TESTS=test_gpu_quant); stores per the session's RESULTS section
#   bash bench/proto/run-s59.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s59/store-b.tar.xz
B=build-gpu/bin/dsmlp-bench O=build-gpu/bin/old/dsmlp-bench-base Q=build-gpu/bin/var/q1 P=build-gpu/bin/var/pf
run() { bench_run "$@"; }   # device-env.sh
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== pf r$r $blk"
    run pf0 $P out_in 1,2 50
    run pf8 $P out_in 1,2 50 XPF_LINES=8
    run pf8all $P out_in 1,2 50 XPF_LINES=8 XPF_ALL=1
    run pf16all $P out_in 1,2 50 XPF_LINES=16 XPF_ALL=1
  done
done
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== q1 r$r $blk"
    run main $B out_in 3,4,8,16,32,64,128 50
    run q1 $Q out_in 3,4,8,16,32,64,128 50
  done
done
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for r in 1 2; do
    for spec in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in gelu_f16_h4096:in_out bert_f16_h768:out_in; do
      IFS=: read blk lay <<< "$spec"
      echo "== h200 r$r $blk $lay"
      run base $O $lay 1,2,3,8,16,32,64,128 50
      run main $B $lay 1,2,3,8,16,32,64,128 50
    done
    for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
      echo "== h200 pair r$r $blk"
      run main $B out_in 3,8,16,32,64 50
      run pinned $B out_in 3,8,16,32,64 50 DSMLP_MIXED_GEMM=2
    done
  done
fi
