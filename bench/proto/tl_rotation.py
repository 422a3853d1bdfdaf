#!/usr/bin/env python3
"""tl_rotation.py ROT:RAW [ROT:RAW ...]: is a mixed GEMM's slow tail the SM or the rows it streams?

Each RAW is one process's output of a -DDSMLP_TIMELINE build with bench/proto/tl-rotate-tiles.patch, whose row tile
is (blockIdx.y + ROT) mod gridDim.y. For every pair of runs and every mixed kernel it correlates the blocks' durations
keyed three ways: by SM, by row tile (with its k part), by block index. Between runs of different ROT the block
index and the row tile part ways: a high SM correlation with a low tile one says some SMs stream slower whatever
rows they get (a static, per-SM balance could pay), the opposite says the rows (their addresses) are slow.
It also prints each kernel's end spread: median / p90 / max block end from the kernel's first start, and what the
end would be with the k slowest SMs given no work (the (k + 1)-th latest SM end), k = 4 and 8."""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from timeline import read_kernels   # noqa: E402


def grid_y(name):
    """Row tiles of a mixed kernel from its name (128 rows a tile; n = the GEMM's rows, both halves when gated)."""
    for part in name.split("_"):
        if part.startswith("n") and part[1:].isdigit():
            return int(part[1:]) // 128
    return None


def load(arg):
    rot, path = arg.split(":", 1)
    with open(path) as f:
        kernels = read_kernels(f)
    out = {}
    for name, k in kernels.items():
        gy = grid_y(name)
        if k["kind"] != "mixed" or not gy or not k["blocks"]:
            continue
        t0 = min(t[0] for _, t in k["blocks"])
        rows = [(sm, t, (t[4] - t0) / 1000.0, (t[4] - t[0]) / 1000.0) for sm, t in k["blocks"]]
        out[name] = (int(rot), gy, rows, k)
    return out


def corr(a, b):
    if len(a) < 3:
        return float("nan")
    ma, mb = statistics.mean(a), statistics.mean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den if den else float("nan")


def keyed(run, how):
    """{key: block duration (us)}; how: 'sm' (an SM's latest end), 'tile', 'block'."""
    rot, gy, rows, k = run
    d = {}
    for i, (sm, t, end, dur) in enumerate(rows):
        b = k["ids"][i]
        y, z = b % gy, b // gy
        if how == "sm":
            d[sm] = max(d.get(sm, 0.0), end)
        elif how == "tile":
            d[((y + rot) % gy, z)] = dur
        else:
            d[b] = dur
    return d


def main():
    runs = [load(a) for a in sys.argv[1:]]
    names = sorted(set().union(*[r.keys() for r in runs]))
    for name in names:
        have = [(i, r[name]) for i, r in enumerate(runs) if name in r]
        print("%s (%d blocks)" % (name, len(have[0][1][2])))
        for i, run in have:
            ends = sorted(keyed(run, "sm").values())
            print("  run %d rot %d: SM ends median %.2f p90 %.2f max %.2f; without the 4 / 8 slowest SMs %.2f / %.2f" % (
                i, run[0], statistics.median(ends), ends[int(0.9 * (len(ends) - 1))], ends[-1], ends[-5], ends[-9]))
        for x in range(len(have)):
            for y in range(x + 1, len(have)):
                (i, a), (j, b) = have[x], have[y]
                line = []
                for how in ("sm", "tile", "block"):
                    da, db = keyed(a, how), keyed(b, how)
                    keys = sorted(set(da) & set(db))
                    line.append("%s %.2f" % (how, corr([da[q] for q in keys], [db[q] for q in keys])))
                same = sum(1 for p, q in zip(a[2], b[2]) if p[0] == q[0]) if a[3]["ids"] == b[3]["ids"] else -1
                print("  runs %d/%d (rot %d/%d): corr %s; blocks on the same SM %d" % (
                    i, j, a[0], b[0], ", ".join(line), same))


if __name__ == "__main__":
    main()
