#!/bin/bash
# Compiles here, into build-gpu/store-next.tar.xz, every kernel that the next session's planned calls load through
# dsmlp-bench (run-next-s41-gemv.sh, run-next-s39.sh), for each run's largest T: ~3 min on 2 cores. Build the variants
# first as those scripts' headers say (hd, glf, gpw, gfw, glp, bal under build-gpu/bin/var; tlbal under build-tl/bin/var).
# The forty-third session measured run-next-s40.sh and run-next-s43-tc.sh (whose gx runs answered run-next-s42-codes.sh, since removed);
# their pairs left this list (git log has them; SEED= an older store to keep its kernels).
set -euo pipefail
pairs=()
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 swiglu_fp8_h4096; do pairs+=(hd:$b:1,2 glf:$b:1,2 gpw:$b:1,2 gfw:$b:1,2 glp:$b:1,2); done   # run-next-s41-gemv.sh
for b in gelu_f16_h4096 swiglu_bf16_h4096; do pairs+=(hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=-1 hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=4); done   # and its d4
for b in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do         # s39's A/B: T <= 64
  pairs+=(hd:$b:2,16,32,48,64 bal:$b:2,16,32,48,64)
done
pairs+=(build-tl/bin/var/tlbal:swiglu_i8_h4096:16 build-tl/bin/var/tlbal:swiglu_i8_h4096:64)   # s39's timelines
exec bash bench/store_prefill.sh build-gpu/store-next.tar.xz 1,2,16,32,64,100,128,256,1024 "${pairs[@]}"
