#!/usr/bin/env bash
# Prepared in the sixty-eighth session for the next session's first call (~200 s on an H100; any card): the landing
# form of the interleaved k split, variant mkl (bench/proto/mixed-k-interleave-land.patch; the sixty-eighth session's
# probe mki won 0.5-3.6 us at T = 8..256 on an H100 but left two questions):
#   (1) is the T = 1024 loss (SwiGLU-4096 int8 / fp8: main 499-502 us, mki 501-537 in five of eight runs, main always
#       run first) the kernels' or the order's? At T = 1024 the mixed kernels take 256-token tiles, too many for a k
#       split, where the interleaved kernels read the same k blocks in the same order: A/B with mkl first, then main
#       first, and main with the mixed kernels off (DSMLP_MIXED_GEMM=0: which route serves T = 1024);
#   (2) mkl's test_gpu_quant (every case: mixed and mixed_two_groups among them) and test_gpu_wgmma (the same template
#       on f16 / bf16 weights) against the CPU reference;
#   (3) ncu per kernel of main and mkl at T = 1024; (4) mkl against main at T = 3..256, two rounds.
# Build: VARIANT_TESTS="test_gpu_quant test_gpu_wgmma" bash bench/build_variant.sh mkl bench/proto/mixed-k-interleave-land.patch
# Carry build-gpu/bin build-gpu/lib. If mkl wins and its tests pass: git apply the patch, the whole GPU suite
# (LIMIT=480 bash bench/proto/run-s55-suite.sh), README/CHANGELOG.
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/mkl
for r in 1 2; do
  for blk in swiglu_i8_h4096 swiglu_fp8_h4096; do
    echo "== $blk r$r (mkl first)"
    bench_run mkl $V out_in 256,1024 50; bench_run main $B out_in 256,1024 50
    echo "== $blk r$r (main first)"
    bench_run main $B out_in 256,1024 50; bench_run mkl $V out_in 256,1024 50
    [ $r = 1 ] && bench_run "main, mixed off" $B out_in 256,1024 50 DSMLP_MIXED_GEMM=0
  done
done
echo "== T = 1024 A/B done at $(( $(date +%s) - t0 )) s"
for t in test_gpu_quant test_gpu_wgmma; do
  timeout 200 build-gpu/bin/var/mkl-$t > /tmp/$t.log 2>&1
  echo "mkl $t rc $?: $(grep -E '^[0-9]+%:' /tmp/$t.log)"; grep -E "^FAIL|cases|card" /tmp/$t.log | head -8
done
echo "== tests done at $(( $(date +%s) - t0 )) s"
B=build-gpu/bin/dsmlp-bench ncu_prof main out_in swiglu_i8_h4096 1024
B=$V ncu_prof mkl out_in swiglu_i8_h4096 1024
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk out_in r$r"; bench_run main $B out_in 3,8,16,64,128,256 50; bench_run mkl $V out_in 3,8,16,64,128,256 50
  done
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$r"; bench_run main $B out_in 3,8,16,32,64,128 50; bench_run mkl $V out_in 3,8,16,32,64,128 50
  done
done
echo "== run-s73.sh took $(( $(date +%s) - t0 )) s"
