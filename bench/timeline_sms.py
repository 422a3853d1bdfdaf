#!/usr/bin/env python3
"""Is a kernel's tail the same SMs every time? Reads the "tl" lines of several -DDSMLP_TIMELINE=N runs (one file per
process, bench/timeline.py says how to make them) and prints, per kernel: each run's SM end times (an SM's last block
end, from the kernel's first start) as median / last, what a balanced split would end at (every SM working at its own
measured rate until the same moment: the work of the SMs that held two blocks over the sum of their rates), and how
well the per-SM end times of two runs correlate. A correlation near 1 says the tail is systematic (some SMs stream
slower, run after run: a static split leaves the fast ones idle); near 0, that it is noise.

    for i in 1 2 3; do DSMLP_CACHE_DIR=/tmp/tl ./dsmlp-bench --block gelu_f16_h4096 --tokens 1 --reps 30 \\
        --no-tune --layout out_in > tl-$i.raw; done
    bench/timeline_sms.py tl-1.raw tl-2.raw tl-3.raw
"""
import statistics
import sys

from timeline import read_kernels


def read_run(path):
    """{kernel: [(sm, start ns, end ns)]} of one process's recorded launch (blocks that recorded nothing left out)."""
    with open(path) as f:
        kernels = read_kernels(f)
    return {n: [(sm, t[0], t[4]) for sm, t in k["blocks"]] for n, k in kernels.items() if k["blocks"]}


def sm_ends(blocks):
    """({sm: its last block's end, µs from the kernel's first start}, {sm: blocks it ran})."""
    t0 = min(b[1] for b in blocks)
    ends, count = {}, {}
    for sm, _, end in blocks:
        ends[sm] = max(ends.get(sm, 0.0), (end - t0) / 1000.0)
        count[sm] = count.get(sm, 0) + 1
    return ends, count


def correlation(a, b):
    ma, mb = statistics.mean(a), statistics.mean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den if den else float("nan")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: timeline_sms.py RUN.raw RUN.raw [...]   (two or more processes' timeline output)")
    runs = [read_run(p) for p in sys.argv[1:]]
    names = [n for n in runs[0] if all(n in r for r in runs)]
    if not names:
        sys.exit("timeline_sms.py: no kernel recorded in every file (a -DDSMLP_TIMELINE=N build?)")
    names.sort(key=lambda n: min(b[1] for b in runs[0][n]))
    for n in names:
        print(n)
        per_run = [sm_ends(r[n]) for r in runs]
        for i, (ends, count) in enumerate(per_run):
            full = max(count.values())   # SMs that held the most blocks: the ones a balanced split would even out
            rate = {sm: count[sm] / ends[sm] for sm in ends}
            balanced = sum(count.values()) / sum(rate.values())
            es = sorted(v for sm, v in ends.items() if count[sm] == full)
            print("  run %d: %d SMs x %d blocks end median %.2f, last %.2f µs; balanced %.2f" % (
                i + 1, len(es), full, statistics.median(es), es[-1], balanced))
        for i in range(len(runs)):
            for j in range(i + 1, len(runs)):
                (ei, ci), (ej, cj) = per_run[i], per_run[j]
                full = max(ci.values())
                common = [sm for sm in ei if sm in ej and ci[sm] == full and cj[sm] == full]
                if len(common) > 2:
                    print("  runs %d and %d: per-SM end correlation %.2f over %d SMs" % (
                        i + 1, j + 1, correlation([ei[s] for s in common], [ej[s] for s in common]), len(common)))


if __name__ == "__main__":
    main()
