#!/bin/bash
# session 37 (prepared in session 36, whose device time ran out): the two-group k split for the second GEMM at
# T = 65..256 (bench/proto/mixed-split-two-groups.patch: split 4 as 2 x 2 instead of 3 clusters of 3; 128 of the 132
# SMs instead of 96; at T <= 64 split 8 as 2 x 4 where clusters of 8 do not all fit, 256 of 264 slots instead of
# 224). Before the call:
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh s2 bench/proto/mixed-split-two-groups.patch
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh s2b bench/proto/mixed-split-two-groups-overlap.patch
#   cp bench/proto/run-next-s37.sh build-gpu/run-next.sh
# carry build-gpu/bin/var build-gpu/run-next.sh; run without a pipe into tail: bash build-gpu/run-next.sh (~450 s).
# (1) correctness, s2 and s2b (the second group's wait overlapped): the quant suite's mixed case and the wgmma suite
# with the two groups forced at every even split of 4 or more (DSMLP_PROTO_SPLIT2=2); (2) A/B: s2 with
# DSMLP_PROTO_SPLIT2=0 (never two groups: head's rule) against s2 and s2b under the rule, two rounds. Then, if kept: integrate (no getenv outside options.c / tp_env.c /
# tp_group.c; the buffer inside the plan's workspace or its own allocation, documented), docs, and the whole GPU
# suite; also decide bench/proto/mixed-float128-200k-stages.patch there (measured in session 36, suites not rerun).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for v in s2 s2b; do   # the two groups forced at every even split of 4 or more
  DSMLP_PROTO_SPLIT2=2 CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/$v-test_gpu_quant > $OUT/q-$v.log 2>&1
  echo "$v quant mixed SPLIT2=2 rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-$v.log | head -5
  DSMLP_PROTO_SPLIT2=2 stdbuf -oL timeout 120 build-gpu/bin/var/$v-test_gpu_wgmma > $OUT/w-$v.log 2>&1
  echo "$v wgmma SPLIT2=2 rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/w-$v.log | head -5
done
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    for vm in s2:0 s2:1 s2b:1; do   # s2 with SPLIT2=0 is head's rule
      v=${vm%:*} m=${vm#*:}
      DSMLP_PROTO_SPLIT2=$m DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-gpu/bin/var/$v --block $b --tokens 2,16,64,65,100,128,129,200,256 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v SPLIT2=$m $b $(row) $((SECONDS-s0))s"
    done
  done
done
