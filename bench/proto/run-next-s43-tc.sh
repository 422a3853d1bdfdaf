#!/bin/bash
# MEASURED in session 43 (bench/RESULTS.md): gt loses to the mixed kernels at T = 2..8, and gt at decode 2 / 8, gt1 and
# gt4 stop GELU-4096 int8 with an illegal address (not chased). Kept as the record of the probe.
# A device call prepared in session 43 (no device machine lent, fifth session running): the decode GEMV on int8 / fp8
# codes with T >= 2 on the tensor cores (bench/proto/gemv-codes-tc.patch, on gemv-codes-tmax.patch).
# Why: the codes GEMV in f16 pairs spends 2 instructions a code and token (ds_hmac16), so past T = 2 it is
# issue-bound (T = 8: ~130 instructions a 16-byte load against ~128 issue slots at the read rate), and the mixed
# kernels that serve T = 2..16 read at ~3.4-3.5 TB/s (GELU-4096 int8 T = 2..16 47.0-49.2 us against T = 1's 41.7).
# ds_body_tc keeps the GEMV's loads (16 contiguous codes a lane, a warp-load CW rows x 512 / CW bytes) and feeds the
# codes as mma.sync m16n8k16's B: column n = (row n / S, segment n % S) of S = 8 / CW 64-code segments, A's rows =
# (token, segment), useful outputs where the segments match (half of D), segments summed by shuffles; codes converted
# once for every token (int8 f16: xor, byte permute, one HSUB2 per pair: exact; bf16: common.cuh's exact pair;
# fp8: sm_89's pair conversion), fp32 accumulation of exact products (the f16 pairs round sums of 8 in f16).
# x is staged in token pairs swizzled so that one LDS.128 is one A quad (no moves) and a quarter-warp meets every bank
# once; the GEMV with the norm in its prologue (T <= 4) has the norm write x in segment pairs where T <= CW (a token's
# two segments in A's rows g and g + 8: 31.5 instructions a load) and reads it as it is past CW (moves, ~47).
# ptxas / cuobjdump here (GELU-4096 int8, main loop instructions per 16-byte load): T = 1 f16 pairs 37-38; TC with
# one token group (2 CW tokens) 31, two groups 40; registers 111-112 (t8), 74-90 with T = 1 on TC too.
#   gt  = gemv-codes-tmax.patch + gemv-codes-tc.patch: T >= 2 on the tensor cores (T = 1: the f16 pairs, as hd)
#   gt4 = gt + gemv-codes-tc-cw4.patch: 4 rows a warp on codes (8 tokens an MMA; GELU-4096's second GEMV: 128
#         blocks instead of 256; half the x traffic from L2 and shared memory per code)
#   gt1 = gt + gemv-codes-tc-t1.patch: T = 1 on the tensor cores too (gt1 with decode_max_tokens auto: the T = 1 plans)
# Before the call (done in session 43, ~1 min):
#   P=bench/proto; VARIANT_TESTS=test_gpu_quant bash bench/build_variant.sh gt $P/gemv-codes-tmax.patch $P/gemv-codes-tc.patch
#   VARIANT_TESTS=" " bash bench/build_variant.sh gt4 $P/gemv-codes-tmax.patch $P/gemv-codes-tc.patch $P/gemv-codes-tc-cw4.patch
#   VARIANT_TESTS=" " bash bench/build_variant.sh gt1 $P/gemv-codes-tmax.patch $P/gemv-codes-tc.patch $P/gemv-codes-tc-t1.patch
#   BUILD_DIR=build-tl VARIANT_TESTS=" " bash bench/build_variant.sh tlgt $P/gemv-codes-tmax.patch $P/gemv-codes-tc.patch
#   BUILD_DIR=build-tl VARIANT_TESTS=" " bash bench/build_variant.sh tlhd
#   bash bench/proto/prefill-next.sh; tar -cJf build-gpu/var.tar.xz -C build-gpu/bin var; tar -cJf build-tl/var.tar.xz -C build-tl/bin var
# carry build-gpu/var.tar.xz build-tl/var.tar.xz build-gpu/store-next.tar.xz (~7 MB: the binaries compress 20x); run:
#   tar -xJf build-gpu/var.tar.xz -C build-gpu/bin && tar -xJf build-tl/var.tar.xz -C build-tl/bin && bash bench/proto/run-next-s43-tc.sh
# (~280-380 s: 48 processes of 3-5 s with the carried store, the GPU quant heuristic case at decode_max_tokens 8 and 4
# (the pair-staged and the norm-prologue bodies against the reference on the H200's shapes), five timelines).
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
s0=$SECONDS
mkdir -p /tmp/c-b && tar -xJf build-gpu/store-next.tar.xz -C /tmp/c-b || echo "no carried store: the first round compiles"
n0=$(ls /tmp/c-b | wc -l)
# PART=ab: the A/B rounds only; PART=rest: the GPU cases and the timelines only (two calls, each shorter)
[ "${PART:-all}" = rest ] || for r in 1 2; do
  for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do
    for vd in hd:-1 gt1:-1 gx:8 gt:2 gt:4 gt:8 gt4:8 gt1:8; do
      v=${vd%%:*} d=${vd#*:}
      rm -f $OUT/g.md   # a process that fails must not print the one before's row
      DSMLP_DECODE_MAX_TOKENS=$d DSMLP_CACHE_DIR=/tmp/c-b timeout 60 build-gpu/bin/var/$v --block $b --tokens 1,2,3,4,8 --reps 30 --no-tune --layout out_in --md $OUT/g.md > /dev/null 2>&1
      echo "r$r $v decode_max_tokens=$d $b T=1,2,3,4,8: $(grep -v -e ' card ' -e '---' $OUT/g.md | grep '^|' | cut -d'|' -f4-5 | tr '\n' ' ') ($((SECONDS-s0))s)"
    done
  done
  echo "store: $n0 kernels carried, $(ls /tmp/c-b | wc -l) after round $r (more: the carried store missed)"
done
# The tensor-core bodies against the reference, every int8 / fp8 layout of the heuristic case (T = 1, 2, 3, 4, 8).
[ "${PART:-all}" = ab ] && { echo "done ($((SECONDS-s0))s)"; exit 0; }
for d in 8 4; do
  echo "gt-test_gpu_quant heuristic, decode_max_tokens $d:"
  DSMLP_DECODE_MAX_TOKENS=$d DSMLP_CACHE_DIR=/tmp/c-b CK_RUN_CASE=heuristic timeout 150 build-gpu/bin/var/gt-test_gpu_quant 2>&1 | grep -E "ok|FAIL|Checks|Assertion" | tail -30
done
# Where the time goes (the timeline builds: tlhd = main, tlgt = gt; one T a process): GELU-4096 int8 as loaded at T = 1
# and 2 (GEMV / mixed), the tensor-core GEMVs at T = 2 and 8 (decode_max_tokens 8) and the mixed kernels at 8.
for vt in tlhd:-1:1 tlhd:-1:2 tlgt:8:2,8 tlgt:8:8 tlhd:-1:8; do   # 2,8: the T = 8 plan (its 20th launches are T = 2's)
  IFS=: read -r v d t <<< "$vt"
  DSMLP_DECODE_MAX_TOKENS=$d DSMLP_CACHE_DIR=/tmp/c-b timeout 80 build-tl/bin/var/$v --block gelu_i8_h4096 --tokens $t --reps 30 --no-tune --layout out_in > $OUT/tl-$v-${t//,/_}.raw 2>&1
  echo "timeline $v decode_max_tokens=$d gelu_i8 --tokens $t rc=$? ($((SECONDS-s0))s)"; python3 bench/timeline.py < $OUT/tl-$v-${t//,/_}.raw | head -24
done
echo "done ($((SECONDS-s0))s)"
