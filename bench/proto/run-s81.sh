#!/usr/bin/env bash
# Seventy-second session, second call (~60 s): run-s80.sh's probe with the codes read where a fragment-order layout
# (a warp's 16 rows x 256 k contiguous: 512 bytes a load) would hold them (DSMLP_PROTO_LFRAG=1). First call's text: PROBE with wrong results on purpose (bench/proto/mixed-ldg-codes-xs.patch, applied in
# this build): the 16/32-token one-a-SM code kernels load their codes from global memory straight into registers
# (DSMLP_PROTO_LDGQ=n: n k blocks of 256 in registers, n - 1 in flight; the copy engine brings x only), with every
# code GEMM on its one-a-SM twin (the second GEMMs 32 tiles x 4). Controls: main, and the twins alone
# (DSMLP_PROTO_TWINS=1, codes through the copy engine as in main). Two rounds, order alternated; then ncu per kernel.
#   prep: SEED=build-gpu/bin/s62d/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s81/store.tar.xz 3,8,16,32
#         build-gpu/bin/dsmlp-bench:BLOCK:3,8,16,32[:SETTING] for the blocks and settings below
#   carry: build-gpu/bin build-gpu/lib
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s81/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=3,8,16,32
run_all() {
  bench_run main $C out_in $TL 50
  bench_run tw $C out_in $TL 50 DSMLP_PROTO_TWINS=1
  for n in 2 3 4; do bench_run lf$n $C out_in $TL 50 DSMLP_PROTO_LDGQ=$n DSMLP_PROTO_LFRAG=1; done
}
run_rev() {
  for n in 4 3 2; do bench_run lf$n $C out_in $TL 50 DSMLP_PROTO_LDGQ=$n DSMLP_PROTO_LFRAG=1; done
  bench_run tw $C out_in $TL 50 DSMLP_PROTO_TWINS=1
  bench_run main $C out_in $TL 50
}
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do
    echo "== $blk out_in r$r"
    if [ $r = 1 ]; then run_all; else run_rev; fi
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof lf3g8 out_in gelu_i8_h4096 8 DSMLP_PROTO_LDGQ=3 DSMLP_PROTO_LFRAG=1
ncu_prof lf3s8 out_in swiglu_i8_h4096 8 DSMLP_PROTO_LDGQ=3 DSMLP_PROTO_LFRAG=1
echo "== run-s81.sh took $(( $(date +%s) - t0 )) s"
