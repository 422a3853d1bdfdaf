#!/usr/bin/env bash
# Fifty-eighth session: the pair through an activation step (erf-GELU; lower.c pair_rows): gelu_erf_f16_h4096
# as loaded, main against noerf (main + pair-no-act-step.patch: the rule of 22d02be, cuBLASLt + the erf kernel at
# T <= 32 `[out,in]` / 64 `[in,out]`), both layouts, two rounds; then test_gpu_mlp_family's act case (with two pair
# cases: erf f16 `[out,in]` and SiLU bf16 `[in,out]`, H 2048, I 16384).
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh noerf bench/proto/pair-no-act-step.patch
#         B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/noerf
#         SEED=build-gpu/bin/s58/store-i.tar.xz bash bench/store_prefill.sh /tmp/sj1.tar.xz 1,2,3,8,16,32,64,128 $B:gelu_erf_f16_h4096 $V:gelu_erf_f16_h4096
#         LAYOUT=in_out SEED=/tmp/sj1.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store-j.tar.xz 1,2,3,8,16,32,64,128 \
#           $B:gelu_erf_f16_h4096 $V:gelu_erf_f16_h4096
#   bash bench/proto/run-s58j.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests
. bench/proto/device-env.sh build-gpu/bin/s58/store-j.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/noerf
for r in 1 2; do for lay in out_in in_out; do for b in noerf main; do bin=$B; [ $b = noerf ] && bin=$V
  echo "r$r $lay $b: $(timeout 90 $bin --block gelu_erf_f16_h4096 --tokens 1,2,3,8,16,32,64,128 --reps 50 --no-tune --layout $lay 2>&1 | grep "T=" | awk '{printf "%s %s ", $2, $4}')"
done; done; done
export DSMLP_COMPILE_THREADS=16 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
CK_RUN_CASE=act timeout 240 build-gpu/tests/test_gpu_mlp_family > $OUT/act.log 2>&1; echo "mlp_family act rc $?"
grep -E "^==|cases \(|Checks|FAIL|worst|pair" $OUT/act.log | cut -c1-200 | head -20
