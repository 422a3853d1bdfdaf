#!/usr/bin/env bash
# Fifty-seventh session, last call: main at 616b9a3 (the gated block's float wgmma rule only on cards under 4 TB/s of
# peak DRAM rate) on whichever card comes. sp2 = main + mixed-pick-print.patch + device-dram-print.patch (prints the
# DRAM rate device.c reads and each wgmma pick); main as loaded against DSMLP_MIXED_GEMM=0 (cuBLASLt at T <= 32); then
# test_gpu_runtime and test_gpu_wgmma.
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh sp2 bench/proto/mixed-pick-print.patch bench/proto/device-dram-print.patch
#         S=build-gpu/bin/var/sp2; SEED=build-gpu/bin/s57/store-c.tar.xz bash bench/store_prefill.sh build-gpu/bin/s57/store-e.tar.xz \
#           2,3,8,32,33 $S:swiglu_bf16_h4096
#   bash bench/proto/run-s57e.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s57/store-e.tar.xz
timeout 60 build-gpu/bin/var/sp2 --block swiglu_bf16_h4096 --tokens 2,3,8,32,33 --reps 30 --no-tune --layout out_in > $OUT/sp2.log 2>&1
grep -m1 device-dram $OUT/sp2.log; grep mixed-pick $OUT/sp2.log | sort -k9,9n -k3,3n | uniq | awk '{printf " %s/%s:%s/%s", $5, $9, $13, $15} END{print ""}'
for m in 1 0 1 0; do
  DSMLP_MIXED_GEMM=$m timeout 60 build-gpu/bin/dsmlp-bench --block swiglu_bf16_h4096 --tokens 2,3,8,32 --reps 50 --no-tune \
    --layout out_in 2>&1 | grep "T=" | awk -v l=mixed$m '{print l, $1, $2, $4, $6}'
done
export DSMLP_COMPILE_THREADS=8
for t in test_gpu_runtime test_gpu_wgmma; do
  ( timeout ${LIMIT:-150} build-gpu/tests/$t > $OUT/$t.log 2>&1; echo "$t rc $? at $SECONDS s"; grep -E "^==|Checks|:F:|:E:" $OUT/$t.log | cut -c1-200 ) &
done
wait
