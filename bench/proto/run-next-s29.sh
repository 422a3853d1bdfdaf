#!/bin/bash
# session 29 (prepared in session 28). Before the first call:
#   BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh            (a fresh checkout)
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh hp bench/proto/gemv-half-pairs-fp8-bf16.patch
#   cp bench/proto/run-next-s29.sh build-gpu/run-next.sh
# carry build-gpu/bin/dsmlp-bench build-gpu/bin/var/hp build-gpu/bin/var/hp-test_gpu_quant build-gpu/tests/test_gpu_quant
# build-gpu/run-next.sh
# Call 1: fp8 codes and bf16 x in the decode GEMV's f16 pairs against the head, T = 1 / 2, two rounds: GELU-4096 fp8
# (f16 x: the fp8 half), SwiGLU-4096 int8 (bf16 x: the conversion), SwiGLU-4096 fp8 (both), GELU-4096 int8 (f16
# int8: unchanged, the control); then the variant's decode accuracy (test_gpu_quant heuristic, all four layouts at
# T = 1) and the head's (its int8 f16 path's q / 1024 constants, e32b701, were checked on the host only).
# Call 2 (whatever is kept): the GPU suites, `ctest --test-dir build-gpu -L gpu -j 4 --timeout 400` (owed since bc42d73:
# session 28 ran only the heuristic case on it).
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for r in 1 2; do
  for v in build-gpu/bin/dsmlp-bench build-gpu/bin/var/hp; do
    for b in gelu_fp8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096; do
      timeout 120 $v --block $b --tokens 1,2 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f3-5 | tr '\n' ' ' | sed "s/^/r$r $(basename $v) /"; echo
      rm -f $OUT/m.md
    done
  done
done
for t in build-gpu/bin/var/hp-test_gpu_quant build-gpu/tests/test_gpu_quant; do
  echo "== $t heuristic"; CK_RUN_CASE=heuristic timeout 200 stdbuf -oL $t 2>&1 | grep -E "err|Checks|FAIL" | head -30
done
