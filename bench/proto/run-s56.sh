#!/usr/bin/env bash
# Fifty-sixth session, call 2 (main at ccc24b4: the GEMV on codes to T = 2 landed after call 1's suite):
#  (0) the codes GEMV at T = 2 against the mixed kernels again (run-s55-ab.sh, int8 GELU / SwiGLU-4096, two rounds):
#      call 1 was an H100; the H200 is the card the issues name;
#  (1) the GEMV on codes one token further: DSMLP_MIXED_GEMM=0 DSMLP_DECODE_MAX_TOKENS=4 (every GEMM of the block
#      through the GEMV at T <= 4) against the mixed kernels as loaded, T = 3 / 4, int8 GELU / SwiGLU-4096;
#  (1b) the float [out,in] GEMV built for T <= 4 (DSMLP_DECODE_MAX_TOKENS=4) against as loaded (GEMV to T = 2, then
#      cuBLASLt / wgmma), T = 1..4, GELU-4096 f16 and SwiGLU-4096 bf16 (SwiGLU bf16 on the H100: T = 2 122.8, T = 4 127.1);
#  (2) BERT-base at T = 1 / 2: the decode GEMVs as loaded against the cuBLASLt route (DSMLP_DECODE_MAX_TOKENS=0),
#      tanh and erf, both layouts (the fifty-third session's 11.4 vs 9.4 was before the loads fix);
#  (3) peers.py (f16 / bf16 4096-wide blocks and BERT-base, T = 1..128, one process) on main's library.
#   bash bench/proto/run-s56.sh    carry: build-gpu/bin, build-gpu/lib (store: build-gpu/bin/s56/store.tar.xz)
export DSMLP_COMPILE_THREADS=16
. bench/proto/device-env.sh build-gpu/bin/s56/store.tar.xz
B=build-gpu/bin/dsmlp-bench
STANDING=0 AB_BLOCKS="gelu_i8_h4096 swiglu_i8_h4096" bash bench/proto/run-s55-ab.sh | grep -v NVIDIA
s0=$SECONDS
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do
    timeout 60 $B --block $blk --tokens 1,2,3,4 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/mixed r$r /"
    DSMLP_MIXED_GEMM=0 DSMLP_DECODE_MAX_TOKENS=4 timeout 60 $B --block $blk --tokens 1,2,3,4 --reps 50 --no-tune \
      --layout out_in 2>&1 | grep "T=" | sed "s/^/gemv4 r$r /"
  done | awk '{print $1, $2, $3, $4, $6, $8}'
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    timeout 60 $B --block $blk --tokens 1,2,3,4 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | sed "s/^/auto r$r /"
    DSMLP_DECODE_MAX_TOKENS=4 timeout 60 $B --block $blk --tokens 1,2,3,4 --reps 50 --no-tune --layout out_in 2>&1 |
      grep "T=" | sed "s/^/fgemv4 r$r /"
  done | awk '{print $1, $2, $3, $4, $6, $8}'
  for lay in out_in in_out; do for blk in bert_f16_h768 bert_erf_f16_h768; do
    timeout 60 $B --block $blk --tokens 1,2 --reps 100 --no-tune --layout $lay 2>&1 | grep "T=" | sed "s/^/gemv-$lay r$r /"
    DSMLP_DECODE_MAX_TOKENS=0 timeout 60 $B --block $blk --tokens 1,2 --reps 100 --no-tune --layout $lay 2>&1 |
      grep "T=" | sed "s/^/cublaslt-$lay r$r /"
  done; done | awk '{print $1, $2, $3, $4, $6, $8}'
  echo "round $r done $((SECONDS - s0)) s (rule round block T as-loaded main-route us)"
done
PYTHONUNBUFFERED=1 timeout $((${TOTAL:-560} - SECONDS)) python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so \
  --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --layout out_in \
  > $OUT/peers.log 2>&1
echo "peers rc $? $((SECONDS - s0)) s"
grep -v '^\s*$' $OUT/peers.log | grep -v -i "warn" | tail -45
