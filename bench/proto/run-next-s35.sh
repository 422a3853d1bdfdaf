#!/bin/bash
# session 35 (prepared in session 34). Before the call:
#   VARIANT_TESTS="test_gpu_quant test_gpu_stream" bash bench/build_variant.sh hd
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh rdy bench/proto/norm-ready-count.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh d1 bench/proto/ready-diag-poll-then-wait.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh d2 bench/proto/ready-diag-wait-then-poll.patch
#   cp bench/proto/run-next-s35.sh build-gpu/run-next.sh
# carry build-gpu/bin/var build-gpu/run-next.sh
# (1) test_gpu_stream on main (session 34's suites left it out; its change, PDL for every mixed GEMM, does not touch
# the ring kernels' launches). (2) Why the norm's ready count made the block 0.5-1.8 us slower although the first
# copies started 0.6 us earlier (session 34, call 2): d1 polls the count and then still waits for the norm grid's
# end (the count's costs, no earlier start), d2 waits for the grid's end and then polls (the norm's signal and the
# reset alone). If d2 is level with head and d1 slower, the polls cost; if d2 is slower, the norm's signal does.
# Separate processes, two rounds; run without a pipe into tail.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
stdbuf -oL timeout 260 build-gpu/bin/var/hd-test_gpu_stream > $OUT/stream.log 2>&1; echo "hd stream rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/stream.log | head -6
for v in d1 d2; do
  CK_RUN_CASE=mixed stdbuf -oL timeout 120 build-gpu/bin/var/$v-test_gpu_quant > $OUT/q-$v.log 2>&1; echo "$v quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-$v.log | head -5
done
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096; do
    for v in hd rdy d1 d2; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 60 build-gpu/bin/var/$v --block $b --tokens 2,16,64,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
