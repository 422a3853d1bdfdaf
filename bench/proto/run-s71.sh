#!/usr/bin/env bash
# Prepared in the sixty-seventh session for the next session's first call (any card; most wanted first, so a call
# cut by its limit still returns the first parts in $OUT/log.txt):
#   (0) bench/proto/pair_stream.cu with KI=0 / 1 (the GEMMs alone, contiguous or interleaved k shares);
#   (1) variant mki (bench/proto/mixed-k-interleave.patch: the mixed-input kernels' k split interleaved over the
#       cluster) against main, two rounds: int8 / fp8 blocks at T = 3, 8, 16, 64, 128, 1024 ([out,in]), float blocks
#       at T = 3, 8, 16, 64 (the H100's wgmma pair splits k in its second GEMM; on an H200 they run cuBLASLt there, so
#       the float rows say nothing there);
#   (1b) variant npf (bench/proto/norm-prefetch-next.patch: the norm kernel's extra blocks prefetch the weight lines
#       that cuBLASLt or the wide decode GEMV reads next) against main, float blocks T = 3..128, three knob settings;
#   (3a) on an H200 only: the wide code GEMMs' T = 2 (mixed kernel, auto) against GEMVs to T = 2;
#   (0b) on an H100: main's gemv_wide case (the 4-token wide GEMVs run on cards under 4 TB/s only; the sixty-seventh
#       session's GPU suite ran on an H200);
#   (2) mki's test_gpu_quant mixed case (the split kernels against the CPU reference); on an H100 npf's gemv_wide case;
#   (3) on an H200 only: run-s70.sh (ncu per kernel there, the SwiGLU T = 8 spread, the wac4 A/B).
#   prep: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -o build-gpu/bin/pair_stream bench/proto/pair_stream.cu
#         VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh mki bench/proto/mixed-k-interleave.patch
#         VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh npf bench/proto/norm-prefetch-next.patch
#         cp build-gpu/tests/test_gpu_mlp_family build-gpu/bin/var/main-test_gpu_mlp_family
#         VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh wac4 bench/proto/decode-wide-any-card.patch
#   carry: build-gpu/bin build-gpu/lib     (timeout_s 590: ~450 s on an H100; on an H200 ~650: run-s70.sh, last, may be cut)
t0=$(date +%s)
# (0) the pair probe's GEMMs alone with contiguous and interleaved k shares (KI=1; ~2 s): the pattern alone
for ki in 0 1; do KI=$ki timeout 60 build-gpu/bin/pair_stream | grep -E "^card|^k split|alone|two-7"; done
# main's 4-token wide GEMVs against the CPU reference where they run (cards under 4 TB/s: the H100)
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  CK_RUN_CASE=gemv_wide DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu DSMLP_COMPILE_THREADS=16 timeout 120 \
    build-gpu/bin/var/main-test_gpu_mlp_family > /tmp/g.log 2>&1
  echo "main (9b2dedd's 4-token wide GEMVs) test_gpu_mlp_family gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/g.log)"
  grep -E "^FAIL|cases \(" /tmp/g.log | head -4
fi
(
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk out_in r$r"
    bench_run main $B out_in 3,8,16,64,128,1024 50; bench_run mki build-gpu/bin/var/mki out_in 3,8,16,64,128,1024 50
  done
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$r"
    bench_run main $B out_in 3,8,16,64 50; bench_run mki build-gpu/bin/var/mki out_in 3,8,16,64 50
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
# (1b) variant npf (bench/proto/norm-prefetch-next.patch): the norm kernel's extra blocks ask L2 for the first lines
# of the weight rows that cuBLASLt (the H200's float blocks at T = 3..128) or the wide decode GEMV (the H100's at
# T = 3..4) reads next; default knobs and two others (on the H100 T = 8..128 run the wgmma kernels: a control)
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$r"
    bench_run main $B out_in 3,4,8,16,64,128 50; bench_run npf build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50
    bench_run "npf lines 16" build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50 DSMLP_NPF_LINES=16
    bench_run "npf 4 places x 4 lines" build-gpu/bin/var/npf out_in 3,4,8,16,64,128 50 DSMLP_NPF_LINES=4 DSMLP_NPF_SPLITS=4
  done
done
echo "== npf A/B done at $(( $(date +%s) - t0 )) s"
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  # (3a) the wide code GEMM's T = 2 on the H200: auto (its mixed kernel, the H100's rule since d3293e8) against both
  # GEMVs to T = 2 (DSMLP_DECODE_MAX_TOKENS=2); on the H200 SwiGLU-4096 int8 took 59.7 us at T = 2, 58.9 at T = 3
  for r in 1 2; do
    for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
      echo "== $blk out_in r$r"
      bench_run auto build-gpu/bin/dsmlp-bench out_in 1,2,3 50
      bench_run "gemvs to 2" build-gpu/bin/dsmlp-bench out_in 1,2,3 50 DSMLP_DECODE_MAX_TOKENS=2
    done
  done
  echo "== T = 2 A/B done at $(( $(date +%s) - t0 )) s"
fi
CK_RUN_CASE=mixed timeout 200 build-gpu/bin/var/mki-test_gpu_quant > /tmp/m.log 2>&1
echo "mki test_gpu_quant mixed rc $?: $(grep -E '^[0-9]+%:' /tmp/m.log)"; grep -E "^FAIL|cases \(" /tmp/m.log | head -4
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then   # npf's norm before the wide GEMVs
  CK_RUN_CASE=gemv_wide timeout 120 build-gpu/bin/var/npf-test_gpu_mlp_family > /tmp/n.log 2>&1
  echo "npf test_gpu_mlp_family gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/n.log)"; grep -E "^FAIL|cases \(" /tmp/n.log | head -4
fi
)
echo "== mki / npf / T = 2 part took $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && bash bench/proto/run-s70.sh
echo "== run-s71.sh took $(( $(date +%s) - t0 )) s"
