#!/usr/bin/env python3
"""ncu_by_kernel.py CSV — from `ncu --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum` of a whole
dsmlp-bench run: drops the run's floor measurements (every launch up to the last read-stream / GEMM-rate kernel)
and prints, for each kernel name in order of first launch, its launches, median duration (µs) and DRAM MB read."""
import csv, statistics, sys

rows = list(csv.reader(l for l in open(sys.argv[1], errors="replace") if l.startswith('"')))
if not rows:
    sys.exit("ncu_by_kernel: no CSV rows in " + sys.argv[1])
h = rows[0]
col = {n: h.index(n) for n in ("ID", "Kernel Name", "Metric Name", "Metric Value")}
launch = {}
for r in rows[1:]:
    k = launch.setdefault(int(r[col["ID"]]), {"name": r[col["Kernel Name"]]})
    k[r[col["Metric Name"]]] = float(r[col["Metric Value"]].replace(",", ""))
seq = [launch[i] for i in sorted(launch)]
floor = [i for i, k in enumerate(seq) if k["name"].startswith(("ds_read", "nvjet_sm90_tst_320x128"))]
seq = seq[floor[-1] + 1:] if floor else seq
by = {}
for k in seq:
    by.setdefault(k["name"], []).append(k)
print(f"{len(seq)} launches after the floor measurements")
for name, ks in by.items():
    t = statistics.median(k.get("gpu__time_duration.sum", 0) for k in ks) / 1e3
    mb = statistics.median(k.get("dram__bytes_read.sum", 0) for k in ks) / 1e6
    print(f"{len(ks):4}x {t:8.2f} us {mb:7.1f} MB {mb / t if t else 0:5.2f} TB/s  {name[:110]}")
