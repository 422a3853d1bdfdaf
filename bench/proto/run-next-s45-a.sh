#!/bin/bash
# A device call prepared in sessions 44 and 45 (no device lent in 45): test_gpu_quant's error_vs_unquantized (its own case "error" now; cut by the 500 s limit in call 1
# after every_layout passed, 260 cases) on the tree with act landed, beside the desc variant's GPU tests.
# Before the call (a fresh checkout has no build-gpu): bash bench/proto/prepare-next-s45.sh (about 4 min here; it also builds
# run-next-s45-b.sh's), or only:
#   BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh desc bench/proto/mixed-desc-land.patch
# carry build-gpu/tests/test_gpu_quant build-gpu/bin/var; run: LIMIT=420 bash bench/proto/run-next-s45-a.sh > $OUT/a.log 2>&1
# If desc passes: git apply bench/proto/mixed-desc-land.patch (CHANGELOG, README's kernel bytes, templates/mixed.cu).
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=4
export DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
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
