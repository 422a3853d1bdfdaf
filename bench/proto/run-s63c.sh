#!/usr/bin/env bash
# Sixty-third session, call 4: the wide float decode GEMVs (working tree) against main on the blocks call 1 did not
# cover (SwiGLU-8192 bf16, both layouts; BERT-base f16 has none), T = 1..4 and 8, two rounds.
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/s62d/dsmlp-bench-head N=build-gpu/bin/dsmlp-bench
for r in 1 2; do
  for lay in out_in in_out; do
    blk=swiglu_bf16_h8192; echo "== $blk $lay r$r"; bench_run main $B $lay 1,2,3,4,8 30; bench_run new $N $lay 1,2,3,4,8 30
  done
done
