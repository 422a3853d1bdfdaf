#!/bin/bash
# session 34, call A: the norm's ready count (working tree, "rdy"), plus PDL on the GEMM -> GEMM edge with the first
# GEMM's implicit trigger ("rdy2"; the patch, mixed-pdl-gemm-edge.patch, is in exec_mixed.c since be727a7), plus the first GEMM's own ready count for
# the second ("rdy3", bench/proto/mixed-ready-gemm-edge.patch) against head ("hd", 3c2fb16): correctness (mixed case,
# the 32-layer graph), the timeline of rdy (build-tl, stage-timeline.patch), then an A/B in separate processes, two
# rounds.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/rdy-test_gpu_quant > $OUT/q-rdy.log 2>&1; echo "rdy quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-rdy.log | head -5
stdbuf -oL timeout 150 build-gpu/bin/var/rdy-test_gpu_layers > $OUT/l-rdy.log 2>&1; echo "rdy layers rc=$? $((SECONDS-s0))s"; grep -E '^[0-9]+%|FAIL|rror' $OUT/l-rdy.log | head -5
CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/rdy2-test_gpu_quant > $OUT/q-rdy2.log 2>&1; echo "rdy2 quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-rdy2.log | head -5
CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/rdy3-test_gpu_quant > $OUT/q-rdy3.log 2>&1; echo "rdy3 quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-rdy3.log | head -5
stdbuf -oL timeout 150 build-gpu/bin/var/rdy3-test_gpu_layers > $OUT/l-rdy3.log 2>&1; echo "rdy3 layers rc=$? $((SECONDS-s0))s"; grep -E '^[0-9]+%|FAIL|rror' $OUT/l-rdy3.log | head -5
for bt in gelu_i8_h4096:16 swiglu_i8_h4096:16; do
  b=${bt%%:*}; t=${bt#*:}
  DSMLP_CACHE_DIR=/tmp/c-tl timeout 120 build-tl/bin/var/tlr --block $b --tokens $t --reps 30 --no-tune > $OUT/tl-$b-$t.raw 2>&1
  echo "== tl $b T=$t rc=$? $((SECONDS-s0))s $(grep 'T=' $OUT/tl-$b-$t.raw | head -1)"
done
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 gelu_f16_h4096; do
    for v in hd rdy rdy2 rdy3; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-gpu/bin/var/$v --block $b --tokens 2,16,32,64,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
