#!/bin/bash
# A device call prepared in session 42 (no device machine lent, fourth session running): how far should the decode
# GEMV on int8 / fp8 codes serve before the mixed-input kernels take over? Today T = 1 (lower.c
# GEMV_CODES_MAX_T_BEFORE_MIXED, "at any decode_max_tokens"), set by the twenty-seventh session when codes were
# unpacked to fp32 (a GEMV built for T <= 2 lost T = 2 by 1.5-3.5 us). Since the twenty-eighth, codes with f16 x
# multiply in f16 pairs (T = 1 43.3 -> 41.7 us), which halves a code's work at every T; the mixed kernels' copies run
# at ~3.4-3.5 TB/s (tma_patterns), the GEMVs' loads at 3.2-3.4 (int8) and 3.9-4.1 (f16): GELU-4096 int8 T = 1 41.7-42.8
# us (GEMV), T = 2..16 47.0-49.2 (mixed).
#   gx  = bench/proto/gemv-codes-tmax.patch: the T = 1 cap applies to decode_max_tokens auto only, a set value is
#         honoured for codes too, so DSMLP_DECODE_MAX_TOKENS = 2 / 4 / 8 runs the codes GEMV to that T (auto: as hd).
#         ptxas (GELU-4096 / SwiGLU-4096 int8): t2 105 / 106, 92 / 84 registers; t4 116 / 112, 92 / 89; t8 128
#         (stack 24: the f16 first GEMV, whose norm moves to its own kernel past T = 4) / 112, 101 / 96; no local memory.
#         test_plan, test_plan_sim* and test_quant_sim pass with it (the host simulation runs the codes GEMV to T = 4
#         with the mixed kernels present, against the reference).
#   gxf = gx + bench/proto/gemv-loads-first.patch (glf: a batch's 16 loads issued before its first product).
# hd runs the same token lists (a plan's kernels depend on its largest T, 8 here). Landing: if T = 2 wins,
# bench/proto/gemv-codes-t2.patch (auto to 2, with test_plan / test_quant_sim's rule); a larger T: the same constant
# (and its tests) with that T; gx's "a set value is honoured" may land either way (docs/quant.md's "whatever
# decode_max_tokens says" and README's option row change with it). GPU cases: gx-test_gpu_quant, CK_RUN_CASE=heuristic
# runs T = 1..8 as loaded (with DSMLP_DECODE_MAX_TOKENS set, the GEMV on codes), then the whole GPU suite.
# Before the call (about 1 min here, done in session 42):
#   export VARIANT_TESTS=test_gpu_quant; P=bench/proto
#   bash bench/build_variant.sh gx $P/gemv-codes-tmax.patch
#   bash bench/build_variant.sh gxf $P/gemv-codes-tmax.patch $P/gemv-loads-first.patch
#   bash bench/proto/prefill-next.sh
# carry build-gpu/bin/var build-gpu/store-next.tar.xz (50 MB + 3.5 MB: the carry limit is 64 MiB); run:
# bash bench/proto/run-next-s42-codes.sh (~150-200 s: 36 processes of 3-5 s with the carried store, then the
# heuristic case at DSMLP_DECODE_MAX_TOKENS=8, ~60 s).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do
    for vd in hd:-1 gx:2 gx:4 gx:8 gxf:2 gxf:4; do
      v=${vd%%:*} d=${vd#*:}
      rm -f $OUT/g.md   # a process that fails must not print the one before's row
      DSMLP_DECODE_MAX_TOKENS=$d DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,2,3,4,8 --reps 30 --no-tune --layout out_in --md $OUT/g.md > /dev/null 2>&1
      echo "r$r $v decode_max_tokens=$d $b T=1,2,3,4,8: $(grep -v -e ' card ' -e '---' $OUT/g.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
# The GEMV on codes to T = 8 against the reference, every int8 / fp8 layout of the heuristic case (T = 1, 2, 3, 4, 8).
DSMLP_DECODE_MAX_TOKENS=8 DSMLP_CACHE_DIR=/tmp/c-b CK_RUN_CASE=heuristic timeout 240 build-gpu/bin/var/gx-test_gpu_quant 2>&1 | grep -E "ok|FAIL|Checks|Assertion" | tail -30
echo "done ($((SECONDS-s0))s)"
