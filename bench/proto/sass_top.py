#!/usr/bin/env python3
"""sass_top.py CSV [N] — the N SASS instructions with the most warp-stall samples in an `ncu --page source --csv
--print-source sass` dump (bench/proto/device-env.sh ncu_sass), with their share of all samples, after the samples
summed by kind of instruction (mbarrier waits, wgmma waits, shared loads, conversion, ...)."""
import collections, csv, sys

rows = list(csv.reader(l for l in open(sys.argv[1], errors="replace") if l.startswith('"')))
head = next((i for i, r in enumerate(rows) if any("Warp Stall Sampling (All" in c for c in r)), None)
if head is None:
    sys.exit("sass_top: no 'Warp Stall Sampling (All Samples)' column in " + sys.argv[1])
cols = rows[head]
ia = next(i for i, c in enumerate(cols) if "Warp Stall Sampling (All" in c)
isrc = next((i for i, c in enumerate(cols) if c == "Source"), 1)
iadr = next((i for i, c in enumerate(cols) if c == "Address"), None)   # to find the line in sass_report's dump
body = [r for r in rows[head + 1:] if len(r) > ia and r[ia].replace(",", "").replace(".", "").isdigit()]
val = lambda r: float(r[ia].replace(",", ""))
total = sum(val(r) for r in body) or 1
n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
print(f"{len(body)} instructions, {total:.0f} stall samples")

def opcode(text):
    words = [w for w in text.split() if not w.startswith("@")]
    return words[0] if words else "?"

def kind(i):
    op = opcode(body[i][isrc])
    if op.startswith("SYNCS") or (op == "BRA" and i > 0 and opcode(body[i - 1][isrc]).startswith("SYNCS")):
        return "mbarrier wait (SYNCS and its retry branch)"
    if op.startswith("WARPGROUP"):
        return "wgmma wait / arrive (WARPGROUP.*)"
    if op.startswith("HGMMA") or op.startswith("QGMMA") or op.startswith("IGMMA"):
        return "wgmma issue"
    if op.startswith("LDS") or op.startswith("LDSM"):
        return "shared loads"
    if op.split(".")[0] in ("PRMT", "LOP3", "HADD2", "HFMA2", "HMUL2", "F2FP", "I2F", "F2F"):
        return "conversion (PRMT, LOP3, HADD2, ...)"
    if op.startswith("BAR") or op.startswith("UCGABAR"):
        return "block / cluster barriers"
    return "other"

# By kind of wait: where the warps spend their samples (the question the per-kernel sections cannot answer)
kinds = collections.Counter()
for i, r in enumerate(body):
    kinds[kind(i)] += val(r)
for k, v in kinds.most_common():
    print(f"{100 * v / total:5.1f}%  {k}")
for r in sorted(body, key=val, reverse=True)[:n]:
    print(f"{100 * val(r) / total:5.1f}%  {r[iadr] + '  ' if iadr is not None else ''}{r[isrc][:100]}")
