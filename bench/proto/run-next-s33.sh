#!/bin/bash
# session 33 (prepared in session 32). Before the call:
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh nrm bench/proto/mixed-norm-rms-v2.patch
#   cp bench/proto/run-next-s33.sh build-gpu/run-next.sh
# carry build-gpu/bin/var build-gpu/lib build-gpu/run-next.sh
# The RMSNorm inside the int8/fp8 kernels, v2 (session 32's v1, bench/proto/mixed-norm-rms.patch, put a transform on
# every stage's critical path and ran 5-95 us slower): g multiplies the converted weight pairs, X + A as two wgmmas,
# the reading warps only hold the stage's release. (1) correctness: CK_RUN_CASE=mixed test_gpu_quant (206 cases; the
# twins serve T <= 128: the 2880 case's T = 2, 33, 100 and the 2048 case's), test_gpu_wgmma (floats: no twins);
# (2) DSMLP_MIXED_NORM=0 / 1 in separate processes, two rounds: SwiGLU-4096 int8 [out,in] T = 2..128 (the norm costs
# 1.5-6 us there: session 32's bound). Run without a pipe into tail: a hang must not hide the finished lines.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
CK_RUN_CASE=mixed stdbuf -oL timeout 240 build-gpu/bin/var/nrm-test_gpu_quant > $OUT/quant.log 2>&1; echo "quant mixed rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/quant.log | head; grep -c '^ok' $OUT/quant.log
stdbuf -oL timeout 100 build-gpu/bin/var/nrm-test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "wgmma rc=$? $((SECONDS-s0))s"; grep -E '^==|^[0-9]+%|FAIL' $OUT/wgmma.log | head
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for nn in 0 1; do
    for b in swiglu_i8_h4096 swiglu_fp8_h4096; do
      DSMLP_MIXED_NORM=$nn DSMLP_CACHE_DIR=/tmp/c-nrm timeout 90 build-gpu/bin/var/nrm --block $b --tokens 2,9,16,32,64,100,128 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r norm$nn $b $(row) $((SECONDS-s0))s"
    done
  done
done
