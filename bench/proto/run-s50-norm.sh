#!/usr/bin/env bash
# Fiftieth session: the decode GEMV's norm stage (ncu: main's first int8 GEMV 31.6 us against fused_decode's two1 28.8,
# the same stream). Builds side by side, T = 1 and 2, three rounds: hd (main), gb (the norm's weight and bias loaded
# with the addends), gb1 (gb + one block reduction of shifted sums for LayerNorm), nn (probe: gb1 without its
# reduction), nx (probe: no norm stage at all); then gb1's test_gpu_quant heuristic and test_gpu_stream side by side.
#   bash bench/proto/run-s50-norm.sh STORE.tar.xz
#   carry: build-gpu/bin/s50g (hd50 gb gb1 nn nx, gb1-test_gpu_quant, gb1-test_gpu_stream), build-gpu/lib, STORE
store=${1:?usage: run-s50-norm.sh STORE.tar.xz}
final=$OUT
export OUT=/tmp/s50g && mkdir -p $OUT
TOKENS=1,2 ROUNDS=3 RUNS="hd:hd50 gb:gb gb1:gb1 nn:nn nx:nx" \
  BLOCKS="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096" \
  bash bench/proto/run-s49-walk.sh "$store" > $OUT/bench.txt 2>&1
grep -E "NVIDIA|rc [1-9]" $OUT/bench.txt | sort | uniq -c
for f in $OUT/*.md; do
  awk -F'|' -v n="$(basename $f .md)" 'NR > 2 { gsub(/ /, ""); r = r " " $4 "=" $5 } END { print n ":" r }' "$f"
done | sort -t- -k2,2 -k1,1
export DSMLP_CACHE_DIR=/tmp/c-t && mkdir -p /tmp/c-t
(CK_RUN_CASE=heuristic timeout 300 build-gpu/bin/var/gb1-test_gpu_quant > $OUT/t-quant.txt 2>&1; echo "quant heuristic rc $?" >> $OUT/t-quant.txt) &
(DSMLP_CACHE_DIR=/tmp/c-s timeout 330 build-gpu/bin/var/gb1-test_gpu_stream > $OUT/t-stream.txt 2>&1; echo "stream rc $?" >> $OUT/t-stream.txt) &
wait
for f in $OUT/t-*.txt; do echo "== $f"; grep -E "FAIL|cases|Checks|rc |worst|error" $f | head -12; done
for f in $OUT/*.txt $OUT/*.log; do echo "#### $f"; cat "$f"; done > $final/all.log
