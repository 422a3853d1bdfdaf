#!/bin/bash
# session 30 (prepared in session 29). Before the first call:
#   BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh            (a fresh checkout)
#   VARIANT_TESTS="test_gpu_wgmma" bash bench/build_variant.sh bk128 bench/proto/wgmma-float-128k-stages.patch
#   cp bench/proto/run-next-s30.sh build-gpu/run-next.sh
# carry build-gpu/bin/dsmlp-bench build-gpu/bin/var/bk128 build-gpu/bin/var/bk128-test_gpu_wgmma build-gpu/lib
# build-gpu/run-next.sh
# Call 1: (a) the float wgmma kernels with 128 k a stage against 64 (head), [out,in], T = 33..128, two rounds, and
# the variant's correctness (test_gpu_wgmma, both layouts); (b) the head's float wgmma kernels pinned above T = 128
# (128-token tiles only for float weights) against cuBLASLt, both layouts: does the T = 65..128 gain on [in,out]
# SwiGLU continue past 128?; (c) peers on the default [in,out] layout (issue 9's table) with the T = 65..128 rule.
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
timeout 200 stdbuf -oL build-gpu/bin/var/bk128-test_gpu_wgmma > $OUT/wg.log 2>&1; echo "bk128 test rc=$?"; grep -E '^==|FAIL' $OUT/wg.log | head
for r in 1 2; do
  for v in build-gpu/bin/dsmlp-bench build-gpu/bin/var/bk128; do
    for b in gelu_f16_h4096 swiglu_bf16_h4096; do
      timeout 120 $v --block $b --tokens 33,64,100,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $(basename $v) $b $(row)"
    done
  done
done
for lay in out_in in_out; do
  for m in 0 2; do
    for b in gelu_f16_h4096 swiglu_bf16_h4096; do
      DSMLP_MIXED_GEMM=$m timeout 120 build-gpu/bin/dsmlp-bench --block $b --tokens 129,192,256,384,512 --reps 30 --no-tune --layout $lay --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "$lay mixed=$m $b $(row)"
    done
  done
done
timeout 300 env PYTHONUNBUFFERED=1 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so --tokens 1,16,64,128 \
  --blocks gelu_f16_h4096,swiglu_bf16_h4096 --reps 100 > $OUT/peers.log 2>&1; echo "peers rc=$?"
grep -E '^card|^measured|^\|' $OUT/peers.log
