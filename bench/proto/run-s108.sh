#!/usr/bin/env bash
# Seventy-eighth session's first call (~300 s), most wanted first: (3), (2), then (1). (1) ncu of GELU- / SwiGLU-4096 int8's 128-token mixed
# kernels (where the T = 128 code GEMMs lose their tensor rate); (2) tw200 (bench/proto/mixed-twin-200k-stages.patch:
# the one-a-SM twins of the <= 64-token code kernels take the 128-token kernels' 200 KiB of stages, 5 stages of 40 KiB
# at T <= 16 instead of 4) against main, two rounds, T = 3..64: on the H200 the T = 16 code GEMMs stream at 2.7-2.9
# TB/s of 4.13; (3) the second GEMM at T = 2 on its mixed kernel (DSMLP_DECODE_MAX_TOKENS=1; the serial split
# and the trigger came after the sixty-second session chose its GEMV there): SwiGLU-4096 int8 T = 2 reads 60.0 us on the H200
# against 55.1 at T = 3. The tests follow in run-s108t.sh (a second call while the machine is warm).
#   prep: bench/build_variant.sh tw200 bench/proto/mixed-twin-200k-stages.patch (VARIANT_TESTS=test_gpu_quant);
#         bench/store_prefill.sh build-gpu/bin/s108/store.tar.xz 3,8,16,32,64 over build-gpu/bin/dsmlp-bench and tw200
#         x gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; 1,2 (and DSMLP_DECODE_MAX_TOKENS=1) x the four code blocks (SEED: build-gpu/bin/s107/store.tar.xz, which holds the
#         128-token kernels)
#   carry: build-gpu/bin build-gpu/lib build-gpu/tests
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s108/store.tar.xz
export DSMLP_COMPILE_THREADS=16
echo "== the second GEMM at T = 2: its GEMV (main) or its mixed kernel (d1)"
c() { bench_run main build-gpu/bin/dsmlp-bench out_in 1,2 50; }
d() { bench_run d1 build-gpu/bin/dsmlp-bench out_in 1,2 50 DSMLP_DECODE_MAX_TOKENS=1; }
ab_rounds 2 "swiglu_i8_h4096 gelu_i8_h4096" c d
ab_rounds 1 "swiglu_fp8_h4096 gelu_fp8_h4096" c d
echo "== at $(( $(date +%s) - t0 )) s: tw200 against main"
TL=3,8,16,32,64
a() { bench_run main build-gpu/bin/dsmlp-bench out_in $TL 50; }
b() { bench_run tw200 build-gpu/bin/var/tw200 out_in $TL 50; }
ab_rounds 2 "gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096" a b
echo "== at $(( $(date +%s) - t0 )) s: ncu of the 128-token kernels"
for blk in gelu_i8_h4096 swiglu_i8_h4096; do ncu_sections mixed128 $blk 128; done
echo "== run-s108.sh took $(( $(date +%s) - t0 )) s"
