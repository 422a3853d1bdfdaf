#!/usr/bin/env bash
# Fifty-eighth session: main with the float 64-token kernels one a SM and the pair rule widened (ungated blocks, both
# layouts, T = 3..64) against base (5911d99, the session's start: build-gpu/bin/old/dsmlp-bench-base), as loaded, two
# rounds; then the GPU tests that run the float wgmma kernels; then peers.py (two interleaved rounds).
#   prep: base = 5911d99 built in a worktree (Release, target dsmlp-bench), copied to build-gpu/bin/old/dsmlp-bench-base;
#         B=build-gpu/bin/dsmlp-bench O=build-gpu/bin/old/dsmlp-bench-base TK=1,2,3,8,16,32,64,128
#         SEED=build-gpu/bin/s58/store-g2.tar.xz bash bench/store_prefill.sh /tmp/sh1.tar.xz $TK $B:gelu_f16_h4096 $O:gelu_f16_h4096 \
#           $B:swiglu_bf16_h4096 $O:swiglu_bf16_h4096 $B:bert_f16_h768 $O:bert_f16_h768 $B:swiglu_bf16_h8192:3,8,32,64 $O:swiglu_bf16_h8192:3,8,32,64
#         LAYOUT=in_out SEED=/tmp/sh1.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store-h.tar.xz $TK $B:gelu_f16_h4096 $O:gelu_f16_h4096
#   bash bench/proto/run-s58g.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s58/store-h.tar.xz
B=build-gpu/bin/dsmlp-bench O=build-gpu/bin/old/dsmlp-bench-base
run() {   # label binary layout tokens reps
  timeout 90 $2 --block $blk --tokens $4 --reps $5 --no-tune --layout $3 2>&1 | grep "T=" |
    awk -v l="$1" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
for r in 1 2; do
  for spec in gelu_f16_h4096:out_in:1,2,3,8,16,32,64,128:50 swiglu_bf16_h4096:out_in:1,2,3,8,16,32,64,128:50 \
              gelu_f16_h4096:in_out:1,2,3,8,16,32,64,128:50 bert_f16_h768:out_in:1,2,3,8,16,32,64,128:50 \
              swiglu_bf16_h8192:out_in:3,8,32,64:20; do
    IFS=: read blk lay tok reps <<< "$spec"
    echo "== r$r $blk $lay"
    run base $O $lay $tok $reps
    run main $B $lay $tok $reps
  done
done
echo "== GPU tests on main"
export DSMLP_COMPILE_THREADS=4
CK_RUN_CASE=mixed timeout 300 build-gpu/tests/test_gpu_quant > $OUT/quant-mixed.log 2>&1 &
timeout 300 ctest --test-dir build-gpu -R "test_gpu_(mlp_family|mlp_cross|wgmma|runtime|layers|gemm)$" -j 5 --timeout 290 > $OUT/ctest.log 2>&1
grep -vE "^ *Start|^$" $OUT/ctest.log | grep -v "Label\|gpu  *=\|Total Test"
wait
echo "quant mixed: $(grep -E '^[0-9]+%:|cases \(' $OUT/quant-mixed.log | tr '\n' ' ' | cut -c1-200)"
grep -E "cases \(" build-gpu/Testing/Temporary/LastTest.log | cut -c1-150 | sort | uniq -c
echo "== peers"
mkdir -p /tmp/c-peers; tar -xJf build-gpu/bin/s58/store-h.tar.xz -C /tmp/c-peers
DSMLP_COMPILE_THREADS=16 DSMLP_CACHE_DIR=/tmp/c-peers timeout 200 python3 bench/peers.py --lib build-gpu/lib/libdsmlp.so \
  --tokens 1,2,4,8,16,32,64,128 --blocks gelu_f16_h4096,swiglu_bf16_h4096,bert_f16_h768 --reps 100 --rounds 2 --layout out_in \
  --json $OUT/peers.json > $OUT/peers.log 2>&1; echo "peers rc $?"; grep -E "^card|^measured|^\| [gsb]" $OUT/peers.log
