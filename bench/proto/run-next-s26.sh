#!/bin/bash
# session 26 call 1 (prepared in session 25; bench/proto/gemv-oi-rounds.patch says why): the [out,in] decode GEMV in
# rounds (p25) against 6517b17 (h25), as loaded, two rounds; the timelines of both (build-tl: tlh25, tlp25); then
# p25's GPU suites that run the GEMVs at T = 1.
# Carry build-gpu/bin/var, build-tl/bin/var and build-gpu/run-next.sh (~12 MB). Then, if p25 is faster and both suites pass: git apply
# bench/proto/gemv-oi-rounds.patch, docs/CHANGELOG/RESULTS, the whole `ctest -L gpu` (carry build-gpu/tests, bin,
# lib, CTestTestfile.cmake; move bin/var out first).
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
V=build-gpu/bin/var
B="gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768"
for v in h25 p25; do for b in $B; do timeout 60 $V/$v --block $b --tokens 1 --reps 3 --no-tune --layout out_in >/dev/null 2>&1 & done; done; wait; el warm
for r in 1 2; do for b in $B; do for v in h25 p25; do
  echo "$r $b $v $(timeout 30 $V/$v --block $b --tokens 1 --reps 30 --no-tune --layout out_in 2>&1 | grep -E 'T=' | awk '{printf "%s %s  ", $2, $4}')"
done; done; done | tee $OUT/rounds.txt; el bench
for v in tlh25 tlp25; do for b in gelu_f16_h4096 swiglu_bf16_h4096; do
  DSMLP_CACHE_DIR=/tmp/ds-tl timeout 60 build-tl/bin/var/$v --block $b --tokens 1 --reps 30 --no-tune --layout out_in > $OUT/tl-$v-$b.raw 2>&1
  { echo "== $v $b T=1 out_in"; python3 bench/timeline.py < $OUT/tl-$v-$b.raw; } >> $OUT/timeline.txt 2>&1
done; done; grep -E "^==|^dsmlp_|^whole|did not" $OUT/timeline.txt | cut -c1-170; el timeline
cd build-gpu && export DSMLP_SOURCE_DIR=$PWD/.. DSMLP_BINARY_DIR=$PWD DSMLP_REF_THREADS=16
timeout 300 ./bin/var/p25-test_gpu_mlp_family 2>&1 | grep -E "FAIL|Checks|cases|T=1 " | head -40; el family
timeout 150 ./bin/var/p25-test_gpu_layers 2>&1 | grep -E "FAIL|Checks|cases" | head -20; el layers
