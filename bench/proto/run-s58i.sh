#!/usr/bin/env bash
# Fifty-eighth session: on an H200, 22d02be against base (5911d99) where the change acts there (T = 33..64 `[out,in]`,
# BERT's narrow second GEMM; run-s58h.sh's H200 branch, one round); on an H100, compute-sanitizer memcheck of the new
# pair (GELU-4096 f16 at T = 3 and 64, both layouts: the one-a-SM kernels, the second GEMM's two groups of clusters).
#   bash bench/proto/run-s58i.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-i.tar.xz
B=build-gpu/bin/dsmlp-bench O=build-gpu/bin/old/dsmlp-bench-base
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for spec in gelu_f16_h4096:out_in swiglu_bf16_h4096:out_in bert_f16_h768:out_in gelu_f16_h4096:in_out; do
    IFS=: read blk lay <<< "$spec"
    for b in base main; do bin=$B; [ $b = base ] && bin=$O
      echo "$b $blk $lay: $(timeout 90 $bin --block $blk --tokens 2,3,8,32,48,64,128 --reps 50 --no-tune --layout $lay 2>&1 | grep "T=" | awk '{printf "%s %s ", $2, $4}')"
    done
  done
else
  export DSMLP_COMPILE_THREADS=16
  for lay in out_in in_out; do
    timeout 200 compute-sanitizer --tool memcheck --error-exitcode 7 $B --block gelu_f16_h4096 --tokens 3,64 --reps 1 --no-tune \
      --layout $lay > $OUT/memcheck-$lay.log 2>&1
    echo "memcheck gelu_f16_h4096 $lay rc $?: $(grep -E 'ERROR SUMMARY|T=' $OUT/memcheck-$lay.log | tr '\n' ' ' | cut -c1-300)"
  done
fi
