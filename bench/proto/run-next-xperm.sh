#!/bin/bash
# The real change behind the frag probe (run it only if bench/proto/run-next-s40.sh shows frag several us faster at
# T = 33..128): bench/proto/mixed-xperm.patch, DSMLP_PROTO_XPERM=1 - x k-permuted within 64-k groups
# (templates/common.cuh ds_kperm) by its writers (the norm kernel, a mixed GEMM's epilogue) wherever every reader is a
# mixed GEMM on codes at that T (exec_mixed.c dsmlpR_xperm; the flag rides in T's bits 60..61), and those kernels read
# a thread's 64 k of codes as one 16-byte chunk a row (rows sigma(g) in 128-byte boxes: no bank conflict). Prepared
# in session 39 (CPU-checked: every mixed / wgmma / norm kernel of quantized, llama3-8b and gpt2 compiles with ptxas,
# no spill, no C75xx; 16/32-token code kernels 71/79 -> 72/80 registers; CPU suite green but test_docs (README's
# llama3-8b bytes, 387560 -> 403432: update them if it lands). Before:
#   bash bench/build_variant.sh hd   (if not built yet)
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers" bash bench/build_variant.sh xperm bench/proto/mixed-xperm.patch; ninja -C build-gpu
#   bash bench/proto/prefill-next.sh   (if not done yet: the A/B's kernels compiled here)
# carry build-gpu/bin/var build-gpu/store-next.tar.xz; run: bash bench/proto/run-next-xperm.sh (~300-400 s; the
# tests compile their own kernels).
# To land it (design: options structs, one reader of the environment): the switch becomes a context option read in
# options.c (not the prototype's getenv in exec_mixed.c), on by default where dsmlpR_xperm allows; the flag a kernel
# argument or T's documented high bits; docs/quant.md and README's bytes updated; the whole GPU suite rerun.
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for c in mixed heuristic mixed_two_groups; do
  DSMLP_PROTO_XPERM=1 CK_RUN_CASE=$c DSMLP_CACHE_DIR=/tmp/c-t timeout 200 build-gpu/bin/var/xperm-test_gpu_quant > $OUT/xperm-$c.log 2>&1
  echo "XPERM=1 $c rc=$? $((SECONDS-s0))s"; grep -E "cases|Checks|FAIL|rel err" $OUT/xperm-$c.log | head -6
done
B="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096"
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
for r in 1 2; do
  for b in $B; do
    for v in hd xperm; do
      rm -f $OUT/m.md
      DSMLP_PROTO_XPERM=1 DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2,16,32,64,100,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
