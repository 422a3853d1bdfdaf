#!/usr/bin/env bash
# Eighty-fourth session: everything run-s113.sh / run-s113t.sh need, rebuilt here from a fresh checkout (a session's
# build folder does not survive it; ~8 min on 16 cores): the Release build, the variants xw2 / xw3 / epi / nocv, the
# int8-planes probe binary and the kernel stores (s113, and s110 for run-s110s.sh). Then: run-s113.sh, run-s113t.sh
# (carry build-gpu/bin build-gpu/lib), run-s110s.sh (carry also build-gpu/tests build-gpu/CTestTestfile.cmake).
#   bash bench/proto/prep-s113.sh
set -euo pipefail
P=bench/proto
[ -x build-gpu/bin/dsmlp-bench ] || BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh xw2 $P/mixed128-wait2.patch
VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh xw3 $P/mixed128-wait2.patch $P/mixed128-wait3.patch
VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh epi $P/mixed-epi-inputs-first.patch
VARIANT_TESTS=" " bash bench/build_variant.sh nocv $P/mixed-no-conversion-probe.patch
nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a $P/igmma_x2.cu -lcublasLt -o build-gpu/bin/igmma_x2
bash bench/store_prefill.sh build-gpu/bin/s113/store.tar.xz 65,100,128,256,1024 \
  {build-gpu/bin/dsmlp-bench,xw2,xw3,epi}:{gelu_i8_h4096,swiglu_i8_h4096,gelu_fp8_h4096} \
  {build-gpu/bin/dsmlp-bench,epi}:gelu_f16_h4096 nocv:{gelu_i8_h4096,swiglu_i8_h4096}
# run-s110s.sh's store too (main's kernels at T <= 16 and the 128-token ones it profiles)
B=build-gpu/bin/dsmlp-bench
bash bench/store_prefill.sh build-gpu/bin/s110/store.tar.xz 1,2,3,4,8,16 $B:gelu_i8_h4096 $B:swiglu_i8_h4096 \
  $B:gelu_fp8_h4096 $B:swiglu_fp8_h4096 $B:gelu_i8_h4096:128 $B:swiglu_i8_h4096:128
du -sh build-gpu/bin build-gpu/lib   # carry limit: 64 MiB in all
