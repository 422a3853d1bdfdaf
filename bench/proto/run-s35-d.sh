#!/bin/bash
# session 35, call 4: GPU suites on 0719e24 (DS_XSTAGE), then issue 10's large-T ratios in one run: f16/bf16 blocks
# vs int8/fp8 at T = 1024, and the mixed kernels pinned (DSMLP_MIXED_GEMM=2) vs off (0) at T = 2048..4096 (the
# rule's MIXED_MAX_T). carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-gpu/run-d.sh
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
timeout 400 ctest --test-dir build-gpu -L gpu -E test_gpu_stream -j 8 --timeout 390 > $OUT/ctest.log 2>&1; echo "ctest rc=$? $((SECONDS-s0))s"
grep -E "tests passed|Passed|Failed|Skipped|\*\*\*" $OUT/ctest.log | head -20
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
B=build-gpu/bin/dsmlp-bench
for b in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
  DSMLP_CACHE_DIR=/tmp/c-d timeout 60 $B --block $b --tokens 1024 --reps 20 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
  echo "T1024 $b $(row) $((SECONDS-s0))s"
done
for b in gelu_i8_h4096 swiglu_i8_h4096; do
  for m in 2 0; do
    DSMLP_MIXED_GEMM=$m DSMLP_CACHE_DIR=/tmp/c-d timeout 90 $B --block $b --tokens 2048,3072,4096 --reps 10 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
    echo "MIXED_GEMM=$m $b $(row) $((SECONDS-s0))s"
  done
done
