#!/usr/bin/env bash
# Fifty-eighth session: why the float wgmma kernels lose an ungated block's first GEMM (GELU-4096 f16, n 16384: fa
# 3-4 us slower, fifty-seventh session) but win a gated one (SwiGLU-4096, n 28672 as [up | gate]: 2.83 TB/s against
# cuBLASLt's 2.69 for GELU's). sp2 prints the picks (split, cluster) of GELU-4096 pinned (DSMLP_MIXED_GEMM=2) at T = 8;
# ncu's per-kernel durations of GELU-4096 f16 at T = 8 pinned and as loaded; ncu sections (SpeedOfLight, LaunchStats,
# Occupancy, MemoryWorkloadAnalysis) of both first-GEMM wgmma kernels.
#   prep: B=build-gpu/bin/dsmlp-bench; SEED=build-gpu/bin/s58/store.tar.xz bash bench/store_prefill.sh build-gpu/bin/s58/store-c.tar.xz 8 \
#           $B:gelu_f16_h4096 $B:gelu_f16_h4096:8:DSMLP_MIXED_GEMM=2 $B:swiglu_bf16_h4096:8:DSMLP_MIXED_GEMM=2 sp2:gelu_f16_h4096:8:DSMLP_MIXED_GEMM=2
#   bash bench/proto/run-s58c.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s58/store-c.tar.xz
B=build-gpu/bin/dsmlp-bench
DSMLP_MIXED_GEMM=2 timeout 60 build-gpu/bin/var/sp2 --block gelu_f16_h4096 --tokens 8 --reps 10 --no-tune --layout out_in > $OUT/sp2.log 2>&1
grep -m1 device-dram $OUT/sp2.log; grep mixed-pick $OUT/sp2.log | sort | uniq -c | head
for m in 1 2; do
  DSMLP_MIXED_GEMM=$m timeout 90 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $B --block gelu_f16_h4096 --tokens 8 --reps 2 --no-tune --layout out_in > $OUT/ncu-m$m.csv 2>$OUT/ncu-m$m.err
  echo "== ncu gelu_f16_h4096 T=8 DSMLP_MIXED_GEMM=$m rc=$? (the last launches: kernel, us)"
  python3 - $OUT/ncu-m$m.csv <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
h = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
hdr = rows[h]; k = hdr.index("Kernel Name"); m = hdr.index("gpu__time_duration.sum")
unit = rows[h + 1][m] if len(rows) > h + 1 else "?"
data = [r for r in rows[h + 1:] if len(r) == len(hdr) and r[m].replace(".", "").replace(",", "").isdigit()]
for i, r in enumerate(data[-8:]):
    v = float(r[m].replace(",", "")) / (1000 if unit.startswith("n") else 1)
    print(f"  {r[k][:90]:<90} {v:.2f}")
PY
done
for bk in gelu_f16_h4096:n16384 swiglu_bf16_h4096:n28672; do
  b=${bk%%:*} k=${bk#*:}
  DSMLP_MIXED_GEMM=2 timeout 100 ncu --clock-control none -k regex:"wgmma64.*${k}_" --launch-skip 4 --launch-count 1 \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis \
    $B --block $b --tokens 8 --reps 3 --no-tune --layout out_in > $OUT/ncu-$k.txt 2>&1
  echo "== $b $k rc $?"
  grep -E "dsmlp_wgmma|Duration|DRAM Throughput|Memory Throughput|Grid Size|Cluster Size|Block Size|Waves Per SM|Registers Per|Dynamic Shared|Achieved Occupancy|Theoretical Occupancy|Block Limit Sh|Mem Busy|Max Bandwidth|L2 Hit|Compute \(SM\)" $OUT/ncu-$k.txt | sed 's/  */ /g' | cut -c1-150 | head -24
done
