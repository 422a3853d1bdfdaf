#!/usr/bin/env bash
# (The rule lost: bench/RESULTS.md, fifty-sixth session, call 4; reverted, kept as bench/proto/float-gated-first.patch.)
# Fifty-sixth session, call 4: the float wgmma kernels on a gated [out,in] first GEMM from T = 3 (PLAN_FLOAT_GATED,
# main + the change): SwiGLU-4096 bf16 as loaded against DSMLP_MIXED_GEMM=0 (at T <= 32 that is the old rule: the
# 4096-wide GEMMs on cuBLASLt, the decode GEMV at T <= 2 either way), two rounds; then the GPU tests whose blocks
# now take the kernels as loaded (test_gpu_mlp_cross: gated H 512 at T = 7; test_gpu_mlp_family; test_gpu_wgmma).
#   bash bench/proto/run-s56c.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s56/store.tar.xz
B=build-gpu/bin/dsmlp-bench
for r in 1 2; do
  timeout 40 $B --block swiglu_bf16_h4096 --tokens 1,2,3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/new r$r /"
  DSMLP_MIXED_GEMM=0 timeout 40 $B --block swiglu_bf16_h4096 --tokens 1,2,3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 |
    grep "T=" | sed "s/^/old r$r /"
done | awk '{print $1, $2, $3, $4, $6, $8}'
echo "ab done $SECONDS s"
export DSMLP_COMPILE_THREADS=5
for t in test_gpu_mlp_cross test_gpu_mlp_family test_gpu_wgmma; do
  ( timeout ${LIMIT:-200} build-gpu/tests/$t > $OUT/$t.log 2>&1; echo "$t rc $? at $SECONDS s"; grep -E "^==|cases|worst|Checks|:F:|:E:" $OUT/$t.log | cut -c1-220 ) &
done
wait
