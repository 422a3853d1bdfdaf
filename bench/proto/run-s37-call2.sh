#!/bin/bash
# session 37, call 2: the two-group k split as integrated (ctx option mixed_two_groups, plan split scratch, cooperative
# launch). (1) correctness with the groups forced: test_gpu_quant's mixed_two_groups case, test_gpu_wgmma (both
# modes); (2) A/B on one binary: DSMLP_MIXED_TWO_GROUPS=0 (one cluster a tile) against 1 (the rule), and the variant
# without the cooperative attribute (bench/proto/mixed-two-groups-no-cooperative.patch) under the rule, 3 rounds.
# carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/run-next.sh; no pipe into tail.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
CK_RUN_CASE=mixed_two_groups stdbuf -oL timeout 200 build-gpu/tests/test_gpu_quant > $OUT/q2.log 2>&1
echo "quant mixed_two_groups rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL|two groups' $OUT/q2.log | head -8
stdbuf -oL timeout 150 build-gpu/tests/test_gpu_wgmma > $OUT/w.log 2>&1
echo "wgmma rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/w.log | head -8
if grep -q FAIL $OUT/q2.log || ! grep -q '^100%' $OUT/q2.log; then
  CK_RUN_CASE=mixed_two_groups stdbuf -oL timeout 120 build-gpu/bin/var/nocoop-test_gpu_quant > $OUT/q2nc.log 2>&1
  echo "nocoop quant mixed_two_groups rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q2nc.log | head -5
fi
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2 3; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    for vm in head:0 head:1 nocoop:1; do
      v=${vm%:*} m=${vm#*:}; bin=build-gpu/bin/dsmlp-bench; [ $v = nocoop ] && bin=build-gpu/bin/var/nocoop
      DSMLP_MIXED_TWO_GROUPS=$m DSMLP_CACHE_DIR=/tmp/c37 timeout 90 $bin --block $b --tokens 2,16,64,65,100,128,129,200,256 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v TWO=$m $b $(row) $((SECONDS-s0))s"
    done
  done
done
