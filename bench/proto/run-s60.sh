#!/usr/bin/env bash
# Sixtieth session, call 1: the mixed GEMMs ask L2 for their first weight lines at entry, before griddepcontrol.wait,
# with prefetch.global.L2 from every thread (bench/proto/mixed-l2-lines.patch, variant l2l; the lines per row from
# DSMLP_PROTO_MIXED_PF, 0 = main's kernels' behaviour in the same binary). The bulk-copy prefetch of the same idea
# (mixed-l2-prefetch.patch) lost 5-7 us on the H200 in the twenty-first session, where the GEMVs' prefetch.global.L2
# won 4.5-6 us on the H100 in the fifty-ninth. Then the fifty-ninth session's prepared call (run-s59g.sh).
#   prep: bash bench/proto/prep-s59g.sh; VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh l2l \
#         bench/proto/mixed-l2-lines.patch; SEED=build-gpu/bin/s59/store-g.tar.xz bash bench/store_prefill.sh \
#         build-gpu/bin/s60/store.tar.xz 1 l2l:{gelu_i8,swiglu_i8,gelu_fp8}_h4096:1,2,4,8,16,32,64,128,1024
#   bash bench/proto/run-s60.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s60/store.tar.xz
V=build-gpu/bin/var/l2l
TOK=3,4,8,16,32,64,128,1024
for r in 1 2; do
  blk=gelu_i8_h4096; echo "== $blk round $r"
  for pf in 0 4 8 16 32; do bench_run "pf$pf" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF=$pf; done
  for blk in swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk round $r"
    for pf in 0 8 32; do bench_run "pf$pf" $V out_in $TOK 50 DSMLP_PROTO_MIXED_PF=$pf; done
  done
done
timeout 60 env DSMLP_PROTO_MIXED_PF=32 compute-sanitizer --tool memcheck $V --block swiglu_i8_h4096 --tokens 3,64 --reps 1 \
  --no-tune --layout out_in 2>&1 | grep -E "ERROR SUMMARY" | cut -c1-100
bash bench/proto/run-s59g.sh 2>&1 | tail -n +2
