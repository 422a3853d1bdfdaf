#!/usr/bin/env bash
# Fifty-third session, call 3: BERT-base's decode GEMVs. Main's route (cuBLASLt, 4 kernels) ran T = 1 in 9.4 us on the
# H100 against the GEMVs' 11.4 (call 1's tuned run). Two suspects, one variant each: uk (gemv-loads-fit-chunk.patch:
# no more loads in flight than a chunk gives a thread, so K = 768 / 3072 run the unrolled loop instead of a
# one-load-at-a-time tail) and nef (gemv-no-evict-first.patch: no L2 policy on the weight loads, as cuBLASLt's: 9.4 MB
# of weights stay in L2 between replays); uknef both. GELU-4096 f16 as the control (its K fill the loop already;
# evict-first was worth 2-3 us there). Then uk's GPU tests (the GEMV at small K: mlp_cross H 512, the family cases),
# a second round, the int8 GEMV at T = 2, and read_floor (call 2's output was cut by the reply's tail).
# Fifty-fourth session: run-s53b.sh (deleted) plus ukcw (uk + gemv-io-narrow-cw.patch: [in,out] GEMVs take the fewest columns
# a block that still fit one wave, so BERT's N = 768 runs 96 blocks, not 24) on the [in,out] runs, and its tests.
# Fifty-fifth session: head (main at f3e2f75, after 4969e6f) runs the two test suites too.
# Most important first: a time limit cuts the least.
#   bash bench/proto/run-s54.sh     carry: build-gpu/bin/s52, build-gpu/bin/s54, build-gpu/lib
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=16 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
export DSMLP_CACHE_DIR=/tmp/c-b && mkdir -p $DSMLP_CACHE_DIR
tar -xJf build-gpu/bin/s54/store.tar.xz -C $DSMLP_CACHE_DIR
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
V=build-gpu/bin/s54
s0=$SECONDS
bench1() {   # BUILD LAYOUT BLOCK ROUND: T = 1, 2 into bench.txt, each line prefixed "BUILD LAYOUT rROUND"
  timeout 60 $V/$1 --block $3 --tokens 1,2 --reps 50 --no-tune --layout $2 2>&1 | grep -E "T=" | sed "s/^/$1 $2 r$4 /" >> $OUT/bench.txt
}
round() {
  for b in head uk nef uknef; do
    for lay in out_in in_out; do for blk in bert_erf_f16_h768 bert_f16_h768; do bench1 $b $lay $blk $1; done; done
    bench1 $b out_in gelu_f16_h4096 $1
  done
  for blk in bert_erf_f16_h768 bert_f16_h768 gelu_f16_h4096; do bench1 ukcw in_out $blk $1; done
  bench1 uk in_out gelu_f16_h4096 $1
  echo "round $1 done $((SECONDS - s0)) s (build layout round block T as-loaded main-route us)"
  grep " r$1 " $OUT/bench.txt | awk '{print $1, $2, $3, $4, $5, $7, $9}'
}
round 1
for b in ukcw uk head; do for t in test_gpu_mlp_cross test_gpu_mlp_family; do
  timeout 150 $V/$b-$t > /tmp/$t.log 2>&1; echo "== $b $t rc $? ($((SECONDS - s0)) s)"; grep -E "FAIL|cases|Checks|rror" /tmp/$t.log | tail -8
done; done
# the int8 GEMV at T = 2 again (GEMV_CODES_MAX_T_BEFORE_MIXED = 1 dates from before the f16-pair products): the
# mixed kernels off, the GEMVs to T = 2, against the mixed kernels (as loaded) at T = 2
for blk in gelu_i8_h4096 swiglu_i8_h4096; do
  DSMLP_MIXED_GEMM=0 DSMLP_DECODE_MAX_TOKENS=2 timeout 60 $V/head --block $blk --tokens 1,2 --reps 50 \
    --no-tune --layout out_in 2>&1 | grep -E "T=" | sed "s/^/gemv2 $blk /"
  timeout 60 $V/head --block $blk --tokens 2 --reps 50 --no-tune --layout out_in 2>&1 | grep -E "T=" | sed "s/^/head $blk /"
done | awk '{print $1, $2, $3, $4, $6, $8}'
round 2
build-gpu/bin/s52/read_floor 2>&1 | grep -v "^$"
echo "all $((SECONDS - s0)) s"
