#!/usr/bin/env bash
# Fifty-first session, third call: how far the [out,in]/[in,out] decode GEMV (with the post-LN fold of 838f93f)
# should serve a latency-bound block (BERT-base, 9.4 MB of weights) in place of norm kernel + two cuBLASLt GEMMs:
# dsmlp-bench at DSMLP_DECODE_MAX_TOKENS auto / 4 / 8, both layouts, two rounds; GELU-4096 f16 auto / 8 for contrast;
# peers.py on BERT-base (auto and 8); then test_gpu_mlp_cross and test_gpu_mlp_family with decode to 8 (T = 7 through
# the GEMV with its norm folded).
#   bash bench/proto/run-s51c.sh STORE.tar.xz     carry: build-gpu/bin/s51c, build-gpu/lib
#   on the device first: mkdir -p build-gpu/bin/var && cp build-gpu/bin/s51c/* build-gpu/bin/var/
store=${1:?usage: run-s51c.sh STORE.tar.xz}
final=$OUT
export OUT=/tmp/s51c && mkdir -p $OUT
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=8 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
bench() {   # NAME BLOCK LAYOUT TOKENS DECODE ROUND
  local d=; [ "$5" = auto ] || d="DSMLP_DECODE_MAX_TOKENS=$5"
  env $d timeout 120 build-gpu/bin/var/head --block "$2" --tokens "$4" --reps 50 --no-tune --layout "$3" \
    --md "$OUT/$1$5-$2-$3-$6.md" > "$OUT/$1$5-$2-$3-$6.log" 2>&1 || echo "$1 $2 $3 $5 round $6 rc $?"
}
s0=$SECONDS
for r in 1 2; do
  for d in auto 4 8; do bench d bert_f16_h768 out_in 1,2,3,4,6,8,16 $d $r; done
  for d in auto 8; do bench d bert_f16_h768 in_out 1,2,3,4,6,8,16 $d $r; done
done
for d in auto 8; do bench d gelu_f16_h4096 out_in 1,2,4,8 $d 1; done
echo "bench $((SECONDS - s0)) s"
bash bench/proto/md_lines.sh $OUT/*.md
for d in auto 8; do
  s0=$SECONDS
  dd=; [ $d = auto ] || dd="DSMLP_DECODE_MAX_TOKENS=$d"
  env $dd PYTHONUNBUFFERED=1 timeout 150 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16 \
    --blocks bert_f16_h768 --reps 100 --layout out_in > $OUT/peers-$d.log 2>&1
  echo "peers $d rc $? $((SECONDS - s0)) s"
  grep -v '^\s*$' $OUT/peers-$d.log | grep -v -i "warn" | tail -14
done
for t in mlp_cross mlp_family; do
  (mkdir -p /tmp/c-$t && DSMLP_DECODE_MAX_TOKENS=8 DSMLP_CACHE_DIR=/tmp/c-$t timeout 300 build-gpu/bin/var/head-test_gpu_$t \
     > $OUT/t-$t.txt 2>&1; echo "$t rc $?" >> $OUT/t-$t.txt) &
done
wait
for f in $OUT/t-*.txt; do echo "== $f"; grep -E "FAIL|cases|Checks|rc |worst" $f | head -12; done
for f in $OUT/*.txt $OUT/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
