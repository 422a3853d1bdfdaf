#!/usr/bin/env bash
# Eighty-fourth session's call (prepared without a device; ~350 s): two changes to the wide code kernels, each against
# main. The eighty-third session's ncu (H100, T = 128) found the 128-token consumers latency-bound: tensor pipe 54%
# of elapsed cycles, issue slots 26% busy, "wait" the top stall.
# - "xw2" (bench/proto/mixed128-wait2.patch): on main a step issues this 64 k's wgmmas, waits for the step before's
#   (wait_group 1), then converts the next 64 k, so the conversion sits between one group's end and the next one's
#   issue. xw2 converts into four register sets and waits with wait_group 2; "xw3" (+ mixed128-wait3.patch) with 3.
#   Each holds a stage one or two steps longer (8 stages: 5 or 4 copies ahead instead of 6). Only the 128-token code
#   kernels change (T = 65..128); T = 256 / 1024 run the same main loops on every side (control; epi changes their epilogue).
# - "epi" (bench/proto/mixed-epi-inputs-first.patch): the epilogue of the one-a-SM kernels of more than 32 tokens
#   (code and float, 64 to 256 tokens) read bias and C an item at a time, one L2 round trip an item (the stores may
#   alias them, so the compiler kept the order; 16 items a thread at T = 128); epi reads 8 items' inputs before it
#   stores any, and a second group's parts all at once (as the <= 32-token kernels have since the seventy-fourth
#   session). The session-36 timeline had 4 us from the first GEMM's last multiply to its end at T = 128.
# - i8x2_probe.py first: the int8 tensor cores with x as two int8 planes (16-bit fixed point a token), through
#   cuBLASLt (torch._int_mm), against the f16 GEMM at the blocks' shapes: whether a generated int8 kernel is worth it.
# dsmlp-bench [out,in] T = 65 / 100 / 128 / 256 / 1024, three rounds, the sides' order rotated, int8 and fp8 blocks; GELU-4096
# f16 (the float 128-token kernels: epi only); nocv (below). The variants' GPU tests: run-s113t.sh, the next call.
#   prep (variants, probe binary, store; from a fresh checkout): bash bench/proto/prep-s113.sh
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s113/store.tar.xz
export DSMLP_COMPILE_THREADS=16
T=65,100,128,256,1024
main_side() { bench_run main build-gpu/bin/dsmlp-bench out_in $T 50; }
xw2_side() { bench_run xw2 build-gpu/bin/var/xw2 out_in $T 50; }
xw3_side() { bench_run xw3 build-gpu/bin/var/xw3 out_in $T 50; }
epi_side() { bench_run epi build-gpu/bin/var/epi out_in $T 50; }
{
# First (~30 s): cuBLASLt's int8 GEMM with x as two int8 planes (bench/proto/i8x2_probe.py), against f16, one process
timeout 150 python3 bench/proto/i8x2_probe.py; echo "i8x2_probe rc $?"
# and our own kernel of it (bench/proto/igmma_x2.cu: s8 x s8 wgmma, both operands as copied, hi / lo joined in the
# epilogue), checked against float64, next to cuBLASLt f16 (~20 s; W2 at T = 128: 32 row tiles, k split in 4, its f32 parts reduced by a second kernel)
timeout 120 build-gpu/bin/igmma_x2 64 128 1024; echo "igmma_x2 rc $?"
# main's own kernels on this card, per kernel (ncu durations): what the probes' GEMM times compare with (~40 s)
for blk in gelu_i8_h4096 swiglu_i8_h4096; do ncu_prof main-$blk out_in $blk 128; ncu_prof main-$blk-1024 out_in $blk 1024; done
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    echo "== $blk r$r"
    case $r in
      1) main_side; xw2_side; xw3_side; epi_side ;;
      2) epi_side; xw3_side; main_side; xw2_side ;;
      3) xw2_side; epi_side; xw3_side; main_side ;;
    esac
  done
done
ab_rounds 2 gelu_f16_h4096 main_side epi_side
# nocv: a probe with wrong sums (no shared loads, no conversion: the RS wgmmas read constant pairs): what the copies
# and the wgmmas alone take, the bound of any faster conversion (the fiftieth session's pB kept the loads and permutes)
nocv_side() { bench_run nocv build-gpu/bin/var/nocv out_in $T 50; }
ab_rounds 2 "gelu_i8_h4096 swiglu_i8_h4096" main_side nocv_side
} 2>&1 | tee "$OUT/summary.txt"
