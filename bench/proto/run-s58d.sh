#!/usr/bin/env bash
# Fifty-eighth session: the float wgmma kernels one block a SM. ncu (call 4, H100, T = 8): GELU-4096 f16's first GEMM on
# them (n 16384, split 2 in clusters of 2: 256 blocks two a SM) 48.1-48.8 us against cuBLASLt's 47.3-47.6, its second
# (n 4096, clusters of 7: 224 blocks, the dispatcher filling a SM's two slots first, thirty-eighth session) 51.0-51.9
# against cuBLASLt's 46.6-46.7 + 4.4-4.7 split-k reduce. one = main + mixed-one-per-sm.patch (XONE=1: the mixed
# kernels launched with 120 KiB of shared memory, one a SM, and the pick's slots and cluster counts queried so)
# + split-cap.patch (XSPLIT_CAP / XSPLIT_N) + mixed-pick-print.patch.
#   prep: VARIANT_TESTS=test_gpu_wgmma bash bench/build_variant.sh one bench/proto/mixed-one-per-sm.patch \
#           bench/proto/split-cap.patch bench/proto/mixed-pick-print.patch
#         B=build-gpu/bin/dsmlp-bench; SEED=build-gpu/bin/s58/store-c.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store-d.tar.xz \
#           3,8,16,32 $B:gelu_f16_h4096 $B:swiglu_bf16_h4096 $B:gelu_f16_h4096:3,8,16,32:DSMLP_MIXED_GEMM=2
#   bash bench/proto/run-s58d.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-d.tar.xz
V=build-gpu/bin/var/one
for e in "XONE=0" "XONE=1" "XONE=1 XSPLIT_N=4096 XSPLIT_CAP=3" "XONE=1 XSPLIT_N=4096 XSPLIT_CAP=2"; do
  for b in gelu_f16_h4096 swiglu_bf16_h4096; do
    env $e DSMLP_MIXED_GEMM=2 timeout 60 $V --block $b --tokens 8 --reps 5 --no-tune --layout out_in 2>&1 | grep mixed-pick |
      sort -u | awk -v l="$e $b" '{printf "%s: n %s split %s cluster %s; ", l, $5, $13, $15} END {print ""}'
  done
done
run() {   # label env... -- block
  local l=$1; shift
  env "$@" timeout 60 $V --block $blk --tokens 3,8,16,32 --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk -v l="$l" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
for r in 1 2; do
  for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
    echo "== r$r $blk"
    run "as loaded (main's rule)" XONE=0
    run "pinned" XONE=0 DSMLP_MIXED_GEMM=2
    run "pinned, one a SM" XONE=1 DSMLP_MIXED_GEMM=2
    run "pinned, one a SM, n4096 split <= 3" XONE=1 DSMLP_MIXED_GEMM=2 XSPLIT_N=4096 XSPLIT_CAP=3
    run "pinned, one a SM, n4096 split <= 2" XONE=1 DSMLP_MIXED_GEMM=2 XSPLIT_N=4096 XSPLIT_CAP=2
  done
done
for x in 0 1; do
  XONE=$x DSMLP_MIXED_GEMM=2 timeout 90 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $V --block gelu_f16_h4096 --tokens 8 --reps 2 --no-tune --layout out_in > $OUT/ncu-x$x.csv 2>$OUT/ncu-x$x.err
  echo "== ncu gelu_f16_h4096 T=8 pinned XONE=$x rc=$?"
  python3 - $OUT/ncu-x$x.csv <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
h = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
hdr = rows[h]; k = hdr.index("Kernel Name"); m = hdr.index("gpu__time_duration.sum")
unit = rows[h + 1][m] if len(rows) > h + 1 else "?"
data = [r for r in rows[h + 1:] if len(r) == len(hdr) and r[m].replace(".", "").replace(",", "").isdigit()]
for r in data[-6:]:
    v = float(r[m].replace(",", "")) / (1000 if unit.startswith("n") else 1)
    print(f"  {r[k][:90]:<90} {v:.2f}")
PY
done
