#!/usr/bin/env bash
# Sixty-seventh session, call 4 (prepared for an H200; most wanted first, so that a call cut by its limit returns the
# first parts in $OUT/log.txt): (1) ncu per kernel of GELU-4096 int8 T = 8 and f16 T = 4 (where issues 9 / 10 miss on
# the H200); (2) the SwiGLU-4096 bf16 [out,in] T = 8 spread (100.7 us in a plan for T <= 8, 96.2 in one for T <= 1024,
# 95.7 in wac's plan for T <= 8): main with --tokens 8, 3,8, 1,2,3,4,8 and 8,1024; (3) on an H200, variant wac4
# (bench/proto/decode-wide-any-card.patch on 9b2dedd: the wide decode GEMVs, built for 4 tokens, on every card)
# against main at T = 1..4 and 8 (the 8-token build lost at T = 3..4 there but GELU [in,out]); (4) more ncu.
#   prep: VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh wac4 bench/proto/decode-wide-any-card.patch
#   carry: build-gpu/bin build-gpu/lib     (~250 s on an H200)
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
t0=$(date +%s)
B=build-gpu/bin/dsmlp-bench
ncu_prof gelu_i8_t8 out_in gelu_i8_h4096 8
ncu_prof gelu_f16_t4 out_in gelu_f16_h4096 4
echo "== ncu done at $(( $(date +%s) - t0 )) s"
blk=swiglu_bf16_h4096
for tok in 8 3,8 1,2,3,4,8 8,1024; do bench_run "main --tokens $tok" $B out_in $tok 50; done
echo "== spread done at $(( $(date +%s) - t0 )) s"
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    for lay in out_in in_out; do
      echo "== $blk $lay"
      bench_run main $B $lay 1,2,3,4,8 50; bench_run wac4 build-gpu/bin/var/wac4 $lay 1,2,3,4,8 50
    done
  done
  echo "== A/B done at $(( $(date +%s) - t0 )) s"
fi
ncu_prof swiglu_i8_t8 out_in swiglu_i8_h4096 8
ncu_prof swiglu_bf16_t8 out_in swiglu_bf16_h4096 8
ncu_prof gelu_i8_t1 out_in gelu_i8_h4096 1
echo "== run-s70.sh took $(( $(date +%s) - t0 )) s"
