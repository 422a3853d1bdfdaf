#!/bin/bash
# A device call prepared in session 45 (no device lent): the one-kernel int8 decode block prototype
# (bench/proto/fused_decode.cu) against its two-kernel twin and the read stream; the chain in dsmlp
# (bench/proto/decode-chain.patch, after run-next-s45-c.sh passed) against main at T = 1, 2; then the [out,in] GEMV A/B (whose hd rows are main's own GELU/SwiGLU-4096 int8 at T = 1, 2) that session 41 prepared (run-next-s41-gemv.sh: glf, gpw, gfw, glp, d4 against hd).
# Before the call (a fresh checkout has no build-gpu): bash bench/proto/prepare-next-s45.sh (about 4 min here), which does:
#   BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
#   nvcc -O3 -std=c++17 -arch=sm_90 bench/proto/fused_decode.cu -Xcompiler -fopenmp -lcublasLt $(gcc -print-file-name=libgomp.a) -o build-gpu/bin/fused_decode
#   the variants and the store as run-next-s41-gemv.sh's header says (hd glf gpw gfw glp; store_prefill.sh with its
#   pairs only: prefill-next.sh's s39 pairs need bal / tlbal too)
# carry build-gpu/bin build-gpu/store-next.tar.xz (34 MiB); run: bash bench/proto/run-next-s45-b.sh > $OUT/b.log 2>&1
# (~40-60 s for fused_decode (T = 1..16; host references), ~70 s for the A/B, then 180-280 s). fused_decode prints a table; an ERROR line means a variant's output
# missed the reference by more than 4e-3 of the largest |W2 h| term.
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
bash bench/proto/run-next-s41-gemv.sh
