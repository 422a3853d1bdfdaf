#!/bin/bash
# session 32 (prepared in session 31). Before the call:
#   VARIANT_TESTS="test_gpu_wgmma test_gpu_quant" bash bench/build_variant.sh epi bench/proto/mixed-epilogue-items.patch
#   cp bench/proto/run-next-s32.sh build-gpu/run-next.sh
# carry build-gpu/bin/dsmlp-bench build-gpu/bin/var/epi build-gpu/bin/var/epi-test_gpu_wgmma
#       build-gpu/bin/var/epi-test_gpu_quant build-gpu/lib build-gpu/run-next.sh
# Session 31's timeline (SwiGLU-4096 [in,out] T = 8, wgmma pinned): the split second GEMM's epilogue took 3.2-3.4 us
# (the unsplit first GEMM's 0.74): 64-token tiles split 7 ways left every block but the first without tokens below T
# to sum. The patch shares the outputs below T evenly over the cluster. (1) correctness; (2) pinned and as-loaded
# A/B at T = 2..64 for the float kernels, T = 9..16 for int8 (the mixed kernels' split clusters), separate processes;
# (3) the tuner with the patch: does it take the wgmma second GEMM at T <= 32 now?
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 120 build-gpu/bin/var/epi-test_gpu_wgmma > $OUT/wgmma.log 2>&1; echo "epi test_gpu_wgmma rc=$?"; grep -E '^==|^[0-9]+%' $OUT/wgmma.log
CK_RUN_CASE=mixed timeout 200 build-gpu/bin/var/epi-test_gpu_quant > $OUT/quant.log 2>&1; echo "epi test_gpu_quant mixed rc=$?"; grep -E '^==|^[0-9]+%' $OUT/quant.log
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' '; rm -f $OUT/m.md; }
for r in 1 2; do
  for v in build-gpu/bin/dsmlp-bench build-gpu/bin/var/epi; do
    for m in 2 1; do
      for cf in in_out:swiglu_bf16_h4096 out_in:gelu_f16_h4096; do
        lay=${cf%%:*} b=${cf#*:}
        DSMLP_MIXED_GEMM=$m DSMLP_CACHE_DIR=/tmp/c-$(basename $v) timeout 120 $v --block $b --tokens 2,8,16,32,64 --reps 30 --no-tune --layout $lay --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
        echo "r$r $(basename $v) mixed_gemm=$m $lay $b $(row)"
      done
    done
    for b in gelu_i8_h4096 swiglu_i8_h4096; do
      DSMLP_CACHE_DIR=/tmp/c-$(basename $v) timeout 120 $v --block $b --tokens 9,12,16 --reps 30 --no-tune --layout out_in --md $OUT/m.md > $OUT/l.log 2>&1 || tail -3 $OUT/l.log
      echo "r$r $(basename $v) out_in $b $(row)"
    done
  done
done
for cf in in_out:swiglu_bf16_h4096 out_in:gelu_f16_h4096; do
  lay=${cf%%:*} b=${cf#*:}
  DSMLP_CACHE_DIR=/tmp/t-epi timeout 200 build-gpu/bin/var/epi --block $b --tokens 2,8,16,32,64 --reps 30 --layout $lay > $OUT/t.log 2>&1 || tail -3 $OUT/t.log
  echo "== epi tuned $lay $b"; grep -E "^  T |\] " $OUT/t.log | head -30
  grep -E "T=" $OUT/t.log | awk '{print $2, "load", $4, "tuned", $10}' | tr '\n' ';'; echo
done
