#!/usr/bin/env bash
# Sixty-fifth session (prepared, not run): issue 9's float blocks at T = 3..4 on an H100 (the wide decode GEMVs run on
# cards under 4 TB/s only). Variant w4 (bench/proto/decode-wide-t4.patch: the wide GEMV built for 4 tokens, not 8) and
# w4n (bench/proto/decode-wide-norm.patch: w4, and the GEMV computes the norm where 4 rows of x fit its stage, so the
# norm kernel goes at T = 3..4) against main, both layouts, T = 1..4 and 8, two rounds; then w4n's gemv_wide case.
#   prep: VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh w4 bench/proto/decode-wide-t4.patch
#         VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh w4n bench/proto/decode-wide-norm.patch
#   carry: build-gpu/bin build-gpu/lib      (~240 s on an H100)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && echo "run-s66d.sh: an H200 keeps the main route at T = 3..4 (no wide GEMVs): the A/B says nothing there"
export DSMLP_COMPILE_THREADS=16
t0=$(date +%s)
B=build-gpu/bin/dsmlp-bench
for r in $(seq 1 ${ROUNDS:-2}); do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    for lay in ${LAYOUTS:-out_in in_out}; do
      echo "== $blk $lay r$r"
      bench_run main $B $lay 1,2,3,4,8 50; bench_run w4 build-gpu/bin/var/w4 $lay 1,2,3,4,8 50
      bench_run w4n build-gpu/bin/var/w4n $lay 1,2,3,4,8 50
    done
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
[ "${SKIP_TEST:-0}" = 1 ] && exit 0
CK_RUN_CASE=gemv_wide timeout 200 build-gpu/bin/var/w4n-test_gpu_mlp_family > /tmp/w.log 2>&1
echo "w4n gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/w.log)"; grep -E "^FAIL|cases \(" /tmp/w.log | head -4
echo "== run-s66d.sh took $(( $(date +%s) - t0 )) s"
