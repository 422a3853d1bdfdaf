#!/bin/bash
# session 30, call 2: the tuner's choice between the float wgmma kernels and cuBLASLt per token bucket.
# carry build-gpu/bin/dsmlp-bench build-gpu/tests/test_gpu_wgmma build-gpu/lib build-gpu/run-tune.sh
# (a) test_gpu_wgmma's "tune" case; (b) dsmlp-bench as loaded vs tuned (each tuned run on a copy of a store that
# holds the kernels and no record), both layouts; (c) bench/peers.py both layouts, issue 9's T, as loaded.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
CK_RUN_CASE=tune timeout 240 build-gpu/tests/test_gpu_wgmma > $OUT/tt.log 2>&1; echo "tune case rc=$?"
grep -E '^[0-9]+%|FAIL|failed|Assert' $OUT/tt.log | head -5
TOK=1,2,8,16,24,32,33,48,64,80,100,128
for lay in out_in in_out; do
  for b in gelu_f16_h4096 swiglu_bf16_h4096; do
    DSMLP_CACHE_DIR=/tmp/base timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens 1 --reps 5 --no-tune --layout $lay > /dev/null 2>&1
    rm -rf /tmp/c2; cp -r /tmp/base /tmp/c2
    DSMLP_CACHE_DIR=/tmp/c2 timeout 150 build-gpu/bin/dsmlp-bench --block $b --tokens $TOK --reps 30 --layout $lay --md $OUT/m.md > $OUT/b-$lay-$b.log 2>&1 || tail -3 $OUT/b-$lay-$b.log
    echo "$lay $b T:loaded/tuned $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | awk -F'|' '{printf "%s:%s/%s ", $4+0, $5+0, $8+0}')"
    grep -E '^  T [0-9]+\.\.|^      \[[0-9]+\] gemm' $OUT/b-$lay-$b.log | sed 's/dsmlp_wgmma\([0-9]*\)_[a-z0-9_]*/wg\1/g; s/dsmlp_gemv_[a-z0-9_]*/gemv/g'
    rm -f $OUT/m.md
  done
done
for lay in in_out out_in; do
  timeout 250 env PYTHONUNBUFFERED=1 DSMLP_CACHE_DIR=/tmp/base python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16,32,64,128 \
    --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --layout $lay > $OUT/peers-$lay.log 2>&1; echo "peers $lay rc=$?"
  grep -E '^card|^measured|^\|' $OUT/peers-$lay.log
done
