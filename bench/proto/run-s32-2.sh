#!/bin/bash
# session 32, call 2. Before: build_variant.sh head (no patch, HEAD's tree), noskip (bench/proto/skip-norm-bound.patch);
# build-gpu/bin/dsmlp-bench = the working tree (the split epilogue's item spread for 64-token tiles, token slices kept
# for 16-token ones). (1) int8 and float A/B head vs tree; (2) the bound of a norm fused into the first GEMM: the same
# binary with and without DSMLP_PROTO_SKIP_NORM=1 (wrong results), as loaded (m1) and wgmma pinned (m2).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
b1() { # name binary env... -- block tokens layout
  local n=$1 v=$2; shift 2; local e=(); while [ "$1" != -- ]; do e+=("$1"); shift; done; shift
  env "${e[@]}" DSMLP_CACHE_DIR=/tmp/c-$(basename $v) timeout 120 $v --block $1 --tokens $2 --reps 30 --no-tune --layout $3 --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
  echo "$n $3 $1 $(row)"
}
for r in 1 2; do
  for v in build-gpu/bin/var/head build-gpu/bin/dsmlp-bench; do
    b1 "r$r $(basename $v)" $v X=1 -- gelu_i8_h4096 9,12,16,32 out_in
    b1 "r$r $(basename $v)" $v X=1 -- swiglu_i8_h4096 9,12,16,32 out_in
    b1 "r$r $(basename $v) m2" $v DSMLP_MIXED_GEMM=2 -- gelu_f16_h4096 8,16,32 out_in
    b1 "r$r $(basename $v) m2" $v DSMLP_MIXED_GEMM=2 -- swiglu_bf16_h4096 8,16,32 in_out
  done
done
v=build-gpu/bin/var/noskip
for r in 1 2; do
  for m in 1 2; do
    for s in 0 1; do
      e="X=1"; [ $s = 1 ] && e=DSMLP_PROTO_SKIP_NORM=1
      for cf in in_out:swiglu_bf16_h4096 out_in:swiglu_bf16_h4096 out_in:gelu_f16_h4096 in_out:gelu_f16_h4096; do
        b1 "r$r m$m skip$s" $v DSMLP_MIXED_GEMM=$m $e -- ${cf#*:} 2,8,16,32,64,128 ${cf%%:*}
      done
    done
  done
  for s in 0 1; do
    e="X=1"; [ $s = 1 ] && e=DSMLP_PROTO_SKIP_NORM=1
    b1 "r$r skip$s" $v $e -- gelu_i8_h4096 2,16,64,128 out_in
    b1 "r$r skip$s" $v $e -- bert_f16_h768 2,16,64,128 out_in
  done
done
