#!/bin/bash
# session 35, call 2: token tiles and split caps (bench/proto/mixed-tile-split-probe.patch, built as "probe").
# Before: VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh probe bench/proto/mixed-tile-split-probe.patch
# carry build-gpu/bin/var build-gpu/run-b.sh. Separate processes, two rounds.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
B=build-gpu/bin/var/probe
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096; do
    for v in none 4 3 2; do
      if [ $v = none ]; then unset DSMLP_PROTO_MIXED_V; else export DSMLP_PROTO_MIXED_V=$v; fi
      DSMLP_CACHE_DIR=/tmp/c-probe timeout 90 $B --block $b --tokens 32,64,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l-$b-$v.log 2>&1 || tail -3 $OUT/l-$b-$v.log
      echo "r$r V=$v $b $(row) $((SECONDS-s0))s"
    done
  done
  unset DSMLP_PROTO_MIXED_V
  for b in gelu_i8_h4096 swiglu_i8_h4096; do
    for sm in 8 7 6 4; do
      DSMLP_PROTO_SPLIT_MAX=$sm DSMLP_CACHE_DIR=/tmp/c-probe timeout 60 $B --block $b --tokens 2,16 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/s.log 2>&1 || tail -3 $OUT/s.log
      echo "r$r SPLIT<=$sm $b $(row) $((SECONDS-s0))s"
    done
  done
done
