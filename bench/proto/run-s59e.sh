#!/usr/bin/env bash
# Fifty-ninth session, last call: the code kernels' one-a-SM twins (main: built for a GEMM of 59..132 row tiles, taken
# where the tiles fill 3/4 of the SMs and no more) against head (682fb46: the L2 prefetch, no twins) and both
# (mixed-one-every-gemm.patch: twins for every GEMM of <= 132 tiles, taken wherever the tiles fit the SMs), two rounds;
# the standing of main (T = 1..1024); peers.py; then the GPU tests that run the twins (test_gpu_quant mixed with the
# twin shapes, heuristic; test_gpu_mlp_family family) as separate processes.
#   prep: build_variant.sh both; head = 682fb46's dsmlp-bench; store_prefill.sh build-gpu/bin/s59/store-f.tar.xz
#   bash bench/proto/run-s59e.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s59/store-f.tar.xz
B=build-gpu/bin/dsmlp-bench H=build-gpu/bin/old/dsmlp-bench-head V=build-gpu/bin/var/both
run() {   # label binary layout tokens reps
  timeout 90 $2 --block $blk --tokens $4 --reps $5 --no-tune --layout $3 2>&1 | grep "T=" |
    awk -v l="$1" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
for r in 1 2; do
  for blk in gelu_i8_h4096 gelu_fp8_h4096 swiglu_i8_h4096; do
    echo "== twins r$r $blk"
    run head $H out_in 3,4,8,16,32,64 50
    run main $B out_in 3,4,8,16,32,64 50
    run both $V out_in 3,4,8,16,32,64 50
  done
done
echo "== standing (main)"
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
  timeout 120 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
done
mkdir -p /tmp/c-peers; tar -xJf build-gpu/bin/s59/store-f.tar.xz -C /tmp/c-peers
DSMLP_COMPILE_THREADS=16 DSMLP_CACHE_DIR=/tmp/c-peers timeout 150 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so \
  --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --rounds 2 --layout out_in \
  --json $OUT/peers.json > $OUT/peers.log 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" $OUT/peers.log
echo "== GPU tests"
unset DSMLP_CACHE_DIR
export DSMLP_COMPILE_THREADS=4
run_case() {   # test case
  local t0; t0=$(date +%s)
  CK_RUN_CASE=$2 timeout ${LIMIT:-330} build-gpu/tests/$1 > $OUT/$1-$2.log 2>&1
  echo "$1 case $2: rc $?, $(( $(date +%s) - t0 )) s, $(grep -E '^[0-9]+%:' $OUT/$1-$2.log) $(grep -E 'cases \(' $OUT/$1-$2.log | tail -1 | cut -c1-120)"
}
run_case test_gpu_quant mixed & run_case test_gpu_quant heuristic & run_case test_gpu_mlp_family family & run_case test_gpu_mlp_family act &
wait
grep -hE "^FAIL" $OUT/*.log | head -20
