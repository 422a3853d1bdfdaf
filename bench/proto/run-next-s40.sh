#!/bin/bash
# Next session's first call (prepared in session 39, which was lent no device machine): two A/Bs against head in one
# store, one process per (build, block), rounds r1 / r2:
#   act  = gelu-silu-sfu.patch, landed as 3b0c496 and removed (GELU / SiLU as x * sigmoid through ex2.approx + rcp.approx; every kernel
#          with an activation; the question: T = 1024's epilogue, int8 1.07x f16 against issue 10's 1.05x)
#   xperm = bench/proto/mixed-xperm.patch (ready to land: context option mixed_xperm, on by default): x k-permuted by its writers (the norm, the first
#          mixed GEMM's epilogue) so that the code kernels read a thread's codes of 64 k as one 16-byte chunk a row (2
#          shared loads instead of 16 a 64 k, the int8 sign flip once a word). The question: is the 64-token kernels'
#          47% of the tensor rate the shared loads and conversion? Its correctness runs are in
#          bench/proto/run-next-xperm.sh (run them next if it wins). (bench/proto/mixed-frag-probe.patch is the same
#          read as a timing probe with wrong results, should xperm fail on the card.)
#   desc  = bench/proto/mixed-desc-land.patch (was mixed-desc-add.patch, the same code with prototype comments): the wgmma descriptors of a 64 k built once and stepped (ptxas rebuilt
#          each: the 64-token int8 kernel's stage loop 236 -> 217 SASS instructions, nvdisasm, session 40); also the
#          float wgmma kernels (GELU f16 / SwiGLU bf16 at T = 33..128)
#   x64   = bench/proto/mixed-64tok-xstage.patch: the 64-token code kernels convert across stages (DS_XSTAGE) now that
#          their consumers hold 96 registers (the thirty-fifth session's 21-us loss came at the launch bound's 80)
#   xdx   = xperm + desc + x64: the three patches applied in that order (ptxas: no spill, no
#          C75xx; the 64-token int8 stage loop 371 SASS instructions with both reads, against xperm's 376)
# Correctness of a winner before landing: its CK_RUN_CASE=mixed test_gpu_quant (and test_gpu_wgmma for desc).
# Before the call (about 1 min here):
#   rm -rf build-gpu/bin/var; bash bench/build_variant.sh hd
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers" bash bench/build_variant.sh xperm bench/proto/mixed-xperm.patch
#   VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh desc bench/proto/mixed-desc-land.patch
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh x64 bench/proto/mixed-64tok-xstage.patch
#   VARIANT_TESTS="test_gpu_quant test_gpu_layers test_gpu_wgmma" bash bench/build_variant.sh xdx bench/proto/mixed-{xperm,desc-add,64tok-xstage}.patch
#   ninja -C build-gpu
#   bash bench/proto/prefill-next.sh   (every kernel the next calls' dsmlp-bench runs load, compiled here: one store)
# carry build-gpu/bin/var build-gpu/store-next.tar.xz; run: bash bench/proto/run-next-s40.sh (~250-400 s: 42
# processes of ~5-10 s with the carried store; without it each (build, block) pair first compiles ~30 s).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
vars() { case $1 in gelu_i8*|swiglu_i8*) echo "hd act xperm desc x64 xdx";; *fp8*) echo "hd xperm xdx";; *) echo "hd act desc";; esac; }
B="gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 swiglu_fp8_h4096"
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
for r in 1 2; do
  for b in $B; do
    for v in $(vars $b); do
      rm -f $OUT/m.md   # a process that fails must not print the one before's row
      DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 1,2,16,32,64,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
