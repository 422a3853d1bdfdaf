#!/usr/bin/env bash
# Fifty-ninth session, second call: how deep the decode GEMVs' L2 prefetch should go (pf = gemv-l2-prefetch.patch,
# now with an [in,out] form: 32 x XPF_LINES lines of the block's first rows), XPF_LINES 16 / 32 / 64 on both GEMVs,
# both layouts, T = 1 / 2; and q1b (codes-one-per-sm-tiles.patch: code kernels two a SM only where a GEMM has more
# than 132 row tiles, SwiGLU-4096's gated first GEMM) against q1 and main on SwiGLU-4096 int8. Two rounds.
#   prep: build_variant.sh pf / q1 / q1b; store: see the session's RESULTS section
#   bash bench/proto/run-s59b.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s59/store-c.tar.xz
B=build-gpu/bin/dsmlp-bench Q=build-gpu/bin/var/q1 Q2=build-gpu/bin/var/q1b P=build-gpu/bin/var/pf
run() { bench_run "$@"; }   # device-env.sh
for r in 1 2; do
  for spec in gelu_i8_h4096:out_in swiglu_i8_h4096:out_in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in \
              bert_f16_h768:out_in gelu_f16_h4096:in_out bert_f16_h768:in_out; do
    IFS=: read blk lay <<< "$spec"
    echo "== pf r$r $blk $lay"
    run pf0 $P $lay 1,2 50
    for l in 16 32 64; do
      [ $lay = in_out ] && [ $l = 64 ] && continue
      run pf${l}all $P $lay 1,2 50 XPF_LINES=$l XPF_ALL=1
    done
  done
  blk=swiglu_i8_h4096
  echo "== q1b r$r $blk"
  run main $B out_in 3,4,8,16,32,64,128 50
  run q1 $Q out_in 3,4,8,16,32,64,128 50
  run q1b $Q2 out_in 3,4,8,16,32,64,128 50
done
