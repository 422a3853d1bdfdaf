#!/bin/bash
# session 38, call 2: does the block dispatcher's placement cost the unsplit mixed GEMMs? (call 1's timelines: SwiGLU-4096
# int8's first GEMM, 224 blocks at two a SM, ran on 112 SMs at T = 64 and 116 at T = 16, 16-20 SMs idle; the split-7
# second GEMMs on 124.) bench/proto/mixed-cluster-placement.patch: DSMLP_PROTO_YPAIR=c launches unsplit grids in
# clusters of (1, c, 1) row tiles, DSMLP_PROTO_CPOL=2 asks for the load-balancing cluster policy.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
DSMLP_PROTO_YPAIR=2 DSMLP_PROTO_CPOL=2 CK_RUN_CASE=mixed DSMLP_CACHE_DIR=/tmp/c-t timeout 200 build-gpu/bin/var/pp-test_gpu_quant > $OUT/quant-y2c2.log 2>&1
echo "mixed case, YPAIR=2 CPOL=2 rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL" $OUT/quant-y2c2.log | head -5
for cfg in "Y2:DSMLP_PROTO_YPAIR=2" "Y2C2:DSMLP_PROTO_YPAIR=2 DSMLP_PROTO_CPOL=2"; do
  n=${cfg%%:*} e=${cfg#*:}
  for bt in swiglu_i8_h4096:16 swiglu_i8_h4096:64 gelu_i8_h4096:64; do
    b=${bt%:*} t=${bt#*:}
    env $e DSMLP_CACHE_DIR=/tmp/c-tl timeout 60 build-tl/bin/var/tlpp --block $b --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-$n-$b-$t.raw 2>&1
    echo "timeline $n $b T=$t rc=$? $((SECONDS-s0))s"; python3 bench/proto/block_timeline.py $OUT/tl-$n-$b-$t.raw | grep dsmlp
  done
done
TOK=2,16,32,64,100,128
for r in 1 2; do
  for cfg in "none:X=0" "Y2:DSMLP_PROTO_YPAIR=2" "C2:DSMLP_PROTO_CPOL=2" "Y2C2:DSMLP_PROTO_YPAIR=2 DSMLP_PROTO_CPOL=2" "Y4:DSMLP_PROTO_YPAIR=4"; do
    n=${cfg%%:*} e=${cfg#*:}
    [ $r = 2 ] && [ $n = Y4 ] && continue
    for b in swiglu_i8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do
      env $e DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/pp --block $b --tokens $TOK --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $n $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
