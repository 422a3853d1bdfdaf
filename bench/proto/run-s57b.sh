#!/usr/bin/env bash
# Fifty-seventh session, call 2: main at e211953 (both GEMMs of a gated [out,in] float block on wgmma at T = 3..32):
# peers.py on its library first (nothing else on the card), then the whole GPU suite (ring case included) in what is
# left of the call.
#   bash bench/proto/run-s57b.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
DSMLP_COMPILE_THREADS=16 DSMLP_CACHE_DIR=/tmp/c-peers PYTHONUNBUFFERED=1 timeout ${PEERS_LIMIT:-220} python3 bench/peers.py \
  --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 \
  --reps 100 --layout out_in > $OUT/peers.log 2>&1
echo "peers rc $? at $SECONDS s"; grep -v "^#" $OUT/peers.log | tail -40 | cut -c1-200
echo "suite from $SECONDS s"
LIMIT=$((${TOTAL:-580} - SECONDS)) bash bench/proto/run-s55-suite.sh
