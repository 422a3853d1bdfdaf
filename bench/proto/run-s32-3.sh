#!/bin/bash
# session 32, call 3: the RMSNorm inside the mixed kernels (mixed_norm). Correctness (test_gpu_wgmma, test_gpu_quant
# mixed, test_gpu_mlp_family), then dsmlp-bench with DSMLP_MIXED_NORM=0 / 1 (separate processes, two rounds).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 150 build-gpu/tests/test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "test_gpu_wgmma rc=$?"; grep -E '^==|^[0-9]+%|FAIL|rel err .*>' $OUT/wgmma.log | head
CK_RUN_CASE=mixed timeout 200 build-gpu/tests/test_gpu_quant > $OUT/quant.log 2>&1; echo "test_gpu_quant mixed rc=$?"; grep -E '^==|^[0-9]+%' $OUT/quant.log; grep -iE 'fail|error' $OUT/quant.log | head -5
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
b1() { local n=$1; shift; local e=(); while [ "$1" != -- ]; do e+=("$1"); shift; done; shift
  env "${e[@]}" DSMLP_CACHE_DIR=/tmp/c3 timeout 120 build-gpu/bin/dsmlp-bench --block $1 --tokens $2 --reps 30 --no-tune --layout $3 --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
  echo "$n $3 $1 $(row)"; }
for r in 1 2; do
  for nn in 0 1; do
    b1 "r$r norm$nn m2" DSMLP_MIXED_NORM=$nn DSMLP_MIXED_GEMM=2 -- swiglu_bf16_h4096 2,8,16,32,64,128 in_out
    b1 "r$r norm$nn m2" DSMLP_MIXED_NORM=$nn DSMLP_MIXED_GEMM=2 -- swiglu_bf16_h4096 2,8,16,32,64,128 out_in
    b1 "r$r norm$nn m1" DSMLP_MIXED_NORM=$nn -- swiglu_bf16_h4096 2,8,16,32,64,128 out_in
    b1 "r$r norm$nn" DSMLP_MIXED_NORM=$nn -- swiglu_i8_h4096 2,9,16,32,64,128,1024 out_in
  done
done
timeout 250 ctest --test-dir build-gpu -R 'test_gpu_mlp_family|test_gpu_layers' --timeout 240 > $OUT/fam.log 2>&1; echo "family/layers rc=$?"; grep -E "tests passed|Failed|\*\*\*" $OUT/fam.log
