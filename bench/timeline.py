#!/usr/bin/env python3
"""Where a block's time goes inside one CUDA-graph replay: reads the "tl" lines of a -DDSMLP_TIMELINE=N build (its
norm and mixed-input kernels keep global-timer nanoseconds for every block of each module's N-th launch,
templates/common.cuh; the runtime prints them when a plan is freed, src/runtime/exec_timeline.c) and prints, per kernel in start order, when its blocks started, could copy, got their first stage,
finished their last stage and ended, relative to the first block of the first kernel, and the gaps between kernels.

    DSMLP_CACHE_DIR=/tmp/tl ./dsmlp-bench --block gelu_i8_h4096 --tokens 16 --reps 30 --no-tune | bench/timeline.py

Run one T per process: each module counts its own launches, so the N-th launches of the norm and the GEMMs are the
same replay only when every module ran equally often (the script warns when the kernels lie more than 1 ms apart).
"""
import statistics
import sys


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def main():
    kernels = {}
    for line in sys.stdin:
        f = line.split()
        if len(f) != 10 or f[0] != "tl":
            continue
        kind, name = f[1], f[2]
        sm = int(f[4])
        t = [int(x) for x in f[5:10]]
        kernels.setdefault(name, {"kind": kind, "blocks": []})["blocks"].append((sm, t))
    if not kernels:
        sys.exit("timeline.py: no 'tl' lines on stdin (a -DDSMLP_TIMELINE=N build, and at least N + 1 launches?)")
    order = sorted(kernels, key=lambda n: min(b[1][0] for b in kernels[n]["blocks"]))
    t0 = min(b[1][0] for b in kernels[order[0]]["blocks"])
    us = lambda ns: (ns - t0) / 1000.0
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
                row += "  copy %7.2f" % us(statistics.median(wait))
            if first:
                row += "  first %7.2f / %7.2f" % (us(statistics.median(first)), us(max(first)))
            if last:
                row += "  last %7.2f / %7.2f" % (us(statistics.median(last)), us(max(last)))
        row += "  end %7.2f / %7.2f / %7.2f / %7.2f" % (us(min(ends)), us(statistics.median(ends)), us(pct(ends, 0.9)),
                                                      us(max(ends)))
        print(row)
        prev_end = max(ends)
    span = max(max(b[1][4] for b in kernels[n]["blocks"]) for n in order) - t0
    print("whole: %.2f µs from the first start to the last end" % (span / 1000.0))
    if span > 1_000_000:
        print("warning: the kernels lie more than 1 ms apart: their N-th launches are not from one replay", file=sys.stderr)


if __name__ == "__main__":
    main()
