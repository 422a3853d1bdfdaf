#!/usr/bin/env bash
# Sixtieth session, call 7: the GPU tests that run the mixed-input kernels, on 9a81c66 (the prefetch instruction moved
# into ds_prefetch_l2): test_gpu_quant mixed / mixed_two_groups / quant, test_gpu_mlp_family act (erf-GELU and SiLU on
# int8 through the mixed kernels), side by side.   carry: build-gpu/lib build-gpu/tests/test_gpu_quant
# build-gpu/tests/test_gpu_mlp_family
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu DSMLP_COMPILE_THREADS=4
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
run_case() {   # test case
  local t0; t0=$(date +%s)
  CK_RUN_CASE=$2 timeout 380 build-gpu/tests/$1 > /tmp/$1-$2.log 2>&1
  echo "$1 $2: rc $?, $(( $(date +%s) - t0 )) s: $(grep -E 'cases|^[0-9]+%|weights|act' /tmp/$1-$2.log | tr '\n' ' ' | cut -c1-260)"
}
for c in mixed mixed_two_groups quant; do run_case test_gpu_quant $c & done
run_case test_gpu_mlp_family act &
wait
