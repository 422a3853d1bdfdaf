#!/bin/bash
# Compiles here, into build-gpu/store-next.tar.xz, every kernel that the next session's planned calls load through
# dsmlp-bench (run-next-s40.sh, run-next-s41-gemv.sh, run-next-s42-codes.sh, run-next-s43-tc.sh, run-next-xperm.sh, run-next-s39.sh), for each run's largest T: ~5 min on 2 cores,
# ~2.5 MB. Build the variants first as those scripts' headers say (hd, act, xperm, desc, x64, xdx, glf, gpw, gfw, glp, gx, gxf, gt, gt4, gt1, bal under build-gpu/bin/var;
# tlbal under build-tl/bin/var).
set -euo pipefail
pairs=()
for b in gelu_i8_h4096 swiglu_i8_h4096; do pairs+=(hd:$b act:$b xperm:$b desc:$b x64:$b xdx:$b); done   # s40, xperm: T <= 1024
for b in gelu_f16_h4096 swiglu_bf16_h4096; do pairs+=(hd:$b act:$b desc:$b); done
for b in gelu_fp8_h4096 swiglu_fp8_h4096; do pairs+=(hd:$b xperm:$b xdx:$b); done
for b in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096 swiglu_fp8_h4096; do pairs+=(hd:$b:1,2 glf:$b:1,2 gpw:$b:1,2 gfw:$b:1,2 glp:$b:1,2); done   # run-next-s41-gemv.sh
for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do                                                    # run-next-s42-codes.sh
  pairs+=(hd:$b:1,2,3,4,8 gx:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=2 gx:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=4 gx:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=8
          gxf:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=2 gxf:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=4)
done
for b in gelu_i8_h4096 swiglu_i8_h4096 swiglu_fp8_h4096; do                                                    # run-next-s43-tc.sh
  pairs+=(gt1:$b:1,2,3,4,8 gt:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=2 gt:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=4
          gt:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=8 gt4:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=8 gt1:$b:1,2,3,4,8:DSMLP_DECODE_MAX_TOKENS=8)
done
for b in gelu_f16_h4096 swiglu_bf16_h4096; do pairs+=(hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=-1 hd:$b:1,2,3,4:DSMLP_DECODE_MAX_TOKENS=4); done   # and its d4
for b in swiglu_i8_h4096 swiglu_fp8_h4096 gelu_i8_h4096 swiglu_bf16_h4096; do         # s39's A/B: T <= 64
  pairs+=(hd:$b:2,16,32,48,64 bal:$b:2,16,32,48,64)
done
pairs+=(build-tl/bin/var/tlhd:gelu_i8_h4096:1 build-tl/bin/var/tlhd:gelu_i8_h4096:2 build-tl/bin/var/tlhd:gelu_i8_h4096:8   # s43's timelines
        build-tl/bin/var/tlgt:gelu_i8_h4096:8:DSMLP_DECODE_MAX_TOKENS=8)
pairs+=(build-tl/bin/var/tlbal:swiglu_i8_h4096:16 build-tl/bin/var/tlbal:swiglu_i8_h4096:64)   # s39's timelines
exec bash bench/store_prefill.sh build-gpu/store-next.tar.xz 1,2,16,32,64,100,128,256,1024 "${pairs[@]}"
