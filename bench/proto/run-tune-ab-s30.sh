#!/bin/bash
# session 30, calls 3-5: the tuner's per-bucket kernel choice A/B in separate processes (call 2's in-process "tuned"
# column ran 1.5-3 us slower than "as loaded" even where the kernels were the same). CONFIGS: "layout:block ...".
# carry build-gpu/bin/dsmlp-bench build-gpu/tests/test_gpu_wgmma build-gpu/lib build-gpu/run-ab.sh
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
if [ -z "$SKIP_TEST" ]; then
  CK_RUN_CASE=tune timeout 240 build-gpu/tests/test_gpu_wgmma > $OUT/tt.log 2>&1; echo "tune case rc=$?"
  grep -E '^[0-9]+%|FAIL|failed|test_gpu_wgmma.c:' $OUT/tt.log | head -5
fi
TOK=${TOK:-2,8,16,24,32,33,48,64,80,100,128}
row() { grep -v -e ' card ' -e '---' $OUT/m.md | grep '^|' | awk -F'|' '{printf "%s:%s ", $4+0, $5+0}'; rm -f $OUT/m.md; }
CONFIGS=${CONFIGS:-"out_in:gelu_f16_h4096 out_in:swiglu_bf16_h4096 in_out:gelu_f16_h4096 in_out:swiglu_bf16_h4096"}
for cf in $CONFIGS; do
  lay=${cf%%:*} b=${cf#*:}
  {
    DSMLP_CACHE_DIR=/tmp/base timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens $TOK --reps 3 --no-tune --layout $lay > /dev/null 2>&1
    rm -rf /tmp/t-$lay-$b; cp -r /tmp/base /tmp/t-$lay-$b
    DSMLP_CACHE_DIR=/tmp/t-$lay-$b timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens $TOK --reps 3 --layout $lay > $OUT/tune-$lay-$b.log 2>&1 || tail -3 $OUT/tune-$lay-$b.log
    echo "== $lay $b tuned:"; grep -E '^  T [0-9]+\.\.|^      \[[0-9]+\] gemm' $OUT/tune-$lay-$b.log | sed 's/dsmlp_wgmma\([0-9]*\)_[a-z0-9_]*/wg\1/g; s/dsmlp_gemv_[a-z0-9_]*/gemv/g; s/dsmlp_mixed\([0-9]*\)_[a-z0-9_]*/mx\1/g; s/ (measured: the route \([0-9.]*\) us with its generated kernel, \([0-9.]*\) without, two T summed)/ [\1|\2]/g' | paste -sd' ' | sed 's/  T /\n  T /g; s/  */ /g'
  }
done
for r in 1 2; do
  for cf in $CONFIGS; do
    lay=${cf%%:*} b=${cf#*:}
    {
      DSMLP_CACHE_DIR=/tmp/base timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens $TOK --reps 30 --no-tune --layout $lay --md $OUT/m.md > /dev/null 2>&1
      echo "r$r rule  $lay $b $(row)"
      DSMLP_CACHE_DIR=/tmp/t-$lay-$b timeout 100 build-gpu/bin/dsmlp-bench --block $b --tokens $TOK --reps 30 --no-tune --layout $lay --md $OUT/m.md > /dev/null 2>&1
      echo "r$r tuned $lay $b $(row)"
    }
  done
done
