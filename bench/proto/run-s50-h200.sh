#!/usr/bin/env bash
# The fiftieth session's status call for issues 9 and 10 on the card they name (an H200 when one is lent): main's
# dsmlp-bench on every 4096-wide block (int8, fp8, f16, bf16) at T = 1..128 and 1024, then peers.py (f16 / bf16 and
# BERT-base at T = 1..128, one process) on main's library. Everything to $OUT/all.log, the tables to stdout.
#   bash bench/proto/run-s50-h200.sh STORE.tar.xz
#   carry: build-gpu/bin/dsmlp-bench build-gpu/lib STORE   (store: bench/store_prefill.sh, the lists below)
store=${1:?usage: run-s50-h200.sh STORE.tar.xz}
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
W=/tmp/s50h && mkdir -p $W
s0=$SECONDS
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
  timeout 150 build-gpu/bin/dsmlp-bench --block $b --tokens 1,2,4,8,16,32,64,128,1024 --reps 30 --no-tune \
    --layout out_in --md $W/$b.md > $W/$b.log 2>&1
  echo "$b rc $? $((SECONDS - s0)) s"
  awk -F'|' -v n=$b 'NR > 2 { gsub(/ /, ""); r = r " " $4 "=" $5; fl = fl " " $9 } END { print n ":" r "   floor" fl }' $W/$b.md
done
PYTHONUNBUFFERED=1 timeout 330 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16,32,64,128 \
  --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --layout out_in > $W/peers.log 2>&1
echo "peers rc $? $((SECONDS - s0)) s"
for f in $W/*; do echo "#### $f"; cat "$f"; done > $OUT/all.log
grep -v '^\s*$' $W/peers.log | grep -v -i "warn" | tail -45
