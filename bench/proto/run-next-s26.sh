#!/bin/bash
# session 26 call 1 (prepared in session 25; the patches' headers say why): the decode GEMV prototypes against 6517b17
# (h25), as loaded, two rounds: p25 = gemv-oi-rounds.patch ([out,in] GEMVs in rounds within one wave), pio =
# gemv-io-512-threads.patch ([in,out] GEMVs of at most one block per SM with 512 threads), pboth =
# gemv-rounds-io512.patch (the two); the [out,in] timelines (build-tl: tlh25, tlp25); then pboth's GPU suites that
# run the GEMVs at T = 1 (they cover both changes). Carry build-gpu/bin/var, build-tl/bin/var and this script
# (~20 MB). Then: keep the winner (git apply; docs, CHANGELOG, RESULTS), the whole `ctest -L gpu` (carry
# build-gpu/tests, bin, lib, CTestTestfile.cmake; move bin/var out first).
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
V=build-gpu/bin/var
for v in h25 p25 pio pboth; do for b in gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768; do for l in out_in in_out; do
  timeout 60 $V/$v --block $b --tokens 1 --reps 3 --no-tune --layout $l >/dev/null 2>&1 &
done; done; wait; done; el warm
ab() {   # ab LAYOUT "BLOCKS" BUILDS...
  local l=$1 bl=$2; shift 2
  for r in 1 2; do for b in $bl; do for v in "$@"; do
    echo "$r $b $l $v $(timeout 30 $V/$v --block $b --tokens 1 --reps 30 --no-tune --layout $l 2>&1 | grep -E 'T=' | awk '{printf "%s %s  ", $2, $4}')"
  done; done; done | tee -a $OUT/gemv.txt
}
ab out_in "gelu_f16_h4096 swiglu_bf16_h4096" h25 p25 pboth; el out_in
ab in_out "gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768" h25 pio pboth; el in_out
for v in tlh25 tlp25; do for b in gelu_f16_h4096 swiglu_bf16_h4096; do
  DSMLP_CACHE_DIR=/tmp/ds-tl timeout 60 build-tl/bin/var/$v --block $b --tokens 1 --reps 30 --no-tune --layout out_in > $OUT/tl-$v-$b.raw 2>&1
  { echo "== $v $b T=1 out_in"; python3 bench/timeline.py < $OUT/tl-$v-$b.raw; } >> $OUT/timeline.txt 2>&1
done; done; grep -E "^==|^dsmlp_|^whole|did not" $OUT/timeline.txt | cut -c1-170; el timeline
cd build-gpu && export DSMLP_SOURCE_DIR=$PWD/.. DSMLP_BINARY_DIR=$PWD DSMLP_REF_THREADS=16
timeout 280 ./bin/var/pboth-test_gpu_mlp_family 2>&1 | grep -E "FAIL|Checks|cases" | head -40; el family
timeout 150 ./bin/var/pboth-test_gpu_layers 2>&1 | grep -E "FAIL|Checks|cases" | head -20; el layers
