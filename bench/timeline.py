#!/usr/bin/env python3
"""Where a block's time goes inside one CUDA-graph replay: reads the "tl" lines of a -DDSMLP_TIMELINE=N build (its
norm, mixed-input, decode GEMV and gated kernels keep global-timer nanoseconds for every block of each module's N-th launch,
templates/common.cuh; the runtime prints them when a plan is freed, src/runtime/exec_timeline.c) and prints, per kernel in start order, when its blocks started, could copy, got their first stage,
finished their last stage and ended, relative to the first block of the first kernel, and the gaps between kernels;
for the mixed-input GEMMs also the last stage's times by blocks per SM.

    DSMLP_CACHE_DIR=/tmp/tl ./dsmlp-bench --block gelu_i8_h4096 --tokens 16 --reps 30 --no-tune | bench/timeline.py

Run one T per process: each module counts its own launches, so the N-th launches of the norm and the GEMMs are the
same replay only when every module ran equally often (the script warns when the kernels lie more than 1 ms apart).
"""
import statistics
import sys


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def occupancy(blocks, us, med):
    """The last stage's median time by how many of the kernel's blocks shared an SM: an SM's blocks share its
    shared-memory bandwidth and issue slots, so unequal counts show up as a tail."""
    per_sm = {}
    for sm, _ in blocks:
        per_sm[sm] = per_sm.get(sm, 0) + 1
    parts = []
    for k in sorted(set(per_sm.values())):
        last = [t[3] for sm, t in blocks if per_sm[sm] == k and t[3]]
        if last:
            parts.append("%d SMs x %d blocks: last stage median %.2f, max %.2f" % (
                sum(1 for v in per_sm.values() if v == k), k, med(last), us(max(last))))
    return "  " + "; ".join(parts)


def read_kernels(lines):
    """{kernel name: {"kind", "blocks": [(sm, [5 times, ns])], "ids": each of those blocks' index, "missing": blocks
    that recorded nothing}} of "tl" lines."""
    kernels = {}
    for line in lines:
        f = line.split()
        if len(f) != 10 or f[0] != "tl":
            continue
        kind, name = f[1], f[2]
        sm = int(f[4])
        t = [int(x) for x in f[5:10]]
        k = kernels.setdefault(name, {"kind": kind, "blocks": [], "ids": [], "missing": 0})
        if t[0] == 0 or t[4] == 0:   # a block that did not record this launch (builds before 2026-12-03 counted
            k["missing"] += 1          # launches at block 0's end: a second wave's blocks missed theirs)
            continue
        k["blocks"].append((sm, t))
        k["ids"].append(int(f[3]))
    return kernels


def main():
    kernels = read_kernels(sys.stdin)
    kernels = {n: k for n, k in kernels.items() if k["blocks"] or print(
        "timeline.py: %s: no block recorded its times" % n, file=sys.stderr)}
    if not kernels:
        sys.exit("timeline.py: no 'tl' lines on stdin (a -DDSMLP_TIMELINE=N build, and at least N + 1 launches?)")
    order = sorted(kernels, key=lambda n: min(b[1][0] for b in kernels[n]["blocks"]))
    t0 = min(b[1][0] for b in kernels[order[0]]["blocks"])
    us = lambda ns: (ns - t0) / 1000.0
    # medians of times relative to t0: the global timer's nanoseconds (~1.8e18) lose 8 bits as floats
    med = lambda ns: statistics.median([x - t0 for x in ns]) / 1000.0
    print("µs from the first block's start; per kernel: blocks (SMs), start first..last, copies may start (median),")
    print("first stage in (median / max), last stage done (median / max), end min / median / p90 / max")
    prev_end = None
    for n in order:
        bl = kernels[n]["blocks"]
        starts = [b[1][0] for b in bl]
        ends = [b[1][4] for b in bl]
        sms = len(set(b[0] for b in bl))
        if prev_end is not None:
            print("  gap: %+.2f µs (this kernel's first start - the previous one's last end)" % ((min(starts) - prev_end) / 1000.0))
        row = "%-60s %4d (%3d)  start %7.2f..%7.2f" % (n[:60], len(bl), sms, us(min(starts)), us(max(starts)))
        if kernels[n]["kind"] == "mixed":
            wait = [b[1][1] for b in bl if b[1][1]]
            first = [b[1][2] for b in bl if b[1][2]]
            last = [b[1][3] for b in bl if b[1][3]]
            if wait:
                row += "  copy %7.2f" % med(wait)
            if first:
                row += "  first %7.2f / %7.2f" % (med(first), us(max(first)))
            if last:
                row += "  last %7.2f / %7.2f" % (med(last), us(max(last)))
        row += "  end %7.2f / %7.2f / %7.2f / %7.2f" % (us(min(ends)), med(ends), us(pct(ends, 0.9)),
                                                      us(max(ends)))
        print(row)
        if kernels[n]["missing"]:
            print("  %d blocks did not record their times (left out above)" % kernels[n]["missing"])
        if kernels[n]["kind"] == "mixed":
            print(occupancy(bl, us, med))
        prev_end = max(ends)
    span = max(max(b[1][4] for b in kernels[n]["blocks"]) for n in order) - t0
    print("whole: %.2f µs from the first start to the last end" % (span / 1000.0))
    if span > 1_000_000:
        print("warning: the kernels lie more than 1 ms apart: their N-th launches are not from one replay", file=sys.stderr)


if __name__ == "__main__":
    main()
