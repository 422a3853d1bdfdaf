#!/bin/bash
# session 25 call 1 (prepared in session 24; bench/RESULTS.md twenty-fourth session says why): timings only. Carry
# build-gpu/bin/var, build-tl/bin/var and build-gpu/run-next.sh (~36 MB; build-tl/bin/var is for run-next-tl.sh). Binaries (bench/build_variant.sh):
#   head = 78bfcbf   ef = l2-evict-first-weights.patch   n512 = norm-512-threads.patch   nef = both (norm-plus-evict)
#   gg = gemv-gated.patch (the decode GEMV applies the gating: [out,in] gated blocks at T = 1; timed with --layout out_in)
#   gn = gemv-norm.patch (the decode GEMV computes the norm: f16/bf16 blocks at T = 1, both layouts)
#   gf = gemv-fused.patch (both: LLaMA-type decode in two kernels)
#   build-tl/bin/var: tlhead, tlnef (-DDSMLP_TIMELINE=20 builds of head and nef)
export NCCL_NVLS_ENABLE=0 DSMLP_CACHE_DIR=/tmp/dsmlp-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
T0=$(date +%s); el() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
V=build-gpu/bin/var
Q="gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096"; F="gelu_f16_h4096 swiglu_bf16_h4096"
for v in head ef n512 nef; do for b in $Q $F; do
  timeout 120 $V/$v --block $b --tokens 1,2,1024 --reps 3 --no-tune > /dev/null 2>&1 & done; wait; done
for v in head gg gn gf; do timeout 120 $V/$v --block swiglu_bf16_h4096 --tokens 1,2 --reps 3 --no-tune --layout out_in > /dev/null 2>&1 & done
for b in $F; do for v in gn gf; do timeout 120 $V/$v --block $b --tokens 1,2 --reps 3 --no-tune > /dev/null 2>&1 & done; done
wait; el warm
ab() {   # ab FILE TOKENS "BLOCKS" BUILDS... : two rounds, as loaded
  local f=$1 tk=$2 bl=$3; shift 3
  for r in 1 2; do for b in $bl; do for v in "$@"; do
    echo "$r $b $v $(timeout 60 $V/$v --block $b --tokens $tk --reps 30 --no-tune $XF 2>&1 | grep -E 'T=' | awk '{printf "%s %s  ", $2, $4}')"
  done; done; done | tee $OUT/$f
}
ab quant.txt 1,16,64,1024 "$Q" head ef n512 nef; el quant
ab float.txt 1,16,1024 "$F" head ef n512 nef; el float
XF="--layout out_in" ab gated.txt 1,2 "swiglu_bf16_h4096" head gg gn gf; el gated   # T = 2: cuBLASLt, the control
ab gnorm.txt 1,2 "$F" head gn gf; el gnorm
# Then build-gpu/run-next-tl.sh (call 2: the timelines), then (call 3, carry build-gpu/bin/var and a script): the winner's correctness from build-gpu with
# DSMLP_SOURCE_DIR=$PWD/.. DSMLP_BINARY_DIR=$PWD DSMLP_REF_THREADS=16: CK_RUN_CASE=mixed ./bin/var/NAME-test_gpu_quant
# and ./bin/var/NAME-test_gpu_layers; keep it (git apply; drop "prototype"; docs/quant.md, CHANGELOG, RESULTS), then the
# whole `ctest -L gpu` on the final code (carry build-gpu/tests, bin, lib, CTestTestfile.cmake).
