#!/usr/bin/env bash
# Seventy-seventh session (~300 s on an H100): the trigger by successor (dsmlpR_mixed_next_early: a code kernel lets
# the next GEMM start early only where that one runs without clusters) against the landed trigger (c4305dd's build,
# build-main/landed), two rounds, GELU- / SwiGLU-4096 int8 at T = 3..32 as loaded and with DSMLP_MIXED_SERIAL_SPLIT=0
# (where the landed trigger lost 6-7 us on an H200); the float blocks once (unchanged by construction); then the GPU
# tests that reach the mixed kernels, side by side: test_gpu_quant mixed (also with DSMLP_MIXED_SERIAL_SPLIT=0),
# mixed_clusters, mixed_two_groups, heuristic, quant; test_gpu_wgmma; test_gpu_stream stream. Between them, with TUNED=1:
# what dsmlp_plan_tune makes of four blocks at T = 16 / 64 / 128 against the rule.
#   prep: bench/store_prefill.sh build-gpu/bin/s106/store.tar.xz 3,8,16,32 over build-main/landed/dsmlp-bench and
#         build-gpu/bin/dsmlp-bench x gelu_i8_h4096 swiglu_i8_h4096, with and without DSMLP_MIXED_SERIAL_SPLIT=0, and
#         build-gpu/bin/dsmlp-bench x gelu_f16_h4096 swiglu_bf16_h4096 at 3,8,16,32,64,128
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-main/landed
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s106/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=3,8,16,32
a() { bench_run landed build-main/landed/dsmlp-bench out_in $TL 50; }
b() { bench_run next build-gpu/bin/dsmlp-bench out_in $TL 50; }
c() { bench_run landed-ss0 build-main/landed/dsmlp-bench out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=0; }
d() { bench_run next-ss0 build-gpu/bin/dsmlp-bench out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=0; }
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do
    echo "== $blk r$r"
    if [ $r = 1 ]; then a; b; c; d; else d; c; b; a; fi
  done
done
for blk in gelu_f16_h4096 swiglu_bf16_h4096; do echo "== $blk"; bench_run next build-gpu/bin/dsmlp-bench out_in 3,8,16,32,64,128 50; done
if [ -n "${TUNED:-}" ]; then
  echo "== tuned (dsmlp_plan_tune) against as loaded, at $(( $(date +%s) - t0 )) s"
  for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096; do
    timeout 150 build-gpu/bin/dsmlp-bench --block $blk --tokens 16,64,128 --reps 50 --layout out_in 2>&1 | grep "T="
  done
fi
L=$(( ${LIMIT:-400} - ($(date +%s) - t0) ))
echo "== A/B done at $(( $(date +%s) - t0 )) s; the GPU tests, $L s each"
export CASE_THREADS=2
for c in mixed mixed_clusters mixed_two_groups heuristic quant; do gpu_case test_gpu_quant $c $c $L & done
gpu_case test_gpu_quant mixed mixed-ss0 $L DSMLP_MIXED_SERIAL_SPLIT=0 &
gpu_case test_gpu_stream stream stream $L &
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=2 timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/case-wgmma.log 2>&1; echo "test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s106.sh took $(( $(date +%s) - t0 )) s"
