#!/usr/bin/env bash
# Fifty-ninth session, fourth call: with the L2 prefetch the decode GEMVs got 4.5-6.3 us faster at T = 1 / 2, so
# where they hand over to the mixed / wgmma kernels is measured again: dm = main + gemv-codes-to-8.patch (the GEMVs
# on codes may serve past T = 2), DSMLP_DECODE_MAX_TOKENS 4 / 8 against main as loaded (GEMVs to T = 2; [in,out] 1).
#   prep: build_variant.sh dm; store_prefill.sh build-gpu/bin/s59/store-e.tar.xz (see the session's RESULTS section)
#   bash bench/proto/run-s59d.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s59/store-e.tar.xz
B=build-gpu/bin/dsmlp-bench D=build-gpu/bin/var/dm
run() { bench_run "$@"; }   # device-env.sh
for r in 1 2; do
  for spec in gelu_i8_h4096:out_in swiglu_i8_h4096:out_in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in \
              bert_f16_h768:out_in gelu_f16_h4096:in_out; do
    IFS=: read blk lay <<< "$spec"
    echo "== r$r $blk $lay"
    run main $B $lay 1,2,3,4,6,8 50
    run dm4 $D $lay 1,2,3,4,6,8 50 DSMLP_DECODE_MAX_TOKENS=4
    run dm8 $D $lay 1,2,3,4,6,8 50 DSMLP_DECODE_MAX_TOKENS=8
  done
done
