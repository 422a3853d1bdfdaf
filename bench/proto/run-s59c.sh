#!/usr/bin/env bash
# Fifty-ninth session, third call: main with the decode GEMVs' L2 prefetch (32 lines a row, EMIT_GEMV_PREFETCH_LINES)
# against head (415584c, build-gpu/bin/old/dsmlp-bench-head), as loaded, two rounds, T = 1 / 2 / 3 (3: not a GEMV,
# the control); then the whole GPU suite (bench/proto/run-s55-suite.sh, every case of the long tests as its own process).
#   prep: store_prefill.sh build-gpu/bin/s59/store-d.tar.xz 1,2,3 for both binaries (out_in and in_out blocks)
#   bash bench/proto/run-s59c.sh    carry: build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake
. bench/proto/device-env.sh build-gpu/bin/s59/store-d.tar.xz
B=build-gpu/bin/dsmlp-bench H=build-gpu/bin/old/dsmlp-bench-head
run() {   # label binary layout tokens reps
  timeout 90 $2 --block $blk --tokens $4 --reps $5 --no-tune --layout $3 2>&1 | grep "T=" |
    awk -v l="$1" '{printf "%s %s ", $2, $4; f = $15} END {print "  " l " (read floor " f ")"}'
}
for r in 1 2; do
  for spec in gelu_i8_h4096:out_in swiglu_i8_h4096:out_in gelu_fp8_h4096:out_in gelu_f16_h4096:out_in \
              swiglu_bf16_h4096:out_in bert_f16_h768:out_in gelu_erf_f16_h4096:out_in gelu_f16_h4096:in_out bert_f16_h768:in_out; do
    IFS=: read blk lay <<< "$spec"
    echo "== r$r $blk $lay"
    run head $H $lay 1,2,3 50
    run main $B $lay 1,2,3 50
  done
done
unset DSMLP_CACHE_DIR
LIMIT=${LIMIT:-480} bash bench/proto/run-s55-suite.sh
