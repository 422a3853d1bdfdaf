#!/usr/bin/env bash
# Fifty-fifth session, last call (~390 s of device time left after six failed starts): the codes GEMV to T = 2 against
# T = 1 (int8, one round), then the GPU tests that run GEMVs on codes, in parallel, cut at TOTAL s.
#   TOTAL=180 bash bench/proto/run-s55-last.sh     carry: build-gpu/bin, build-gpu/lib, build-gpu/tests
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=4 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
export DSMLP_CACHE_DIR=/tmp/c-b && mkdir -p $DSMLP_CACHE_DIR
tar -xJf build-gpu/bin/s55/store.tar.xz -C $DSMLP_CACHE_DIR
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
B=build-gpu/bin/dsmlp-bench
for blk in gelu_i8_h4096 swiglu_i8_h4096; do
  timeout 30 $B --block $blk --tokens 1,2,3 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/new /"
  DSMLP_DECODE_MAX_TOKENS=1 timeout 30 $B --block $blk --tokens 1,2,3 --reps 50 --no-tune --layout out_in 2>&1 |
    grep "T=" | sed "s/^/old /"
done | awk '{print $1, $2, $3, $5, $7}'
echo "tests from $SECONDS s"
LIMIT=$((${TOTAL:-180} - SECONDS))
one() {   # test [case]
  local t0=$SECONDS
  if [ -n "${2:-}" ]; then CK_RUN_CASE=$2 timeout $LIMIT build-gpu/tests/$1; else timeout $LIMIT build-gpu/tests/$1; fi \
    > $OUT/$1-${2:-all}.log 2>&1   # (CK_RUN_CASE="" runs no case at all)
  echo "$1 ${2:-all}: rc $?, $((SECONDS - t0)) s, $(grep -E '^[0-9]+%:|cases \(' $OUT/$1-${2:-all}.log | tr '\n' ' ')"
}
one test_gpu_quant heuristic & one test_gpu_quant mixed & one test_gpu_quant quant &
one test_gpu_mlp_family & one test_gpu_stream small & one test_gpu_runtime &
wait
