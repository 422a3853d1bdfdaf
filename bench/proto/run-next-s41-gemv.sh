#!/bin/bash
# A device call prepared in session 41 (no device machine lent again): the [out,in] decode GEMVs (T = 1 on int8 /
# fp8 codes, T = 1 and 2 on f16 / bf16 weights), against head, one process per (build, block), two rounds:
#   glf = bench/proto/gemv-loads-first.patch: each batch's loads all issued before its first product (an x index
#         depends on a word of every load through a run-time zero, T's top bits; nvdisasm: hd's int8 GEMVs issue 8-11
#         of their 16 first, SwiGLU's bf16-x int8 one 6; glf all 16 everywhere, 121-128 registers, still 2 blocks per
#         SM, no local memory), correct results (test_plan_sim fails when the zero is made 1). The question: is the
#         int8 GEMVs' 3.2-3.4 TB/s (f16 3.9-4.1; twenty-seventh session) the loads issued late?
#   gpw = bench/proto/gemv-pdl-wait.patch: the decode GEMVs launched with programmatic dependent launch, waiting
#         (griddepcontrol.wait, SASS ACQBULK) at entry before touching memory, never letting their own dependents
#         start early: the second GEMV's blocks placed as the first's last blocks exit instead of ~1.9 us later (the
#         twenty-seventh session's timelines: no block running between the two GEMVs). That session's PDL patch also
#         let dependents start at entry and preloaded weights; the second's loads slowed the first's tail.
#   gfw = glf and gpw together (both patches, in that order)
#   glp = bench/proto/gemv-loads-probe.patch, a TIMING PROBE WITH WRONG RESULTS: the loads and x's shared reads as
#         they are, each load folded into the sums with 4 instructions instead of its math. If glp is not faster
#         than hd, neither the math nor its order holds the GEMVs back (the read pattern or the grid does).
#   d4  = hd with DSMLP_DECODE_MAX_TOKENS=4 (no build): the float [out,in] GEMVs to T = 4 instead of 2 (auto), at
#         T = 3 / 4 against cuBLASLt (the twenty-seventh session set auto to 2 from T = 1 / 2 only; at T = 2 the GEMV
#         won 3-7 us). Only on gelu_f16 / swiglu_bf16.
# A winner lands with its GPU cases: test_gpu_quant (CK_RUN_CASE=heuristic runs the int8 / fp8 GEMVs at T = 1),
# test_gpu_stream / test_gpu_layers for the float GEMVs and graph chains (gpw changes launches), and README's
# dsmlp-compile bytes for llama3-8b (test_docs prints the new number: 387,560 -> 390,632 with both applied; with gfw applied
# here `ctest -LE gpu` passed every other test, 44 of 45). gpw exports exec_mixed.c's launch_config (as
# dsmlpR_launch_config) for the GEMV launch: after mixed-balanced-split.patch has landed, `git apply -3` leaves one
# conflict, the mixed launch's call (keep balanced's arguments under the new name).
# Before the call (about 1 min here):
#   VARIANT_TESTS="test_gpu_quant" bash bench/build_variant.sh hd        (if build-gpu/bin/var/hd is missing)
#   export VARIANT_TESTS="test_gpu_quant"; P=bench/proto
#   bash bench/build_variant.sh glf $P/gemv-loads-first.patch
#   bash bench/build_variant.sh gpw $P/gemv-pdl-wait.patch
#   bash bench/build_variant.sh gfw $P/gemv-loads-first.patch $P/gemv-pdl-wait.patch
#   bash bench/build_variant.sh glp $P/gemv-loads-probe.patch
#   ninja -C build-gpu && bash bench/proto/prefill-next.sh
# carry build-gpu/bin/var build-gpu/store-next.tar.xz; run: bash bench/proto/run-next-s41-gemv.sh (~180-280 s: 58
# processes of 3-5 s with the carried store). (The GEMV on codes past T = 1 was measured by run-next-s43-tc.sh.)
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
B="gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096 gelu_f16_h4096 swiglu_bf16_h4096"
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
for r in 1 2; do
  for b in $B; do
    for v in hd glf gpw gfw glp; do
      rm -f $OUT/g.md   # a process that fails must not print the one before's row
      DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,2 --reps 30 --no-tune --layout out_in --md $OUT/g.md > /dev/null 2>&1
      echo "r$r $v $b: $(grep -v -e ' card ' -e '---' $OUT/g.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  for b in gelu_f16_h4096 swiglu_bf16_h4096; do
    for d in -1 4; do
      rm -f $OUT/g.md
      DSMLP_DECODE_MAX_TOKENS=$d DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/hd --block $b --tokens 1,2,3,4 --reps 30 --no-tune --layout out_in --md $OUT/g.md > /dev/null 2>&1
      echo "r$r decode_max_tokens=$d $b T=1,2,3,4: $(grep -v -e ' card ' -e '---' $OUT/g.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
