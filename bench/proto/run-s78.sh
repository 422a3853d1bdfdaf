#!/usr/bin/env bash
# (Historical: the walk was removed in 2c1b89b, measured slower; to rerun, git apply bench/proto/mixed-stream-k-walk.patch first.)
# Seventy-first session, second call (~250 s on an H100): run-s77.sh found the code kernels' stream-K walk hanging
# (the 64-k cross-stage loop left a segment's second-to-last stage unreleased, so the producer waited for ever in the
# next segment; fixed in templates/mixed.cu). Again: stream-K by its rule (DSMLP_MIXED_STREAM_K=1) against off (=0),
# same binary, two rounds alternated, SwiGLU-4096 int8 / fp8, GELU-4096 int8 (and SwiGLU bf16 once: it lost 0-8 us in
# run-s77), then test_gpu_quant's mixed_stream_k, mixed and mixed_two_groups cases.
#   prep: SEED=build-gpu/bin/s77/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s78/store.tar.xz
#         1,2,3,4,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:BLOCK and :BLOCK:3,16,64,128,256 of the blocks below
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s78/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=3,16,64,128,256
for r in 1 2; do
  for blk in swiglu_i8_h4096 gelu_i8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run sk0 $C out_in $TL 50 DSMLP_MIXED_STREAM_K=0; bench_run sk $C out_in $TL 50 DSMLP_MIXED_STREAM_K=1
    else bench_run sk $C out_in $TL 50 DSMLP_MIXED_STREAM_K=1; bench_run sk0 $C out_in $TL 50 DSMLP_MIXED_STREAM_K=0; fi
  done
done
blk=swiglu_bf16_h4096; echo "== $blk out_in"; bench_run sk $C out_in $TL 50 DSMLP_MIXED_STREAM_K=1; bench_run sk0 $C out_in $TL 50 DSMLP_MIXED_STREAM_K=0
echo "== A/B done at $(( $(date +%s) - t0 )) s; tests"
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=4 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-585} - ($(date +%s) - t0) ))
for c in mixed_stream_k mixed mixed_two_groups; do
  ( CK_RUN_CASE=$c timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-$c.log 2>&1; echo "test_gpu_quant $c rc $?" ) &
done
wait
for f in $OUT/quant-*.log; do echo "$(basename $f): $(grep -E '^[0-9]+%:|cases \(' $f | tr '\n' ' ' | cut -c1-400)"; grep -m5 FAIL $f; done
echo "== run-s78.sh took $(( $(date +%s) - t0 )) s"
