#!/bin/bash
# Builds here (no GPU) everything run-next-s45-a/-b/-c.sh carry, on a fresh checkout: build-gpu (Release), the
# variants (desc and chain with their GPU tests; hd glf gpw gfw glp with test_gpu_quant), fused_decode and the
# kernel store of the A/B runs. About 5 min on 2 cores.
set -euo pipefail
export PATH=/usr/local/cuda/bin:$PATH
P=bench/proto
BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh desc $P/mixed-desc-land.patch
VARIANT_TESTS="test_gpu_chain test_gpu_quant" bash bench/build_variant.sh chain $P/decode-chain.patch
VARIANT_TESTS="test_gpu_chain" bash bench/build_variant.sh chain4 $P/decode-chain.patch $P/decode-chain-red4.patch
export VARIANT_TESTS="test_gpu_quant"
bash bench/build_variant.sh hd
bash bench/build_variant.sh glf $P/gemv-loads-first.patch
bash bench/build_variant.sh gpw $P/gemv-pdl-wait.patch
bash bench/build_variant.sh gfw $P/gemv-loads-first.patch $P/gemv-pdl-wait.patch
bash bench/build_variant.sh glp $P/gemv-loads-probe.patch
nvcc -O3 -std=c++17 -arch=sm_90 -Xcompiler -fopenmp $P/fused_decode.cu -lcublasLt "$(gcc -print-file-name=libgomp.a)" -o build-gpu/bin/fused_decode   # OpenMP linked in: the host reference on all cores
pairs=()
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 swiglu_fp8_h4096; do
  for v in hd glf gpw gfw glp chain chain4; do pairs+=($v:$b:1,2); done
done
for b in gelu_f16_h4096 swiglu_bf16_h4096; do
  pairs+=(hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=-1 hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=4)
done
for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do   # the chain on codes to T = 4 (mixed kernels off)
  pairs+=(hd:$b:1,2,3,4 chain:$b:1,2,3,4:DSMLP_MIXED_GEMM=0+DSMLP_DECODE_MAX_TOKENS=4)
done
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do pairs+=(hd:$b:8,16); done   # run-next-s45-b.sh's T = 8, 16 beside fused_tc
bash bench/store_prefill.sh build-gpu/store-next.tar.xz 1,2 "${pairs[@]}"
du -sh build-gpu/bin build-gpu/store-next.tar.xz
