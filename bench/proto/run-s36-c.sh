#!/bin/bash
# session 36 call 4: what makes the x multicast slow (first GEMM only, DSMLP_PROTO_MCAST_MIN_N=8192): mc (multicast +
# pair barriers), mcA (pair clusters and barriers, each block copies its whole x itself), mcB (multicast, no remote
# empty arrivals: racy, timing only); and f200 (the float 128-token kernels with 200 KiB of stages too).
export NCCL_NVLS_ENABLE=0 DSMLP_PROTO_MCAST_MIN_N=8192
nvidia-smi --query-gpu=name --format=csv,noheader
s0=$SECONDS
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for v in hd mc mcA mcB; do
    DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block gelu_i8_h4096 --tokens 65,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
    echo "r$r $v gelu_i8_h4096 $(row) $((SECONDS-s0))s"
  done
  for b in gelu_f16_h4096 swiglu_bf16_h4096; do
    for v in hd f200; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block $b --tokens 65,100,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
