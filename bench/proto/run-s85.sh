#!/usr/bin/env bash
# Seventy-second session (~200 s): main with ds_mma64's stray `#pragma unroll` removed (it preceded a declaration:
# nvcc warning #607 in every code kernel; the loop below keeps its own): test_gpu_quant (mixed, heuristic, quant) and
# test_gpu_wgmma on the GPU, GELU-4096 / SwiGLU-4096 int8 timed as loaded.
#   prep: bench/store_prefill.sh build-gpu/bin/s85/store.tar.xz 3,16,64 build-gpu/bin/dsmlp-bench:{gelu,swiglu}_i8_h4096
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s85/store.tar.xz
C=build-gpu/bin/dsmlp-bench
for blk in gelu_i8_h4096 swiglu_i8_h4096; do bench_run main $C out_in 3,16,64 50; done
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=4 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-500} - ($(date +%s) - t0) ))
for c in mixed heuristic quant; do
  ( CK_RUN_CASE=$c timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-$c.log 2>&1; echo "test_gpu_quant $c rc $?" ) &
done
( timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "test_gpu_wgmma rc $?" ) &
wait
for f in $OUT/quant-*.log $OUT/wgmma.log; do echo "$(basename $f): $(grep -E '^[0-9]+%:|cases \(' $f | tr '\n' ' ' | cut -c1-300)"; grep -m3 -i "fail" $f; done
echo "== run-s85.sh took $(( $(date +%s) - t0 )) s"
