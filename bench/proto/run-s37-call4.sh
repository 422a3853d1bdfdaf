#!/bin/bash
# session 37, call 4: 6 stages (200 KiB) for the float 128-token wgmma kernels (session 36's
# mixed-float128-200k-stages.patch, applied to the working tree: build-gpu/bin/dsmlp-bench and the suites) against
# head (build-gpu/bin/var/head), 3 rounds, then the whole GPU suite on the change (its mlp_family did not finish in
# session 36's 250 s). carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-gpu/run-next.sh
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2 3; do
  for bl in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in swiglu_bf16_h4096:in_out; do
    b=${bl%:*} l=${bl#*:}
    for v in head f200; do
      bin=build-gpu/bin/dsmlp-bench; [ $v = head ] && bin=build-gpu/bin/var/head
      DSMLP_CACHE_DIR=/tmp/c-$v timeout 90 $bin --block $b --tokens 64,65,100,128 --reps 30 --no-tune --layout $l --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $v $b $l $(row) $((SECONDS-s0))s"
    done
  done
done
rm -rf build-gpu/bin/var
timeout 450 ctest --test-dir build-gpu -L gpu -E test_gpu_stream -j 8 --timeout 440 2>&1
echo "suite $((SECONDS-s0))s"
