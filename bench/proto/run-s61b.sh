#!/usr/bin/env bash
# Sixty-first session, call 2: ncu of whole dsmlp-bench runs (every launch; floor measurements dropped), per kernel
# name: SwiGLU-8192 / 4096 bf16 [in,out] T = 1 with the decode GEMVs (auto) and cuBLASLt (DSMLP_DECODE_MAX_TOKENS=0);
# the int8 blocks at T = 8, 16 (GELU) and 128 (SwiGLU), [out,in].     carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s61/store.tar.xz
B=build-gpu/bin/dsmlp-bench
ncu_prof h8192-gemv in_out swiglu_bf16_h8192 1
ncu_prof h8192-lt in_out swiglu_bf16_h8192 1 DSMLP_DECODE_MAX_TOKENS=0
ncu_prof h4096-gemv in_out swiglu_bf16_h4096 1
ncu_prof h4096-lt in_out swiglu_bf16_h4096 1 DSMLP_DECODE_MAX_TOKENS=0
ncu_prof gelu-i8-8 out_in gelu_i8_h4096 8
ncu_prof gelu-i8-16 out_in gelu_i8_h4096 16
ncu_prof swiglu-i8-128 out_in swiglu_i8_h4096 128
