#!/bin/bash
# session 44, call 2: test_gpu_quant's error_vs_unquantized (its own case "error" now; cut by the 500 s limit in call 1
# after every_layout passed, 260 cases) on the tree with act landed, beside the desc variant's GPU tests.
# carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-gpu/var.tar.xz
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=4
export DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
mkdir -p build-gpu/bin && tar -xJf build-gpu/var.tar.xz -C build-gpu/bin
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
LIMIT=${LIMIT:-360}
run() {   # name, command...
    local n=$1; shift; local t0=$(date +%s)
    timeout $LIMIT "$@" > $OUT/$n.log 2>&1; local rc=$?
    echo "$n: rc $rc, $(( $(date +%s) - t0 )) s, $(grep -E '^[0-9]+%:' $OUT/$n.log)"
}
DSMLP_COMPILE_THREADS=8 CK_RUN_CASE=error run quant-act build-gpu/tests/test_gpu_quant &
CK_RUN_CASE=mixed run desc-quant-mixed build-gpu/bin/var/desc-test_gpu_quant &
run desc-wgmma build-gpu/bin/var/desc-test_gpu_wgmma &
wait
grep -E "^==|worst" $OUT/quant-act.log $OUT/desc-quant-mixed.log | head; tail -3 $OUT/desc-wgmma.log
