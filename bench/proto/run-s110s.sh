#!/usr/bin/env bash
# Eightieth session's last call (<= 590 s): main after 5839f25 (the second code GEMM's GEMV for T = 1 only behind a
# wide first GEMM) as loaded on whichever card comes, dsmlp-bench `[out,in]` T = 1..16 for the four 4096-wide code
# blocks; then the GPU suite that test_gpu_quant quant / error / heuristic / mixed (run-s110.sh) did not cover.
# Short of device time: SKIP_BENCH=1 drops the timings, STREAM_CASES="stream small" the ring case (147 s alone).
# NCU128=1 (eighty-first session) ends with ncu's stall, pipe and memory sections of GELU- / SwiGLU-4096 int8's
# 128-token code kernels (issue 10's T = 128 miss; the store holds them; ~60-120 s), part (1) of run-s108.sh never run,
# then (eighty-fourth session) the first GEMM's stall samples per SASS line (ncu_sass; ~60-100 s more).
#   store: build-gpu/bin/s110/store.tar.xz
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s110/store.tar.xz
export DSMLP_COMPILE_THREADS=16
# The timings and the suite's lines go to $OUT/summary.txt too, printed again at the end: ncu's sections pushed them
# out of run's last 12,000 characters (eighty-third session), and run returns only 8 files.
{
[ -n "$SKIP_BENCH" ] || for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
  echo "== $blk"; bench_run main build-gpu/bin/dsmlp-bench out_in 1,2,3,4,8,16 50
done
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
QUANT_CASES="mixed_two_groups mixed_clusters" STREAM_CASES="${STREAM_CASES:-stream ring small}" DSMLP_COMPILE_THREADS=3 \
  LIMIT=${LIMIT:-450} bash bench/proto/run-s55-suite.sh
} 2>&1 | tee "$OUT/summary.txt"
if [ -n "$NCU128" ]; then   # the carried store (DSMLP_CACHE_DIR): the block above unset it in its own subshell only
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do ncu_sections mixed128 $blk 128 0 1; ncu_sections mixed128 $blk 128 1 1; done
  # Where the first GEMM's warps wait, by SASS line (eighty-fourth session): the sections above say latency-bound,
  # not on what; mbarrier loops would mean the copies, WARPGROUP.DEPBAR the tensor pipe, LDS / PRMT the conversion
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do ncu_sass mixed128 $blk 128 0; done | tee "$OUT/sass-summary.txt"
fi
echo "==== summary (again)"; grep -vE "^ *Start|^$" "$OUT/summary.txt"
[ -f "$OUT/sass-summary.txt" ] && cat "$OUT/sass-summary.txt"
