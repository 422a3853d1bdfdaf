#!/bin/bash
# session 39 (prepared in session 38, CPU-checked: NVRTC compiles it (test_codegen_compile), the plan simulator's
# suite passes (host path), PTX of the GELU 8 instructions against tanhf's ~33): GELU and SiLU as x * sigmoid(.) with
# one ex2.approx and one rcp.approx (bench/proto/gelu-silu-sfu.patch). Why: the GEMM epilogues compute an activation
# per output on 256 consumer threads of one block a SM - at T = 1024 128 outputs a thread, ~30 instructions each for
# tanhf, ~3 us a block; GELU-4096 int8 T = 128's first GEMM spends 4.2 us from its last stage to its end (session 38's
# timeline), and T = 1024 is 1.07x f16 against issue 10's 1.05x. Accuracy (float32 emulation with exact exp2 and
# reciprocal, 250,000 points in [-12, 12] and N(0, 1)): max relative error 1.9e-6 where |GELU| > 1e-6 (tanh form:
# 6.6e-2 there, its 1 + tanh(u) cancelling for x < 0), max absolute 5.1e-7 (tanh form 4.3e-7).
# Before the call:
#   bash bench/build_variant.sh hd ; bash bench/build_variant.sh act bench/proto/gelu-silu-sfu.patch
#   cp bench/proto/run-next-s39-act.sh build-gpu/run-next.sh
# carry build-gpu/bin build-gpu/lib build-gpu/run-next.sh (~250 s). If act wins: apply the patch to the tree, rebuild,
# and run the whole GPU suite (every kernel with an activation changes): bench/proto/run-s39-suite.sh. The patch carries
# test_codegen's expectations (ex2/rcp.approx in the gated source) and README's dsmlp-compile bytes (387560 -> 359336).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
for b in gelu_i8_h4096 gelu_f16_h4096 swiglu_i8_h4096 swiglu_bf16_h4096; do   # one store: only activation kernels differ
  for v in hd act; do DSMLP_CACHE_DIR=/tmp/c-b timeout 100 build-gpu/bin/var/$v --block $b --tokens 2 --reps 2 --no-tune --layout out_in > /dev/null 2>&1; done
  echo "warm $b $((SECONDS-s0))s"
done
for r in 1 2; do
  for b in gelu_i8_h4096 gelu_f16_h4096 swiglu_i8_h4096 swiglu_bf16_h4096; do
    for v in hd act; do
      DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,16,64,128,256,1024 --reps 30 --no-tune --layout out_in --md $OUT/m.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
done
