#!/usr/bin/env bash
# Fifty-first session, last call: BERT-base f16 (latency-bound: LayerNorm kernel 3.2 us, cuBLASLt GEMM1 5.7, GEMM2
# split-K 5.9 + its reduce kernel 3.5-4.7 at T = 8-64 by ncu on an H200) with the generated wgmma kernels pinned at
# every T (DSMLP_MIXED_GEMM=2: in-kernel split, no reduce kernel) and after dsmlp_plan_tune, both layouts.
#   bash bench/proto/run-s51d.sh STORE.tar.xz     carry: build-gpu/bin/s51d, build-gpu/lib
store=${1:?usage: run-s51d.sh STORE.tar.xz}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b DSMLP_COMPILE_THREADS=16
W=/tmp/s51d && mkdir -p $W
b() {   # NAME LAYOUT [--no-tune] [VAR=VALUE]
  env ${4:-} timeout 200 build-gpu/bin/s51d/head --block bert_f16_h768 --tokens 1,2,3,4,8,16,32,64,128 --reps 50 $3 \
    --layout $2 --md $W/$1-$2.md > $W/$1-$2.log 2>&1 || echo "$1 $2 rc $?"
}
s0=$SECONDS
for l in out_in in_out; do
  b load1 $l --no-tune; b pin1 $l --no-tune DSMLP_MIXED_GEMM=2; b load2 $l --no-tune; b pin2 $l --no-tune DSMLP_MIXED_GEMM=2
  b tune $l
done
echo "bench $((SECONDS - s0)) s"
bash bench/proto/md_lines.sh $W/*.md
for l in out_in in_out; do echo "== tuned $l"; sed 's/^| NVIDIA [^|]*| //' $W/tune-$l.md; done
grep -h -i -E "tun|pick|wgmma" $W/tune-*.log | head -20
