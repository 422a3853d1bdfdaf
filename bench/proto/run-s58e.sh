#!/usr/bin/env bash
# Fifty-eighth session: the 64-token float wgmma kernels one a SM with one-a-SM stages and registers (f1 = main +
# float-one-per-sm.patch: minb 1 for float weights, so 160 KiB of stages (6 of 24 KiB, not 4) and setmaxnreg 40 / 232;
# + mixed-pick-print.patch). Call 5 (XONE=1: the same kernels launched one a SM) read GELU-4096 f16 pinned 1.0-2.1 us
# faster at T = 16 / 32 than main as loaded, SwiGLU-4096 level to 1 us slower. main vs f1, as loaded and pinned
# (DSMLP_MIXED_GEMM=2), T = 3..128, two rounds; f1's picks; f1's test_gpu_wgmma.
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh f1 bench/proto/float-one-per-sm.patch bench/proto/mixed-pick-print.patch
#         B=build-gpu/bin/dsmlp-bench; V=build-gpu/bin/var/f1; SEED=build-gpu/bin/s58/store-d.tar.xz bash bench/store_prefill.sh \
#           build-gpu/bin/s58/store-f.tar.xz 3,8,16,32,64,128 $B:gelu_f16_h4096 $B:swiglu_bf16_h4096 $V:gelu_f16_h4096 \
#           $V:swiglu_bf16_h4096 $V:gelu_f16_h4096:3,8,16,32,64,128:DSMLP_MIXED_GEMM=2 \
#           $B:gelu_f16_h4096:3,8,16,32,64,128:DSMLP_MIXED_GEMM=2 $V:swiglu_bf16_h4096:3,8,16,32,64,128:DSMLP_MIXED_GEMM=2
#   bash bench/proto/run-s58e.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-f.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/f1
( DSMLP_COMPILE_THREADS=4 timeout 200 $V-test_gpu_wgmma > $OUT/f1-wgmma.log 2>&1; echo "f1 test_gpu_wgmma rc $?: $(grep -E 'cases \(|Checks' $OUT/f1-wgmma.log | tr '\n' ' ')" > $OUT/f1-wgmma.sum ) &
for b in gelu_f16_h4096 swiglu_bf16_h4096; do for m in 1 2; do
  DSMLP_MIXED_GEMM=$m timeout 60 $V --block $b --tokens 3,8,32,64,128 --reps 5 --no-tune --layout out_in 2>&1 | grep mixed-pick |
    sort -u -k9,9n -k3,3n | awk -v l="f1 $b mixed=$m" '{printf "T%s n%s s%s c%s; ", $9, $5, $13, $15} END {print " " l}'
done; done
run() {   # label binary env...
  local l=$1 bin=$2; shift 2
  env "$@" timeout 60 $bin --block $blk --tokens 3,8,16,32,64,128 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk -v l="$l" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== r$r $blk"
    run "main as loaded" $B DSMLP_MIXED_GEMM=1
    run "f1 as loaded" $V DSMLP_MIXED_GEMM=1
    run "main pinned" $B DSMLP_MIXED_GEMM=2
    run "f1 pinned" $V DSMLP_MIXED_GEMM=2
  done
done
wait; cat $OUT/f1-wgmma.sum
