#!/usr/bin/env bash
# Seventy-sixth session (~400 s on an H100): the first code GEMM of <= 32 tokens lets the next GEMM launch early
# (griddepcontrol.launch_dependents; main never does). run-s100's timelines put 2.1-2.2 us between GELU-4096's first
# GEMM's last block end and the second's first block start, f16 and int8 alike, at T = 16. Since the seventy-second
# session the second code GEMM at T <= 32 is clusterless (the serial split, one a SM), so the nineteenth session's
# loss (an early second GEMM's clusters put into a second wave) should not apply. Variants: trigE (trigger at the
# producer's entry: bench/proto/mixed-trigger-entry.patch), trigL (after its last copy: mixed-trigger-late.patch),
# both only in kernels of <= DS_SERIAL_MAX_TOK tokens. (1) main / trigE / trigL, three rounds, order rotated, the four
# 4096-wide code blocks at T = 2..64 (64: control, same kernels); (2) timelines of main (build-tl0) and trigE
# (build-tlE: tl-rotate-tiles.patch at ROT 0 + the entry trigger) at T = 16; (3) test_gpu_quant mixed and heuristic on
# both variants; test_gpu_wgmma on trigF.
#   prep: build_variant.sh trigE / trigL (VARIANT_TESTS=test_gpu_quant); build-tlE as run-s100.sh's build-tl0 with
#         both patches; bench/store_prefill.sh build-gpu/bin/s100/store.tar.xz 2,3,8,16,24,32,64 over the three
#         binaries x four blocks (+ build-tlE at 16, seeded with build-gpu/bin/tl/store.tar.xz)
#   carry: build-gpu/bin build-gpu/lib build-tl0/bin build-tlE/bin
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s100/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=2,3,8,16,24,32,64
m() { bench_run main build-gpu/bin/dsmlp-bench out_in $TL 50; }
e() { bench_run trigE build-gpu/bin/var/trigE out_in $TL 50; }
l() { bench_run trigL build-gpu/bin/var/trigL out_in $TL 50; }
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk r$r"
    case $r in 1) m; e; l ;; 2) e; l; m ;; 3) l; m; e ;; esac
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
# trigF (mixed-trigger-float.patch): the float kernels' first GEMM lets the pair's second (two groups, cooperative) start
# early; GELU-4096 f16 / SwiGLU-4096 bf16 at T = 3..128 (H100: the pair serves T = 3..64)
TF=3,8,16,32,64,128
mf() { bench_run main build-gpu/bin/dsmlp-bench out_in $TF 50; }
f() { bench_run trigF build-gpu/bin/var/trigF out_in $TF 50; }
ab_rounds 2 "gelu_f16_h4096 swiglu_bf16_h4096" mf f
echo "== float A/B done at $(( $(date +%s) - t0 )) s"
for bt in gelu_i8_h4096:16 swiglu_i8_h4096:16; do
  b=${bt%:*} t=${bt#*:}
  for i in 1 2; do
    for v in tl0 tlE; do
      timeout 60 build-$v/bin/dsmlp-bench --block $b --tokens $t --reps 30 --no-tune --layout out_in > $OUT/$v-$b-$i.raw 2>&1
      echo "== timeline $v $b T=$t #$i: $(grep 'T=' $OUT/$v-$b-$i.raw | awk '{print $4}')"
      python3 bench/timeline.py < $OUT/$v-$b-$i.raw 2>&1 | grep -E '^dsmlp|gap|whole'
    done
  done
done
L=$(( ${LIMIT:-450} - ($(date +%s) - t0) ))
echo "== GPU tests, $L s each"
for v in trigE trigL; do
  for c in mixed heuristic; do
    (env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=4 CK_RUN_CASE=$c timeout $L build-gpu/bin/var/$v-test_gpu_quant \
      > $OUT/case-$v-$c.log 2>&1; echo "$v $c rc $?") &
  done
done
(env -u DSMLP_CACHE_DIR DSMLP_COMPILE_THREADS=4 timeout $L build-gpu/bin/var/trigF-test_gpu_wgmma > $OUT/case-trigF-wgmma.log 2>&1; echo "trigF test_gpu_wgmma rc $?") &
wait
case_summaries
echo "== run-s101.sh took $(( $(date +%s) - t0 )) s"
