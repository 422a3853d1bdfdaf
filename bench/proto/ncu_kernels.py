#!/usr/bin/env python3
"""ncu_kernels.py CSV — one line per profiled kernel launch (in launch order) from `ncu --csv --metrics
gpu__time_duration.sum,dram__bytes_read.sum` output: duration in µs, DRAM bytes read in MB, their rate, the name."""
import csv, sys

rows = list(csv.reader(l for l in open(sys.argv[1], errors="replace") if l.startswith('"')))
if not rows:
    sys.exit("ncu_kernels: no CSV rows in " + sys.argv[1])
h = rows[0]
col = {n: h.index(n) for n in ("ID", "Kernel Name", "Metric Name", "Metric Value") if n in h}
launch = {}
for r in rows[1:]:
    k = launch.setdefault(r[col["ID"]], {"name": r[col["Kernel Name"]]})
    k[r[col["Metric Name"]]] = float(r[col["Metric Value"]].replace(",", ""))
for i, k in sorted(launch.items(), key=lambda kv: int(kv[0])):
    t = k.get("gpu__time_duration.sum", 0) / 1e3   # ns -> µs
    mb = k.get("dram__bytes_read.sum", 0) / 1e6
    print(f"{i:>4} {t:8.2f} us {mb:8.1f} MB {mb / t / 1e6 if t else 0:5.2f} TB/s  {k['name'][:100]}")
