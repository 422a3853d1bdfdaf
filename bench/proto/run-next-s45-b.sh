#!/bin/bash
# A device call prepared in sessions 45-46 (no device lent in either): the one-kernel decode block prototypes
# (bench/proto/fused_decode.cu: f16-pair forms at T <= 4, and fused_tc.cuh's tensor-core forms at T = 1..16 on int8,
# fp8 and f16 weights) against the read stream of the same bytes; the chain in dsmlp (decode-chain.patch = chain,
# + decode-chain-red4.patch = chain4; after run-next-s45-c.sh passed) against main (hd) at T = 1, 2 on five blocks, and
# on codes to T = 4 against the mixed kernels; main's int8 / fp8 / f16 / bf16 blocks at T = 8, 16 beside the
# prototype. The [out,in] GEMV A/B of session 41 (run-next-s41-gemv.sh: glf, gpw, gfw, glp, d4 against hd) is a call
# of its own now (bash bench/proto/run-next-s41-gemv.sh > $OUT/g.log 2>&1; same carry): together they passed 600 s.
# Before the call (a fresh checkout has no build-gpu): bash bench/proto/prepare-next-s45.sh (10 min here), which
# builds build-gpu (Release), the variants (hd glf gpw gfw glp chain chain4 desc), fused_decode
# (nvcc ... -Xcompiler -fopenmp ... $(gcc -print-file-name=libgomp.a): OpenMP for the host reference, linked in)
# and the kernel store of these runs.
# carry build-gpu/bin build-gpu/store-next.tar.xz (44 MiB); run: bash bench/proto/run-next-s45-b.sh > $OUT/b.log 2>&1
# (~40-60 s for fused_decode, ~200 s for the chain A/B, ~100 s for codes to T = 4, ~100 s for T = 8, 16: ~450 s;
# timeout_s 600). fused_decode prints a table; an ERROR line means a form's output missed the reference by more
# than 4e-3 of the largest |W2 h| term (its exit status is then 1).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b
timeout 180 build-gpu/bin/fused_decode > $OUT/fused.log 2>&1; echo "fused_decode rc $?"; cat $OUT/fused.log
# main's own blocks at the prototype's T = 8, 16 (the mixed kernels serve there), same card, same call
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    rm -f $OUT/c.md
    DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/hd --block $b --tokens 8,16 --reps 30 --no-tune --layout out_in --md $OUT/c.md > /dev/null 2>&1
    echo "r$r hd $b T=8,16: $(grep -v -e ' card ' -e '---' $OUT/c.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ')"
  done
done
# the chain (bench/proto/decode-chain.patch) against main, one process per (build, block), two rounds
s0=$SECONDS
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    for v in hd chain chain4; do   # chain4: decode-chain-red4.patch on the chain (a vector reduction a 4 rows)
      rm -f $OUT/c.md
      DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,2 --reps 30 --no-tune --layout out_in --md $OUT/c.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/c.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
# the chain on codes at T = 2..4 (its GEMVs to T = 4 with the mixed kernels off) against main (mixed kernels from T = 2)
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do
    rm -f $OUT/c.md
    DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/hd --block $b --tokens 1,2,3,4 --reps 30 --no-tune --layout out_in --md $OUT/c.md > /dev/null 2>&1
    echo "r$r hd $b T=1..4: $(grep -v -e ' card ' -e '---' $OUT/c.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ')"
    rm -f $OUT/c.md
    DSMLP_MIXED_GEMM=0 DSMLP_DECODE_MAX_TOKENS=4 DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/chain --block $b --tokens 1,2,3,4 --reps 30 --no-tune --layout out_in --md $OUT/c.md > /dev/null 2>&1
    echo "r$r chain to T=4 $b T=1..4: $(grep -v -e ' card ' -e '---' $OUT/c.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ')"
  done
done
