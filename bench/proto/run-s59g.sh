#!/usr/bin/env bash
# Fifty-ninth session, last try (an H200 if one comes): the GEMVs' L2 prefetch (main against 415584c, T = 1 / 2) and
# the code kernels' one-a-SM twins (main against 682fb46, T = 3 / 16 / 64), one round; the standing of main (--no-tune,
# T = 1..1024); on an H100 the standing and compute-sanitizer memcheck over the twins.
# Then the open question of the fifty-ninth session: pp (mixed-pick-print.patch, the pick's kernel printed) with
# --tokens up to 64 and up to 1024, GELU-4096 int8 at T = 16 / 64: which kernels serve, and their times. Last, the
# [in,out] GEMV at T = 2 (auto stops it at T = 1: it lost 1-4 us to cuBLASLt there before the prefetch, which made its
# T = 1 5-6 us faster): DSMLP_DECODE_MAX_TOKENS=2 against auto, GELU-4096 f16 and BERT-base.
#   prep (a new session: build-gpu/bin is not kept): bash bench/proto/prep-s59g.sh
#   bash bench/proto/run-s59g.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s59/store-g.tar.xz
B=build-gpu/bin/dsmlp-bench H=build-gpu/bin/old/dsmlp-bench-head O=build-gpu/bin/old/dsmlp-bench-415
run() {   # label binary tokens
  timeout 60 $2 --block $blk --tokens $3 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk -v l="$1" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== pf $blk"; run 415584c $O 1,2; run main $B 1,2
  done
  for blk in gelu_i8_h4096 gelu_fp8_h4096; do
    echo "== twins $blk"; run 682fb46 $H 3,16,64; run main $B 3,16,64
  done
fi
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
  timeout 60 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
done
if ! nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  timeout 60 compute-sanitizer --tool memcheck $B --block gelu_i8_h4096 --tokens 3,64 --reps 1 --no-tune --layout out_in 2>&1 |
    grep -E "ERROR SUMMARY" | cut -c1-100
fi
P=build-gpu/bin/var/pp
for toks in 16,64 1,2,4,8,16,32,64,128,1024; do
  echo "== pick, --tokens $toks"
  timeout 60 $P --block gelu_i8_h4096 --tokens $toks --reps 50 --no-tune --layout out_in 2>&1 |
    grep -E "T=(16|64) |mixed-pick .* T (16|64) " | cut -c1-160
done
for blk in gelu_f16_h4096 bert_f16_h768; do
  echo "== [in,out] GEMV to T = 2: $blk"
  for r in 1 2; do
    bench_run auto $B in_out 1,2 50
    bench_run gemv2 $B in_out 1,2 50 DSMLP_DECODE_MAX_TOKENS=2
  done
done
