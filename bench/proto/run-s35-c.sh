#!/bin/bash
# session 35, call 3: the code kernels' conversion overlapping the previous 64 k's wgmmas across stages (DS_XSTAGE).
# Before: VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh xs   (the working tree: XSTAGE where a stage is 64 k)
#         xa: the same with XSTAGE for every code kernel (emit_mixed.c xstage = quant ? "1" : "0"); hd: 5100522
# carry build-gpu/bin/var build-gpu/run-c.sh. Separate processes, two rounds.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for v in xs xa; do
  CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/$v-test_gpu_quant > $OUT/q-$v.log 2>&1; echo "$v quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-$v.log | head -5
done
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    for v in hd xs xa; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-gpu/bin/var/$v --block $b --tokens 2,16,32,64,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
