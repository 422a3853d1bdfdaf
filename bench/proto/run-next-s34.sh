#!/bin/bash
# session 34 (prepared in session 33). Before the call:
#   BUILD_DIR=build-tl VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh tls bench/proto/stage-timeline.patch
#   cp bench/proto/run-next-s34.sh build-gpu/run-next.sh
# carry build-tl/bin/var build-gpu/run-next.sh
# Where the code kernels' stage time goes after session 33's two register sets (SwiGLU-4096 int8 T <= 32 4-6 us
# faster): session 33 measured the consumers holding a 256-k stage 1.1-1.5 us at T = 16 of a 1.7-2 us cadence. How
# much hold is left decides between converting the next stage's first 64 k under this stage's last wgmmas, and the
# split epilogue (2.4 us after a cluster's last block, plus a 2 us skew in clusters of 7). Run without a pipe into
# tail: a hang must not hide the finished lines.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for bt in gelu_i8_h4096:16 swiglu_i8_h4096:16 swiglu_i8_h4096:2 gelu_i8_h4096:64; do
  b=${bt%%:*}; t=${bt#*:}
  DSMLP_CACHE_DIR=/tmp/c-tl timeout 120 build-tl/bin/var/tls --block $b --tokens $t --reps 30 --no-tune > $OUT/tl-$b-$t.raw 2>&1
  echo "== $b T=$t rc=$? $((SECONDS-s0))s $(grep 'T=' $OUT/tl-$b-$t.raw | head -2 | tr '\n' ' ')"
  python3 bench/proto/stage_timeline.py < $OUT/tl-$b-$t.raw
  python3 bench/proto/epi_timeline.py < $OUT/tl-$b-$t.raw
done
