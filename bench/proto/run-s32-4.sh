#!/bin/bash
# session 32, call 4 (the last): the norm inside the mixed kernels after the register fix (128-token twins: setmaxnreg
# 64 / 216). test_gpu_wgmma (float, T up to 300), dsmlp-bench DSMLP_MIXED_NORM=0/1, then CK_RUN_CASE=mixed test_gpu_quant.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
stdbuf -oL timeout 170 build-gpu/tests/test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "test_gpu_wgmma rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/wgmma.log | head; grep -c '^ok' $OUT/wgmma.log
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
b1() { local n=$1; shift; local e=(); while [ "$1" != -- ]; do e+=("$1"); shift; done; shift
  env "${e[@]}" DSMLP_CACHE_DIR=/tmp/c4 timeout 90 build-gpu/bin/dsmlp-bench --block $1 --tokens $2 --reps 30 --no-tune --layout $3 --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
  echo "$n $3 $1 $(row) $((SECONDS-s0))s"; }
for nn in 0 1; do b1 "norm$nn" DSMLP_MIXED_NORM=$nn -- swiglu_i8_h4096 2,9,16,64,100 out_in; done
for nn in 0 1; do b1 "norm$nn m2" DSMLP_MIXED_NORM=$nn DSMLP_MIXED_GEMM=2 -- swiglu_bf16_h4096 8,16,32,64,100 out_in; done
for nn in 0 1; do b1 "r2 norm$nn" DSMLP_MIXED_NORM=$nn -- swiglu_i8_h4096 2,9,16,64,100 out_in; done
for nn in 0 1; do b1 "r2 norm$nn m2" DSMLP_MIXED_NORM=$nn DSMLP_MIXED_GEMM=2 -- swiglu_bf16_h4096 8,16,32,64,100 out_in; done
left=$((500 - SECONDS + s0)); [ $left -gt 30 ] || exit 0
CK_RUN_CASE=mixed stdbuf -oL timeout $left build-gpu/tests/test_gpu_quant > $OUT/quant.log 2>&1; echo "test_gpu_quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/quant.log | head; grep -c '^ok' $OUT/quant.log
