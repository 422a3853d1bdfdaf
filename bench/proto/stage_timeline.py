#!/usr/bin/env python3
"""Per-stage times of the mixed kernels (bench/proto/stage-timeline.patch, a -DDSMLP_TIMELINE=N build): reads the
"tls NAME block sm i issued in rel1 rel2" lines (ns from the block's start) and the "tl" lines, and prints per kernel
and stage the median over blocks (us): when the stage was issued, when it was in (warpgroup 1 saw it), when each
consumer warpgroup released it; and the spreads of in - issued (the copy's latency) and release - in (the multiply)."""
import sys, statistics as st
from collections import defaultdict
S = defaultdict(lambda: defaultdict(list))
ends = defaultdict(list)
for ln in sys.stdin:
    f = ln.split()
    if f and f[0] == 'tls':
        S[f[1]][int(f[4])].append(tuple(int(x) for x in f[5:9]))
    elif f and f[0] == 'tl' and f[1] == 'mixed':
        t = [int(x) for x in f[5:10]]
        ends[f[2]].append(((t[1] - t[0]) / 1e3 if t[1] else -1, (t[2] - t[0]) / 1e3 if t[2] else -1, (t[3] - t[0]) / 1e3, (t[4] - t[0]) / 1e3))
def q(v, p): v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
for name, stages in S.items():
    e = ends.get(name, [])
    print(f"== {name}: {len(e)} blocks; median us from block start: copies may start {st.median([x[0] for x in e]):.2f}, "
          f"last multiplied {st.median([x[2] for x in e]):.2f}, end {st.median([x[3] for x in e]):.2f} (p90 end {q([x[3] for x in e], .9):.2f})")
    print("stage  issued    in   rel1  rel2 | in-issued p10/p50/p90 | rel-in p50 | issued(i)-rel(i-stages)")
    n = max(stages) + 1
    rel = {}
    for i in range(n):
        v = stages[i]
        iss = [x[0] / 1e3 for x in v]; inn = [x[1] / 1e3 for x in v]; r1 = [x[2] / 1e3 for x in v]; r2 = [x[3] / 1e3 for x in v]
        lat = [(x[1] - x[0]) / 1e3 for x in v]; mul = [(max(x[2], x[3]) - x[1]) / 1e3 for x in v]
        rel[i] = v
        print(f"{i:5d} {st.median(iss):7.2f} {st.median(inn):6.2f} {st.median(r1):6.2f} {st.median(r2):5.2f} | "
              f"{q(lat, .1):5.2f} {q(lat, .5):5.2f} {q(lat, .9):5.2f} | {st.median(mul):5.2f} | {len(v)} blocks")
