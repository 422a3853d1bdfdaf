#!/usr/bin/env bash
# Fifty-eighth session: BERT-base's decode GEMVs past T = 2. peers.py on the H100 (call 2) read BERT f16 12.3 us at
# T = 2 (the GEMVs) and 14.5 at T = 4 (norm kernel + cuBLASLt + split-k reduce), the cuBLAS pair alone 12.6: the
# fifty-sixth session measured the GEMVs to T = 4 on the 4096-wide blocks only (they lost T = 3 / 4 there).
# As loaded against DSMLP_DECODE_MAX_TOKENS=4 / 8, both layouts, tanh and erf, two rounds.
#   bash bench/proto/run-s58b.sh    carry: build-gpu/bin build-gpu/lib
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu DSMLP_CACHE_DIR=/tmp/c-b DSMLP_COMPILE_THREADS=16
mkdir -p /tmp/c-b; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do for blk in bert_f16_h768 bert_erf_f16_h768; do for lay in out_in in_out; do for d in auto 4 8; do
  if [ $d = auto ]; then unset DSMLP_DECODE_MAX_TOKENS; else export DSMLP_DECODE_MAX_TOKENS=$d; fi
  echo "r$r $blk $lay dec=$d: $(timeout 60 build-gpu/bin/dsmlp-bench --block $blk --tokens 1,2,3,4,6,8 --reps 50 --no-tune \
    --layout $lay 2>&1 | grep "T=" | awk '{printf "%s %s  ", $2, $4}')"
done; done; done; done
unset DSMLP_DECODE_MAX_TOKENS
