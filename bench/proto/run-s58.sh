#!/usr/bin/env bash
# Fifty-eighth session, first call, on whichever card comes: (1) on an H200 only, 616b9a3's limit on the card
# (run-s57e.sh: the DRAM rate device.c reads, no wgmma pick at T <= 32, main as loaded against DSMLP_MIXED_GEMM=0);
# (2) the T = 1 / 2 / 8 blocks of main against the fifty-first session's tree (86c5e41, build-gpu/bin/old: the
# H200's SwiGLU-4096 T = 1 read 98.3 us in the fifty-seventh session's peers.py against 91.4 in the fifty-first's);
# (3) the GPU tests that run the float gated rule's paths (mlp_family, mlp_cross, wgmma, runtime, layers, gemm,
# test_gpu_quant mixed) on main at bf5bfab.
#   prep: old = 86c5e41 built in a worktree (cmake Release, target dsmlp-bench), copied to build-gpu/bin/old/;
#         SEED=build-gpu/bin/s57/store-e.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store.tar.xz 1,2,8 \
#           build-gpu/bin/dsmlp-bench:swiglu_bf16_h4096 build-gpu/bin/dsmlp-bench:gelu_f16_h4096 \
#           build-gpu/bin/old/dsmlp-bench:swiglu_bf16_h4096 build-gpu/bin/old/dsmlp-bench:gelu_f16_h4096
#   bash bench/proto/run-s58.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s58/store.tar.xz
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  echo "== s57e (H200), no tests"; sed -n '/^timeout 60/,/^done/p' bench/proto/run-s57e.sh > /tmp/s57e-part.sh; bash /tmp/s57e-part.sh
fi
echo "== main vs old (86c5e41), T = 1 / 2 / 8, as loaded"
for r in 1 2; do for b in main old; do
  bin=build-gpu/bin/dsmlp-bench; [ $b = old ] && bin=build-gpu/bin/old/dsmlp-bench
  for blk in swiglu_bf16_h4096 gelu_f16_h4096; do
    timeout 60 $bin --block $blk --tokens 1,2,8 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" | awk -v l="$b r$r" '{print l, $1, $2, $4}'
  done
done; done
echo "== GPU tests on main: the ones that run the float gated rule's paths (lower.c gated_block, exec_mixed.c)"
export DSMLP_COMPILE_THREADS=4 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
CK_RUN_CASE=mixed timeout ${LIMIT:-400} build-gpu/tests/test_gpu_quant > $OUT/quant-mixed.log 2>&1 &
timeout ${LIMIT:-400} ctest --test-dir build-gpu -R "test_gpu_(mlp_family|mlp_cross|wgmma|runtime|layers|gemm)$" -j 5 \
    --timeout $((${LIMIT:-400} - 10)) > $OUT/ctest.log 2>&1
grep -vE "^ *Start|^$" $OUT/ctest.log
wait
echo "quant mixed: $(grep -E '^[0-9]+%:|cases' $OUT/quant-mixed.log | tr '\n' ' ')"
grep -E "cases \(|Checks:" build-gpu/Testing/Temporary/LastTest.log | cut -c1-160 | sort | uniq -c | head -20
