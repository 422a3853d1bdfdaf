#!/usr/bin/env bash
# Fifty-seventh session, call 4. (1) The float wgmma kernels on an ungated block's first GEMM at T = 3..32
# (fa = main + float-first-any.patch: GELU-4096 f16's first GEMM, n 16384, is 128 tiles, one wave; its second GEMM on
# them lost 5-6 us this session (ga), both pinned were level, so the first alone may win), against main, GELU-4096 f16
# and BERT-base f16 `[out,in]`, two rounds. (2) ncu per-kernel durations of main's graph at T = 8 (GELU-4096 f16,
# SwiGLU-4096 bf16, `[out,in]`): where the block's time goes past its kernels.
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh fa bench/proto/float-first-any.patch
#         B=build-gpu/bin/dsmlp-bench; SEED=build-gpu/bin/s57/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s57/store-c.tar.xz \
#           1,2,3,4,8,16,32 $B:gelu_f16_h4096 build-gpu/bin/var/fa:gelu_f16_h4096 $B:bert_f16_h768 build-gpu/bin/var/fa:bert_f16_h768 \
#           $B:gelu_f16_h4096:8 $B:swiglu_bf16_h4096:8
#   bash bench/proto/run-s57c.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s57/store-c.tar.xz
B=build-gpu/bin/dsmlp-bench V=build-gpu/bin/var
run() {   # label binary block
  timeout 60 $2 --block $3 --tokens 1,2,3,4,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk -v l=$1 '{print l, $1, $2, $4, $6}'
}
for r in 1 2; do
  for blk in gelu_f16_h4096 bert_f16_h768; do run head-r$r $B $blk; run fa-r$r $V/fa $blk; done
  echo "round $r done $SECONDS s (build-round block T as-loaded main-steps us)"
done
for b in gelu_f16_h4096 swiglu_bf16_h4096; do
  timeout 90 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $B --block $b --tokens 8 --reps 2 --no-tune --layout out_in > $OUT/ncu-$b.csv 2>$OUT/ncu-$b.err
  echo "== ncu $b T=8 rc=$? (launches in order: kernel, us; the whole list in ncu-$b.txt)"
  python3 - $OUT/ncu-$b.csv <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
h = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
hdr = rows[h]; k = hdr.index("Kernel Name"); m = hdr.index("gpu__time_duration.sum")
unit = rows[h + 1][m] if len(rows) > h + 1 else "?"
data = [r for r in rows[h + 1:] if len(r) == len(hdr) and r[m].replace(".", "").replace(",", "").isdigit()]
print("unit:", unit, "launches:", len(data))
out = open(sys.argv[1].replace(".csv", ".txt"), "w")
for i, r in enumerate(data):
    v = float(r[m].replace(",", "")) / (1000 if unit.startswith("n") else 1)
    out.write(f"{i:4d} {r[k][:110]:<110} {v:.2f}\n")
    if i >= len(data) - 30: print(f"  {i:4d} {r[k][:70]:<70} {v:.2f}")
PY
done
