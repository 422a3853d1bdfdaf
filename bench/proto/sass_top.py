#!/usr/bin/env python3
"""sass_top.py CSV [N] — the N SASS instructions with the most warp-stall samples in an `ncu --page source --csv
--print-source sass` dump (bench/proto/run-s52-stalls.sh), with their share of all samples and their neighbours' text."""
import csv, sys

rows = list(csv.reader(l for l in open(sys.argv[1], errors="replace") if l.startswith('"')))
head = next((i for i, r in enumerate(rows) if any("Warp Stall Sampling (All" in c for c in r)), None)
if head is None:
    sys.exit("sass_top: no 'Warp Stall Sampling (All Samples)' column in " + sys.argv[1])
cols = rows[head]
ia = next(i for i, c in enumerate(cols) if "Warp Stall Sampling (All" in c)
isrc = next((i for i, c in enumerate(cols) if c == "Source"), 1)
body = [r for r in rows[head + 1:] if len(r) > ia and r[ia].replace(",", "").replace(".", "").isdigit()]
val = lambda r: float(r[ia].replace(",", ""))
total = sum(val(r) for r in body) or 1
n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
print(f"{len(body)} instructions, {total:.0f} stall samples")
for r in sorted(body, key=val, reverse=True)[:n]:
    print(f"{100 * val(r) / total:5.1f}%  {r[isrc][:110]}")
