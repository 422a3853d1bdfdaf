#!/usr/bin/env bash
# Fifty-eighth session, last call, on whichever card comes. On an H200: 22d02be (main: float 64-token kernels one a SM,
# the pair rule widened; its pairs stay off on cards over 4 TB/s) against base (5911d99), as loaded, two rounds -
# what changes there is T = 33..64 `[out,in]` and BERT's narrow second GEMM. On an H100: the int8 / fp8 blocks'
# standing for issue 10 (T = 1..1024). Then peers.py, three interleaved rounds.
#   prep: run-s58g.sh's base binary and store; SEED=build-gpu/bin/s58/store-h.tar.xz bash bench/store_prefill.sh \
#           build-gpu/bin/s58/store-i.tar.xz 1,2,4,8,16,32,64,128,1024 build-gpu/bin/dsmlp-bench:gelu_i8_h4096 \
#           build-gpu/bin/dsmlp-bench:swiglu_i8_h4096 build-gpu/bin/dsmlp-bench:gelu_fp8_h4096 (and :gelu_f16_h4096, :swiglu_bf16_h4096)
#   bash bench/proto/run-s58h.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-i.tar.xz
B=build-gpu/bin/dsmlp-bench O=build-gpu/bin/old/dsmlp-bench-base
run() {   # label binary layout tokens reps
  timeout 90 $2 --block $blk --tokens $4 --reps $5 --no-tune --layout $3 2>&1 | grep "T=" |
    awk -v l="$1" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for r in 1 2; do
    for spec in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in gelu_f16_h4096:in_out bert_f16_h768:out_in; do
      IFS=: read blk lay <<< "$spec"
      echo "== r$r $blk $lay"
      run base $O $lay 1,2,3,8,16,32,64,128 50
      run main $B $lay 1,2,3,8,16,32,64,128 50
    done
  done
else
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
    timeout 120 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
      awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
  done
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    timeout 120 $B --block $blk --tokens 1,2,4,8,16,32,64,128,1024 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
      awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
  done
fi
mkdir -p /tmp/c-peers; tar -xJf build-gpu/bin/s58/store-i.tar.xz -C /tmp/c-peers
DSMLP_COMPILE_THREADS=16 DSMLP_CACHE_DIR=/tmp/c-peers timeout 200 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so \
  --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --rounds 3 --layout out_in \
  --json $OUT/peers.json > $OUT/peers.log 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" $OUT/peers.log
