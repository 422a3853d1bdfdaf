#!/usr/bin/env bash
# The fiftieth session's first device call, in one: the 4-stage kernels' groups of 8 (xg8), the two timing probes of
# the f16 conversion (pA: no sub.f16x2, pB: the byte permute alone; wrong sums), the one-macro 64-k loop (xm) beside
# main (hd49) on GELU-4096 / SwiGLU-4096 int8; the GPU tests of xg8 and xm (mixed, mixed_two_groups); and
# `fused_decode quick` (the h-in-two-k-halves cluster form the forty-eighth session could not time).
#   bash bench/proto/run-s50.sh STORE.tar.xz      everything to $OUT/all.log, the tables to stdout
#   carry: build-gpu/bin/var (hd49 pA pB xg8 xm and their -test_gpu_quant), build-gpu/bin/fused_decode,
#          build-gpu/lib, STORE
store=${1:?usage: run-s50.sh STORE.tar.xz}
final=$OUT
export OUT=/tmp/s50 && mkdir -p $OUT
T=2,8,16,32,64,128,256,1024
( TOKENS=$T ROUNDS=2 RUNS="head:hd49 pA:pA pB:pB xg8:xg8 xm:xm" BLOCKS=gelu_i8_h4096 \
    bash bench/proto/run-s49-walk.sh "$store"
  TOKENS=$T ROUNDS=2 RUNS="head:hd49 xg8:xg8 xm:xm" BLOCKS=swiglu_i8_h4096 bash bench/proto/run-s49-walk.sh "$store" ) \
  > $OUT/bench.txt 2>&1
timeout 200 build-gpu/bin/fused_decode quick > $OUT/fused.txt 2>&1; echo "fused_decode rc $?" >> $OUT/fused.txt
for v in xg8 xm; do   # side by side, each case in its own process and store
  for c in mixed mixed_two_groups; do
    (mkdir -p /tmp/c-$v-$c && DSMLP_CACHE_DIR=/tmp/c-$v-$c CK_RUN_CASE=$c timeout 400 build-gpu/bin/var/$v-test_gpu_quant \
       > $OUT/test-$v-$c.txt 2>&1; echo "test $c ($v) rc $?" >> $OUT/test-$v-$c.txt) &
  done
done
wait
for f in $OUT/*.txt $OUT/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
grep -E "NVIDIA|rc [1-9]" $OUT/bench.txt | sort | uniq -c
# the tables, one line a (build, block, round): T=as-loaded µs (read floor at the end)
for f in $OUT/*.md; do
  awk -F'|' -v n="$(basename $f .md)" 'NR > 2 { gsub(/ /, ""); r = r " " $4 "=" $5; fl = fl " " $9 }
    END { print n ":" r "   floor" fl }' "$f"
done
for f in $OUT/test-*.txt; do echo "== $(basename $f)"; grep -E "FAIL|cases|Checks|rc " $f | head -8; done
echo "== fused"; tail -40 $OUT/fused.txt
