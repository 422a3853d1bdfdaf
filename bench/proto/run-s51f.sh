#!/usr/bin/env bash
# Fifty-first session: run-s51e.sh again on the landed form (narrow outputs at T = 2..32, not 64), one round, no peers.
# Then nar's test_gpu_wgmma, layers, mlp_cross, runtime side by side.
#   bash bench/proto/run-s51f.sh STORE.tar.xz     carry: build-gpu/bin/s51f, build-gpu/lib (nar's)
store=${1:?usage: run-s51f.sh STORE.tar.xz}
final=$OUT W=/tmp/s51f && mkdir -p $W
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=16 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf "$store" -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
for r in 1; do for l in out_in in_out; do for b in head nar; do
  timeout 100 build-gpu/bin/s51f/$b --block bert_f16_h768 --tokens 1,2,3,4,8,16,32,64,128 --reps 50 --no-tune \
    --layout $l --md $W/$b-$l-$r.md > $W/$b-$l-$r.log 2>&1 || echo "$b $l $r rc $?"
done; done; done
bash bench/proto/md_lines.sh $W/*.md
grep -h "wgmma variant" $W/nar-out_in-1.log | head -2
for t in wgmma layers mlp_cross runtime; do
  (mkdir -p /tmp/c-$t && DSMLP_CACHE_DIR=/tmp/c-$t timeout 330 build-gpu/bin/s51f/nar-test_gpu_$t > $W/t-$t.txt 2>&1
   echo "$t rc $?" >> $W/t-$t.txt) &
done
wait
for f in $W/t-*.txt; do echo "== $f"; grep -E "FAIL|cases|Checks|rc |worst" $f | head -12; done
for f in $W/*.txt $W/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
