#!/usr/bin/env bash
# Fifty-seventh session, call 5: the k split of the mixed / float wgmma kernels at T = 3..32. ncu (call 4) put
# SwiGLU-4096 bf16's second GEMM (n 4096, k 14336) at 46-47 us alone (2.5 TB/s) against the first's 83 (2.8 TB/s).
# sp = main + mixed-pick-print.patch (prints each mixed step's pick once: tokens, split, cluster); the pick's
# two-groups knob DSMLP_MIXED_TWO_GROUPS 1 (default: two groups where they split k 5/4 as far), 0 (never), 2 (always
# where they fit), on SwiGLU-4096 bf16 and GELU / SwiGLU-4096 int8, two rounds.
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh sp bench/proto/mixed-pick-print.patch
#         S=build-gpu/bin/var/sp; bash bench/store_prefill.sh build-gpu/bin/s57/store-d.tar.xz 3,4,8,16,32 \
#           $S:swiglu_bf16_h4096 $S:gelu_i8_h4096 $S:swiglu_i8_h4096
#   bash bench/proto/run-s57d.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s57/store-d.tar.xz
S=build-gpu/bin/var/sp
for r in 1 2; do
  for blk in swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096; do
    for tg in 1 0 2; do
      DSMLP_MIXED_TWO_GROUPS=$tg timeout 60 $S --block $blk --tokens 3,4,8,16,32 --reps 50 --no-tune --layout out_in > $OUT/sp-$r-$blk-$tg.log 2>&1
      grep "T=" $OUT/sp-$r-$blk-$tg.log | awk -v l=tg$tg-r$r '{print l, $1, $2, $4, $6}'
      [ $r = 1 ] && grep mixed-pick $OUT/sp-$r-$blk-$tg.log | sort -k9,9n -k3,3n | uniq |
        awk -v l="tg$tg $blk picks (n/T:split/cluster)" 'BEGIN{printf "%s", l} {printf " %s/%s:%s/%s", $5, $9, $13, $15} END{print ""}'
    done
  done
  echo "round $r done $SECONDS s (knob-round block T as-loaded main-steps us)"
done
