#!/usr/bin/env bash
# Sixty-third session (prepared, not run): on an H200, the float blocks' wide decode GEMVs (T = 3..4; variant wac:
# bench/proto/decode-wide-any-card.patch lifts the DRAM-rate condition) against main, which keeps its main route
# there, T = 1..4 and 8, both layouts, two rounds. Decides PLAN_DECODE_WIDE_MAX_DRAM_GBS on that card.
#   prep: VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh wac bench/proto/decode-wide-any-card.patch
#   carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "run-s63e.sh: not an H200: nothing to decide"; exit 0; }
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var/wac
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    for lay in out_in in_out; do
      echo "== $blk $lay r$r"; bench_run main $B $lay 1,2,3,4,8 50; bench_run wac $V $lay 1,2,3,4,8 50
    done
  done
done
CK_RUN_CASE=gemv_wide timeout 200 build-gpu/bin/var/wac-test_gpu_mlp_family > /tmp/w.log 2>&1
echo "wac gemv_wide rc $?: $(grep -E '^[0-9]+%:' /tmp/w.log)"; grep -E "^FAIL|cases \(" /tmp/w.log | head -4
