#!/usr/bin/env bash
# Prepared in the sixty-fourth session for the next call: where main stands (run-s63f.sh: dsmlp-bench T = 1..1024 and
# bench/peers.py; peers.py last ran in the fifty-ninth session), then on an H200 only the wide decode GEMVs against
# main there (run-s63e.sh, which decides PLAN_DECODE_WIDE_MAX_DRAM_GBS). ~420 s on an H200, ~200 on an H100.
#   prep: VARIANT_TESTS=test_gpu_mlp_family bash bench/build_variant.sh wac bench/proto/decode-wide-any-card.patch
#         and the store in build-gpu/bin/s62d (bench/store_prefill.sh)
#   carry: build-gpu/bin build-gpu/lib
t0=$(date +%s)
bash bench/proto/run-s63f.sh
echo "== run-s63f.sh took $(( $(date +%s) - t0 )) s"
bash bench/proto/run-s63e.sh
echo "== both took $(( $(date +%s) - t0 )) s"
