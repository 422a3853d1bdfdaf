#!/bin/bash
# session 38, call 4: fairness between the two blocks of a SM (bench/proto/mixed-sm-fairness.patch; call 1's
# timelines: in every pair the first-started block finishes first, 3-11 us ahead, and the other then runs alone at a
# lower SM rate). DSMLP_PROTO_FAIR=D: a two-per-SM block's producer waits (bounded) while more than D stages ahead of
# the other block on its SM (per-SM counters of issued stages in global memory).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
DSMLP_PROTO_FAIR=1 DSMLP_CACHE_DIR=/tmp/c-tl timeout 80 build-tl/bin/var/tlfa --block gelu_i8_h4096 --tokens 64 --reps 30 --no-tune --layout out_in > $OUT/tl-F1-gelu64.raw 2>&1
echo "timeline F1 gelu_i8 T=64 rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-F1-gelu64.raw | grep dsmlp
for b in gelu_i8_h4096 swiglu_i8_h4096; do
  for f in "" 1 2; do DSMLP_PROTO_FAIR=$f DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/fa --block $b --tokens 2 --reps 2 --no-tune --layout out_in > /dev/null 2>&1; echo "warm F$f $b $((SECONDS-s0))s"; done
done
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096; do
    for f in "" 1 2; do
      DSMLP_PROTO_FAIR=$f DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/fa --block $b --tokens 2,16,32,48,64 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r F$f $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
