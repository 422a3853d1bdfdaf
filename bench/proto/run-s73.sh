#!/usr/bin/env bash
# Sixty-eighth session, last call (~300 s of device time left): (1) is variant mki's T = 1024 loss (H100, SwiGLU-4096
# int8 / fp8: main 499-502 us, mki 501-537 in five runs, main always run first) its kernels or the order? At T = 1024
# the mixed kernels take 256-token tiles with no k split, where mki computes the same k blocks in the same order:
# A/B with mki first, and main with the mixed kernels off (DSMLP_MIXED_GEMM=0) to see which route serves T = 1024;
# (2) mki's test_gpu_wgmma (the same template on f16/bf16 weights, against the CPU reference; its test_gpu_quant
# mixed case passed in this session's first call); (3) ncu per kernel of main and mki at T = 1024.
# Carry build-gpu/bin build-gpu/lib (variant binaries: build-gpu/bin/var/mki, mkiw-test_gpu_wgmma).
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
for r in 1 2; do
  for blk in swiglu_i8_h4096 swiglu_fp8_h4096; do
    echo "== $blk r$r (mki first)"
    bench_run mki build-gpu/bin/var/mki out_in 256,1024 50; bench_run main build-gpu/bin/dsmlp-bench out_in 256,1024 50
    [ $r = 1 ] && bench_run "main, mixed off" build-gpu/bin/dsmlp-bench out_in 256,1024 50 DSMLP_MIXED_GEMM=0
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
timeout 150 build-gpu/bin/var/mkiw-test_gpu_wgmma > /tmp/w.log 2>&1
echo "mki test_gpu_wgmma rc $?: $(grep -E '^[0-9]+%:' /tmp/w.log)"; grep -E "^FAIL|cases|card" /tmp/w.log | head -6
echo "== wgmma test done at $(( $(date +%s) - t0 )) s"
B=build-gpu/bin/dsmlp-bench ncu_prof main out_in swiglu_i8_h4096 1024
B=build-gpu/bin/var/mki ncu_prof mki out_in swiglu_i8_h4096 1024
echo "== run-s73.sh took $(( $(date +%s) - t0 )) s"
