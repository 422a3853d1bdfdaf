#!/bin/bash
# session 34 (prepared in session 33). Before the call:
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tls bench/proto/stage-timeline.patch
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh push bench/proto/mixed-push-epilogue.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh ahead bench/proto/mixed-convert-ahead.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh hd
#   cp bench/proto/run-next-s34.sh build-gpu/run-next.sh
# carry build-tl/bin/var build-gpu/bin/var build-gpu/run-next.sh
# (1) Where the code kernels' stage time goes after session 33's two register sets (SwiGLU-4096 int8 T <= 32 4-6 us
# faster): session 33 measured the consumers holding a 256-k stage 1.1-1.5 us at T = 16 of a 1.7-2 us cadence.
# (2) The pushed split epilogue for 16-token tiles (bench/proto/mixed-push-epilogue.patch): correctness (the mixed
# case: int8/fp8, gated, split; test_gpu_wgmma: float 16-token tiles), then A/B against head at T = 2..16 (the split
# GEMMs: GELU-4096's both, SwiGLU-4096's second), separate processes, two rounds. Run without a pipe into tail: a
# hang must not hide the finished lines. (3) The next stage's first 64 k converted ahead (bench/proto/
# mixed-convert-ahead.patch) in the same A/B.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for bt in gelu_i8_h4096:16 swiglu_i8_h4096:16 gelu_i8_h4096:64; do
  b=${bt%%:*}; t=${bt#*:}
  DSMLP_CACHE_DIR=/tmp/c-tl timeout 120 build-tl/bin/var/tls --block $b --tokens $t --reps 30 --no-tune > $OUT/tl-$b-$t.raw 2>&1
  echo "== $b T=$t rc=$? $((SECONDS-s0))s $(grep 'T=' $OUT/tl-$b-$t.raw | head -2 | tr '\n' ' ')"
  python3 bench/proto/stage_timeline.py < $OUT/tl-$b-$t.raw
  python3 bench/proto/epi_timeline.py < $OUT/tl-$b-$t.raw
done
CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/push-test_gpu_quant > $OUT/q-push.log 2>&1; echo "push quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-push.log | head -5
stdbuf -oL timeout 100 build-gpu/bin/var/push-test_gpu_wgmma > $OUT/w-push.log 2>&1; echo "push wgmma rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/w-push.log | head -5
CK_RUN_CASE=mixed stdbuf -oL timeout 150 build-gpu/bin/var/ahead-test_gpu_quant > $OUT/q-ahead.log 2>&1; echo "ahead quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/q-ahead.log | head -5
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    for v in hd push ahead; do
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 build-gpu/bin/var/$v --block $b --tokens 2,8,12,16,32 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $(row) $((SECONDS-s0))s"
    done
  done
done
