#!/usr/bin/env bash
# Prepared in the fiftieth session for the next one's first device call: the decode GEMV's LayerNorm in one stable
# block reduction (bench/proto/gemv-norm-chan.patch, build chan) against main (build hd51) at T = 1 and 2 on the five
# blocks whose decode GEMV computes its norm, three rounds; then side by side: test_gpu_mlp_family of both (main's
# did not finish in the fiftieth session's last call), chan's test_gpu_quant heuristic and test_gpu_stream ring.
#   bash bench/proto/run-s51.sh STORE.tar.xz            (~300 s on an H100)
#   carry: build-gpu/bin/s51 (made below), build-gpu/lib; STORE = build-gpu/bin/s51/store-s51.tar.xz
#   make s51 here: mkdir -p build-gpu/bin/s51 && cp build-gpu/bin/var/{hd51,chan}* build-gpu/bin/store-s51.tar.xz build-gpu/bin/s51/
#   on the device first: mkdir -p build-gpu/bin/var && cp build-gpu/bin/s51/* build-gpu/bin/var/
store=${1:?usage: run-s51.sh STORE.tar.xz}
final=$OUT
export OUT=/tmp/s51 && mkdir -p $OUT
TOKENS=1,2 ROUNDS=3 RUNS="hd:hd51 chan:chan" \
  BLOCKS="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096" \
  bash bench/proto/run-s49-walk.sh "$store" > $OUT/bench.txt 2>&1
grep -E "NVIDIA|rc [1-9]" $OUT/bench.txt | sort | uniq -c
bash bench/proto/md_lines.sh $OUT/*.md
t() {   # NAME BINARY [CASE]
  (mkdir -p /tmp/c-$1 && DSMLP_CACHE_DIR=/tmp/c-$1 CK_RUN_CASE=${3:-} timeout 400 build-gpu/bin/var/$2 > $OUT/t-$1.txt 2>&1
   echo "$1 rc $?" >> $OUT/t-$1.txt) &
}
t family-hd hd51-test_gpu_mlp_family; t family-chan chan-test_gpu_mlp_family
t heuristic chan-test_gpu_quant heuristic; t ring chan-test_gpu_stream ring
wait
for f in $OUT/t-*.txt; do echo "== $f"; grep -E "FAIL|cases|Checks|rc |worst" $f | head -10; done
for f in $OUT/*.txt $OUT/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
