#!/usr/bin/env bash
# Prepared in the fiftieth session, the next one's second call: the decode GEMV that folds a post-LN block's norm and
# writes x from block 0 (bench/proto/gemv-norm-writes-x.patch, build wx) against main (hd51) on BERT-base f16 at
# T = 1 and 2, three rounds; then wx's test_gpu_mlp_family, test_gpu_layers and test_gpu_mlp_cross side by side.
#   bash bench/proto/run-s51-bert.sh STORE.tar.xz       (~250 s on an H100)
#   carry: build-gpu/bin/s51b (made below), build-gpu/lib; STORE = build-gpu/bin/s51b/store-s51.tar.xz
#   make s51b here: mkdir -p build-gpu/bin/s51b && cp build-gpu/bin/var/{hd51,wx,wx-test_gpu_*} build-gpu/bin/store-s51.tar.xz build-gpu/bin/s51b/
#   on the device first: mkdir -p build-gpu/bin/var && cp build-gpu/bin/s51b/* build-gpu/bin/var/
store=${1:?usage: run-s51-bert.sh STORE.tar.xz}
final=$OUT
export OUT=/tmp/s51b && mkdir -p $OUT
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=2 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
TOKENS=1,2 ROUNDS=3 RUNS="hd:hd51 wx:wx" BLOCKS=bert_f16_h768 bash bench/proto/run-s49-walk.sh "$store" > $OUT/bench.txt 2>&1
grep -E "NVIDIA|rc [1-9]" $OUT/bench.txt | sort | uniq -c
bash bench/proto/md_lines.sh $OUT/*.md
for t in mlp_family layers mlp_cross; do
  (mkdir -p /tmp/c-$t && DSMLP_CACHE_DIR=/tmp/c-$t timeout 450 build-gpu/bin/var/wx-test_gpu_$t > $OUT/t-$t.txt 2>&1
   echo "$t rc $?" >> $OUT/t-$t.txt) &
done
wait
for f in $OUT/t-*.txt; do echo "== $f"; grep -E "FAIL|cases|Checks|rc |worst" $f | head -10; done
for f in $OUT/*.txt $OUT/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
