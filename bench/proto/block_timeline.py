"""block_timeline.py RAW: the whole block's timeline from a -DDSMLP_TIMELINE build's dsmlp-bench output (session 34).

Reads the "tl norm" and "tl mixed NAME block sm t0..t4" lines (absolute ns) of one replay and prints, per kernel, in
us from the norm's first block: block starts, the median "copies may start", the last stage multiplied (median, max)
and the block ends (min, median, p90, max)."""
import sys
from collections import defaultdict
K=defaultdict(list); N=[]
for ln in open(sys.argv[1]):
    f=ln.split()
    if f[:2]==['tl','mixed']: K[f[2]].append([int(x) for x in f[5:10]])
    elif f[:2]==['tl','norm']: N.append([int(x) for x in f[3:]])
t0=min(min(r[2] for r in N), min(min(x[0] for x in v) for v in K.values()))
print("norm lines sample", N[0])
ns=[r[2] for r in N]; ne=[r[-1] for r in N]
print(f"norm: start {min(ns)-t0:.0f}..{max(ns)-t0:.0f} end {min(ne)-t0:.0f}..{max(ne)-t0:.0f} ns")
import statistics as st
for name,v in K.items():
    s=[x[0]-t0 for x in v]; c=[x[1]-t0 for x in v]; e=[x[4]-t0 for x in v]; l=[x[3]-t0 for x in v]
    q=lambda a,p: sorted(a)[int(p*(len(a)-1))]
    print(f"{name[:40]}: start min {min(s)/1e3:.2f} med {st.median(s)/1e3:.2f} max {max(s)/1e3:.2f} | copies med {st.median(c)/1e3:.2f} | lastmul med {st.median(l)/1e3:.2f} max {max(l)/1e3:.2f} | end min {min(e)/1e3:.2f} med {st.median(e)/1e3:.2f} p90 {q(e,.9)/1e3:.2f} max {max(e)/1e3:.2f}")
