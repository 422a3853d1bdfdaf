#!/usr/bin/env bash
# Sixty-ninth session, call 3 (~520 s on an H100): the interleaved k split only where a stage is under 256 k (mkc: the
# working tree = bench/proto/mixed-k-interleave-land.patch with DS_KI) against main (build-gpu/bin/var/main), then the
# whole GPU suite on the working tree. Call 1 (run-s73.sh) found mkl 0.4-0.7 us slower at T = 3..16 int8 (the second
# GEMM's 16-token kernels: 256-k stages), faster at T = 64..256 and level at T = 1024 in either order.
#   prep: bench/store_prefill.sh build-gpu/bin/s74/store.tar.xz (below)    carry: build-gpu/bin build-gpu/lib
#         build-gpu/tests build-gpu/CTestTestfile.cmake
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s74/store.tar.xz
export DSMLP_COMPILE_THREADS=16
M=build-gpu/bin/var/main C=build-gpu/bin/dsmlp-bench
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    if [ $((r % 2)) = 1 ]; then bench_run main $M out_in 3,8,16,32,64,128,256 50; bench_run mkc $C out_in 3,8,16,32,64,128,256 50
    else bench_run mkc $C out_in 3,8,16,32,64,128,256 50; bench_run main $M out_in 3,8,16,32,64,128,256 50; fi
  done
  [ $r = 3 ] && break
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then bench_run main $M out_in 3,8,16,32,64,128 50; bench_run mkc $C out_in 3,8,16,32,64,128 50
    else bench_run mkc $C out_in 3,8,16,32,64,128 50; bench_run main $M out_in 3,8,16,32,64,128 50; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s; the GPU suite on the working tree"
unset DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS
LIMIT=$(( 590 - ($(date +%s) - t0) )) bash bench/proto/run-s55-suite.sh
echo "== run-s74.sh took $(( $(date +%s) - t0 )) s"
