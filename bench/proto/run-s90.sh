#!/usr/bin/env bash
# Seventy-second session (~120 s): run-s89.sh's serial k split after its fix (the two-groups tail also ran for C = 1
# and overwrote the tile counters: 70 of 222 mixed cases inf). test_gpu_quant mixed under DSMLP_PROTO_SERIAL=1 and 2,
# then one A/B round (main, s2) of GELU-4096 / SwiGLU-4096 int8.
#   prep: SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s90/store.tar.xz 3,8,16,32
#         build-gpu/bin/dsmlp-bench:BLOCK:3,8,16,32[:DSMLP_PROTO_SERIAL=2]
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
export DSMLP_COMPILE_THREADS=6 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-150} - ($(date +%s) - t0) ))
for m in 1 2; do
  ( DSMLP_PROTO_SERIAL=$m CK_RUN_CASE=mixed timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-s$m-mixed.log 2>&1; echo "test_gpu_quant mixed (s$m) rc $?" ) &
done
wait
for m in 1 2; do grep -E '^[0-9]+%:|cases \(' $OUT/quant-s$m-mixed.log | tr '\n' ' ' | cut -c1-300; echo; grep -m5 -i "fail" $OUT/quant-s$m-mixed.log; done
echo "== tests done at $(( $(date +%s) - t0 )) s"
. bench/proto/device-env.sh build-gpu/bin/s90/store.tar.xz > /dev/null
C=build-gpu/bin/dsmlp-bench
for blk in gelu_i8_h4096 swiglu_i8_h4096; do echo "== $blk"; bench_run main $C out_in 3,8,16,32 50; bench_run s2 $C out_in 3,8,16,32 50 DSMLP_PROTO_SERIAL=2; done
echo "== run-s90.sh took $(( $(date +%s) - t0 )) s"
