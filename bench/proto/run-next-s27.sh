#!/bin/bash
# session 27 call 1 (prepared in session 26; ran in session 27: bench/RESULTS.md "twenty-seventh session"). Build first, here: build-gpu (Release, tools/bootstrap.sh with
# BUILD_DIR=build-gpu BUILD_TYPE=Release) and a timeline build WITH ITS FLAG (session 26's build-tl lacked it:
# `cmake -S . -B build-tl -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-DDSMLP_TIMELINE=20 && cmake --build
# build-tl --target dsmlp-bench`); copy this to build-gpu/run-next.sh; carry build-gpu/bin/dsmlp-bench,
# build-tl/bin/dsmlp-bench and build-gpu/run-next.sh.
# 1. Decode GEMVs built for T <= 2 (DSMLP_DECODE_MAX_TOKENS=2) against the default 1 at T = 1, 2: session 26 found
#    the T <= 8 build 3.5-5.5 us slower at T = 1 (registers) but the float GEMV 2.4-4.9 us faster than cuBLASLt at
#    T = 2; the quantized GEMV lost T = 2 to the mixed kernels (53 against 47.5) in the T <= 8 build.
# 2. Where the quantized decode GEMV's time goes (GELU-4096 int8 43.5 us at T = 1 against its 32.1 read floor and
#    the issue's 38.5): timelines of the int8 and f16 [out,in] blocks at T = 1 (per kernel: blocks, ends).
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
B=build-gpu/bin/dsmlp-bench
BL="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 bert_f16_h768"
for b in $BL; do for d in 1 2; do DSMLP_DECODE_MAX_TOKENS=$d timeout 120 $B --block $b --tokens 1,2 --reps 3 --no-tune --layout out_in >/dev/null 2>&1 & done; done; wait; el warm
for r in 1 2; do for b in $BL; do for d in 1 2; do
  echo "$r $b d$d $(DSMLP_DECODE_MAX_TOKENS=$d timeout 60 $B --block $b --tokens 1,2 --reps 30 --no-tune --layout out_in 2>&1 | grep -E 'T=' | awk '{printf "%s %s  ", $2, $4}')"
done; done; done | tee $OUT/dec2.txt; el dec2
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096; do
  DSMLP_CACHE_DIR=/tmp/ds-tl timeout 60 build-tl/bin/dsmlp-bench --block $b --tokens 1 --reps 30 --no-tune --layout out_in > $OUT/tl-$b.raw 2>&1
  { echo "== $b T=1 out_in"; python3 bench/timeline.py < $OUT/tl-$b.raw; } >> $OUT/timeline.txt 2>&1
done; grep -E "^==|^dsmlp_|^whole|did not" $OUT/timeline.txt | cut -c1-170; el timeline
