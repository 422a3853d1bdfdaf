#!/usr/bin/env python3
"""The mixed kernels' epilogue per cluster (bench/proto/stage-timeline.patch): reads "tl" and "tle" lines, prints
per kernel the medians over clusters (us) of: the cluster's multiply skew (last - first block's warpgroups met),
sums staged and synced after the last block met, the sum/store loop, and the closing sync."""
import sys, re, statistics as st
from collections import defaultdict
tl, te = defaultdict(dict), defaultdict(dict)
for ln in sys.stdin:
    f = ln.split()
    if f and f[0] == 'tl' and f[1] == 'mixed': tl[f[2]][int(f[3])] = [int(x) for x in f[5:10]]
    elif f and f[0] == 'tle': te[f[1]][int(f[2])] = [int(x) for x in f[3:6]]
for name, E in te.items():
    gy = int(re.search(r'_n(\d+)_', name).group(1)) // 128
    n = len(E); S = n // gy
    rows = []
    for y in range(gy):
        bl = [y + gy * z for z in range(S)]
        if any(b not in E or b not in tl[name] for b in bl): continue
        e0 = [E[b][0] for b in bl]; e1 = [E[b][1] for b in bl]; e2 = [E[b][2] for b in bl]; t4 = [tl[name][b][4] for b in bl]
        rows.append(((max(e0) - min(e0)) / 1e3, (st.median(e1) - max(e0)) / 1e3, st.median([b - a for a, b in zip(e1, e2)]) / 1e3,
                     st.median([b - a for a, b in zip(e2, t4)]) / 1e3))
    if not rows: continue
    m = [st.median([r[i] for r in rows]) for i in range(4)]
    print(f"epi {name} S={S}: skew {m[0]:.2f} | staged+synced after last {m[1]:.2f} | loop {m[2]:.2f} | closing sync {m[3]:.2f} us")
