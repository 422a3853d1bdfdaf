#!/usr/bin/env bash
# Fifty-eighth session: f1 (the 64-token float wgmma kernels one a SM; call 6: GELU-4096 f16 pinned 3.6-5.4 us faster
# than main as loaded at T = 3..64 on an H100, SwiGLU-4096 0.5-1.2) on the other shapes and layouts: BERT-base f16
# `[out,in]`, GELU-4096 f16 `[in,out]`, SwiGLU-8192 bf16, and GELU-4096 int8 as a control (its kernels unchanged);
# main vs f1, as loaded and pinned (DSMLP_MIXED_GEMM=2), two rounds.
#   prep: see run-s58e.sh for f1; B=build-gpu/bin/dsmlp-bench; V=build-gpu/bin/var/f1; SEED=build-gpu/bin/s58/store-f.tar.xz \
#         bash bench/store_prefill.sh build-gpu/bin/s58/store-g.tar.xz 3,8,16,32,64 $B:bert_f16_h768 $V:bert_f16_h768 \
#           $B:bert_f16_h768:3,8,16,32,64:DSMLP_MIXED_GEMM=2 $V:bert_f16_h768:3,8,16,32,64:DSMLP_MIXED_GEMM=2 \
#           $B:swiglu_bf16_h8192:3,8,32,64 $V:swiglu_bf16_h8192:3,8,32,64 $B:swiglu_bf16_h8192:3,8,32,64:DSMLP_MIXED_GEMM=2 \
#           $V:swiglu_bf16_h8192:3,8,32,64:DSMLP_MIXED_GEMM=2 $B:gelu_i8_h4096:8,64 $V:gelu_i8_h4096:8,64
#         LAYOUT=in_out SEED=build-gpu/bin/s58/store-g.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store-g2.tar.xz \
#           3,8,32,64,100,128 $B:gelu_f16_h4096 $V:gelu_f16_h4096 $B:gelu_f16_h4096:3,8,32,64,100,128:DSMLP_MIXED_GEMM=2 \
#           $V:gelu_f16_h4096:3,8,32,64,100,128:DSMLP_MIXED_GEMM=2
#   bash bench/proto/run-s58f.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-g2.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/f1
run() {   # label binary layout tokens reps env...
  local l=$1 bin=$2 lay=$3 tok=$4 reps=$5; shift 5
  env "$@" timeout 90 $bin --block $blk --tokens $tok --reps $reps --no-tune --layout $lay 2>&1 | grep "T=" |
    awk -v l="$l" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
for r in 1 2; do
  for spec in bert_f16_h768:out_in:3,8,16,32,64:50 gelu_f16_h4096:in_out:3,8,32,64,100,128:50 \
              swiglu_bf16_h8192:out_in:3,8,32,64:20 gelu_i8_h4096:out_in:8,64:50; do
    IFS=: read blk lay tok reps <<< "$spec"
    echo "== r$r $blk $lay"
    run "main as loaded" $B $lay $tok $reps DSMLP_MIXED_GEMM=1
    run "f1 as loaded" $V $lay $tok $reps DSMLP_MIXED_GEMM=1
    [ $blk = gelu_i8_h4096 ] && continue
    run "main pinned" $B $lay $tok $reps DSMLP_MIXED_GEMM=2
    run "f1 pinned" $V $lay $tok $reps DSMLP_MIXED_GEMM=2
  done
done
