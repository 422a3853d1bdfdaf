#!/usr/bin/env bash
# run-s71.sh's parts reordered for a short lease (the sixty-eighth session lost most of its device time to failed
# starts): one round of each A/B first, mki's test right after its first round, then the second rounds, then (on an
# H200) run-s70.sh. Same binaries and carry as run-s71.sh (build-gpu/bin build-gpu/lib); every line goes to the log
# as it comes, so a call cut by its limit still returns what ran.
t0=$(date +%s)
for ki in 0 1; do KI=$ki timeout 60 build-gpu/bin/pair_stream | grep -E "^card|^k split|alone|two-7"; done
h200=0; nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && h200=1
if [ $h200 = 0 ]; then
  CK_RUN_CASE=gemv_wide DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu DSMLP_COMPILE_THREADS=16 timeout 120 \
    build-gpu/bin/var/main-test_gpu_mlp_family > /tmp/g.log 2>&1
  echo "main (9b2dedd's 4-token wide GEMVs) test_gpu_mlp_family gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/g.log)"
  grep -E "^FAIL|cases \(" /tmp/g.log | head -4
fi
(
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench
mki_round() {
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk out_in r$1"
    bench_run main $B out_in 3,8,16,64,128,1024 50; bench_run mki build-gpu/bin/var/mki out_in 3,8,16,64,128,1024 50
  done
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$1"
    bench_run main $B out_in 3,8,16,64 50; bench_run mki build-gpu/bin/var/mki out_in 3,8,16,64 50
  done
}
npf_round() {
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$1"
    bench_run main $B out_in 3,4,8,16,64,128 50; bench_run npf build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50
    bench_run "npf lines 16" build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50 DSMLP_NPF_LINES=16
    bench_run "npf 4 places x 4 lines" build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50 DSMLP_NPF_LINES=4 DSMLP_NPF_SPLITS=4
  done
}
t2_round() {
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$1"
    bench_run auto $B out_in 1,2,3 50
    bench_run "gemvs to 2" $B out_in 1,2,3 50 DSMLP_DECODE_MAX_TOKENS=2
  done
}
mki_round 1; echo "== mki r1 done at $(( $(date +%s) - t0 )) s"
CK_RUN_CASE=mixed timeout 200 build-gpu/bin/var/mki-test_gpu_quant > /tmp/m.log 2>&1
echo "mki test_gpu_quant mixed rc $?: $(grep -E '^[0-9]+%:' /tmp/m.log)"; grep -E "^FAIL|cases \(" /tmp/m.log | head -4
npf_round 1; echo "== npf r1 done at $(( $(date +%s) - t0 )) s"
[ $h200 = 1 ] && { t2_round 1; echo "== T = 2 r1 done at $(( $(date +%s) - t0 )) s"; }
mki_round 2; npf_round 2; [ $h200 = 1 ] && t2_round 2
echo "== second rounds done at $(( $(date +%s) - t0 )) s"
if [ $h200 = 0 ]; then
  CK_RUN_CASE=gemv_wide timeout 120 build-gpu/bin/var/npf-test_gpu_mlp_family > /tmp/n.log 2>&1
  echo "npf test_gpu_mlp_family gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/n.log)"; grep -E "^FAIL|cases \(" /tmp/n.log | head -4
fi
)
[ $h200 = 1 ] && bash bench/proto/run-s70.sh
echo "== run-s72.sh took $(( $(date +%s) - t0 )) s"
