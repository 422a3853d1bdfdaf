#!/bin/bash
# session 25 call 2 (prepared in session 24): where the time goes, HEAD (tlhead) against both prototypes (tlnef), as the
# twenty-fourth session's call 6, plus the f16/bf16 blocks (the decode GEMV and gated kernels now keep timelines too).
# Carry build-tl/bin/var and build-gpu/run-next-tl.sh.
export NCCL_NVLS_ENABLE=0
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
mkdir -p build-tl/bin
TL_BUILD_DIR=build-tl TL_VARIANTS="tlhead tlnef" TL_TOKENS="1 16" \
  TL_BLOCKS="gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096" timeout 560 bash bench/gpu_session.sh timeline
grep -E "^==|^whole|^dsmlp_|SMs x" $OUT/timeline.txt | cut -c1-170; el timeline
