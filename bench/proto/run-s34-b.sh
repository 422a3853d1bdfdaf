#!/bin/bash
# session 34, call B: PDL on the GEMM -> GEMM edge alone ("v2", a one-line patch on 3c2fb16, kept: exec_mixed.c since be727a7) and
# the norm's ready count with a release reduction and relaxed polls ("rdyb", norm-ready-count-backoff.patch) against
# head ("hd"): the mixed case, an A/B in separate processes, two rounds; then peers.py on head's library.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for v in v2 rdyb; do
  CK_RUN_CASE=mixed stdbuf -oL timeout 120 build-gpu/bin/var/$v-test_gpu_quant > $OUT/q-$v.log 2>&1; echo "$v quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-$v.log | head -5
done
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096; do
    for v in hd v2 rdyb; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block $b --tokens 2,16,32,64,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
DSMLP_CACHE_DIR=/tmp/c-peers timeout 290 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096 --reps 100 --layout out_in > $OUT/peers.log 2>&1
echo "peers rc=$? $((SECONDS-s0))s"; cat $OUT/peers.log | grep -v '^\s*$' | tail -40
