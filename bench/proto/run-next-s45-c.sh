#!/bin/bash
# A device call prepared in session 45 (no device lent): the chain's GPU tests (bench/proto/decode-chain.patch: both
# decode GEMVs of a block in one kernel), before its A/B in run-next-s45-b.sh. test_gpu_chain: GELU-4096 f16 /
# SwiGLU-4096 bf16 on float, int8 and fp8 weights at T to the bound and above, ten launches in a row, a CUDA graph;
# test_gpu_quant's heuristic case: four int8 / fp8 layouts of GELU-4096 at T = 1, 2, 3, 4, 8 as loaded (the chain at
# T = 1) and the max_tokens 1 plan.
# Before the call: bash bench/proto/prepare-next-s45.sh (builds build-gpu/bin/var/chain-test_gpu_chain and
# chain-test_gpu_quant). carry build-gpu/bin/var; run: bash bench/proto/run-next-s45-c.sh > $OUT/c.log 2>&1 (<= 400 s)
# If both pass and the A/B wins: git apply bench/proto/decode-chain.patch (and decode-chain-red4.patch where chain4
# passes and beats chain in run-next-s45-b.sh), and README's Performance rows. Where desc
# (mixed-desc-land.patch) landed first, the README hunk (llama3-8b's dsmlp-compile bytes) conflicts: git apply -3 and
# take the number test_docs prints.
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=8
export DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
LIMIT=${LIMIT:-380}
run() {   # name, command...
    local n=$1; shift; local t0=$(date +%s)
    timeout $LIMIT "$@" > $OUT/$n.log 2>&1; local rc=$?
    echo "$n: rc $rc, $(( $(date +%s) - t0 )) s, $(grep -E '^[0-9]+%:' $OUT/$n.log)"
}
run chain-gpu-chain build-gpu/bin/var/chain-test_gpu_chain &
run chain4-gpu-chain build-gpu/bin/var/chain4-test_gpu_chain &   # decode-chain-red4.patch on top
CK_RUN_CASE=heuristic run chain-quant-heuristic build-gpu/bin/var/chain-test_gpu_quant &
wait
grep -E "^(ok|FAIL)" $OUT/chain-gpu-chain.log | head -60; grep -E "^FAIL" $OUT/chain4-gpu-chain.log | head -20; grep -E "^FAIL|T=1 " $OUT/chain-quant-heuristic.log | head -20
