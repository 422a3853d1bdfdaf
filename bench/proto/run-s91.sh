#!/usr/bin/env bash
# Prepared in the seventy-second session (superseded as the first call by run-s92.sh, the landing; this one adds the
# two-a-SM form, DSMLP_PROTO_SERIAL=1, to the comparison) (~200 s; then run-s55-suite.sh under the
# winner, ~440 s, as the second): the serial k split (bench/proto/mixed-serial-split.patch) against main in one build.
# With DSMLP_PROTO_SERIAL unset the patched build runs main's picks (the template's new branch never runs: it needs
# clusters of 1 under a split), so the rounds compare processes of one binary. Three rounds, order rotated; the four
# 4096-wide code blocks at T = 1..64; ncu per kernel of the winner at T = 8.
#   prep: git apply bench/proto/mixed-serial-split.patch && export PATH=/usr/local/cuda/bin:$PATH &&
#         BUILD_DIR=build-gpu BUILD_TYPE=Release bash tools/bootstrap.sh
#         bench/store_prefill.sh build-gpu/bin/s91/store.tar.xz 1,2,3,4,8,16,24,32,48,64
#         build-gpu/bin/dsmlp-bench:BLOCK[:1,2,3,4,8,16,24,32,48,64:DSMLP_PROTO_SERIAL=1|2] for the four blocks
#   carry: build-gpu/bin build-gpu/lib
#   then (second call; carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake):
#         DSMLP_PROTO_SERIAL=<winner> LIMIT=480 bash bench/proto/run-s55-suite.sh   (the env reaches every test)
t0=$(date +%s)
. bench/proto/device-env.sh build-gpu/bin/s91/store.tar.xz
export DSMLP_COMPILE_THREADS=16
C=build-gpu/bin/dsmlp-bench TL=1,2,3,4,8,16,24,32,48,64
one() { case $1 in main) bench_run main $C out_in $TL 50 ;; *) bench_run $1 $C out_in $TL 50 DSMLP_PROTO_SERIAL=${1#s} ;; esac; }
for r in 1 2 3; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_fp8_h4096; do
    echo "== $blk out_in r$r"
    case $r in 1) one main; one s1; one s2 ;; 2) one s2; one main; one s1 ;; 3) one s1; one s2; one main ;; esac
  done
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
ncu_prof s2g8 out_in gelu_i8_h4096 8 DSMLP_PROTO_SERIAL=2
ncu_prof s1s8 out_in swiglu_i8_h4096 8 DSMLP_PROTO_SERIAL=1
ncu_prof s2s8 out_in swiglu_i8_h4096 8 DSMLP_PROTO_SERIAL=2
echo "== run-s91.sh took $(( $(date +%s) - t0 )) s"
