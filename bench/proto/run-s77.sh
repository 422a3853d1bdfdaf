#!/usr/bin/env bash
# (Historical: the walk was removed in 2c1b89b, measured slower; to rerun, git apply bench/proto/mixed-stream-k-walk.patch first.)
# Seventieth session, first call (~350-450 s on an H100): the stream-K walk (the working tree: exec_mixed.c
# stream_k_blocks, templates/mixed.cu ds_sk_segments) by its rule (DSMLP_MIXED_STREAM_K=1; the default is 0) against the
# same binary with it off (=0), SwiGLU-4096 int8 / bf16 / fp8, two rounds, the order alternated (WITH_MAIN=1: main,
# build-gpu/bin/var/main = HEAD before the change, once); then its GPU tests: test_gpu_quant mixed_stream_k and mixed, test_gpu_wgmma (every_T, two groups,
# stream-K).
#   prep: (WITH_MAIN only) build-gpu/bin/var/main = 9795c34's dsmlp-bench (before the walk); the store:
#         SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s77/store.tar.xz
#         1,2,3,4,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:BLOCK (and main:BLOCK) for swiglu_i8_h4096,
#         swiglu_bf16_h4096, swiglu_fp8_h4096, gelu_i8_h4096 (~1-5 min here)
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s77/store.tar.xz
export DSMLP_COMPILE_THREADS=16
M=build-gpu/bin/var/main C=build-gpu/bin/dsmlp-bench TL=3,16,64,128,256
for r in 1 2; do
  for blk in swiglu_i8_h4096 swiglu_bf16_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run sk0 $C out_in $TL 50 DSMLP_MIXED_STREAM_K=0; bench_run sk $C out_in $TL 50 DSMLP_MIXED_STREAM_K=1
    else bench_run sk $C out_in $TL 50 DSMLP_MIXED_STREAM_K=1; bench_run sk0 $C out_in $TL 50 DSMLP_MIXED_STREAM_K=0; fi
  done
done
[ -n "$WITH_MAIN" ] && for blk in swiglu_i8_h4096 gelu_i8_h4096; do echo "== $blk main"; bench_run main $M out_in $TL 50; done
echo "== A/B done at $(( $(date +%s) - t0 )) s; tests"
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=4 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
L=$(( ${LIMIT:-585} - ($(date +%s) - t0) ))
for c in mixed_stream_k mixed; do
  ( CK_RUN_CASE=$c timeout $L build-gpu/tests/test_gpu_quant > $OUT/quant-$c.log 2>&1; echo "test_gpu_quant $c rc $?" ) &
done
( timeout $L build-gpu/tests/test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "test_gpu_wgmma rc $?" ) &
wait
for f in $OUT/quant-*.log $OUT/wgmma.log; do echo "$(basename $f): $(grep -E '^[0-9]+%:|cases \(' $f | tr '\n' ' ' | cut -c1-400)"; grep -m5 FAIL $f; done
echo "== run-s77.sh took $(( $(date +%s) - t0 )) s"
