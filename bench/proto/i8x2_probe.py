#!/usr/bin/env python3
"""i8x2_probe.py — how fast the int8 tensor cores run the code GEMMs if x is two int8 planes (device, PyTorch).

The eighty-fourth session's idea (bench/proto/x16fix_error.py has its accuracy: 16-bit fixed point a token errs
0.2-1.3x as much as f16 x, 6-40x less than bf16 x): x as q = 256 hi + lo per token, so W x = s (256 W.hi + W.lo) is
one s8 x s8 -> s32 GEMM of the weight with 2T "tokens" (both planes), twice the f16 rate, no weight conversion. The
code kernels (templates/mixed.cu) convert every code before an f16 wgmma and ran GELU-4096's first GEMM at T = 128
in 33.95 us on an H100 (ncu, eighty-third session; 54% of the tensor pipe). This probe times cuBLASLt's int8 GEMM
(torch._int_mm) on the blocks' GEMM shapes with 2T rows, next to T rows (one plane: the int8 rate's own bound) and
the f16 GEMM with T rows, all in one process: if 2T rows run near 22-25 us at T = 128 on an H100, a generated int8
kernel (both operands from shared memory, hi / lo joined in registers in the epilogue) is worth building.

CUDA-graph replays of 10 GEMMs over two weight copies (so L2 never holds the weight), median of 30, µs a GEMM.
First a check that the planes give W x: against float64 on a small shape.

    python3 bench/proto/i8x2_probe.py [--tokens 64,128,1024] [--reps 30]
"""
import argparse
import statistics

import torch


def planes(x):
    """x [T, K] float -> (hi, lo) int8 [T, K] each and the per-token scale s [T, 1]: x ~ s (256 hi + lo)."""
    s = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-30) / 32639.0
    q = torch.round(x / s).clamp(-32640, 32639)
    lo = torch.remainder(q + 128, 256) - 128
    hi = (q - lo) / 256
    return hi.to(torch.int8), lo.to(torch.int8), s


def check():
    torch.manual_seed(0)
    T, K, N = 32, 512, 256
    x = torch.randn(T, K, device="cuda", dtype=torch.float64)
    w = torch.randint(-127, 128, (N, K), device="cuda", dtype=torch.int8)
    hi, lo, s = planes(x)
    acc = torch._int_mm(torch.cat([hi, lo]), w.t())   # [2T, N] int32: exact
    y = s * (256.0 * acc[:T].double() + acc[T:].double())
    ref = x @ w.double().t()
    err = ((y - ref).norm() / ref.norm()).item()
    print(f"check: planes through torch._int_mm against float64: relative error {err:.2e}")
    if not err < 1e-4:
        raise SystemExit("i8x2_probe: the planes do not give W x")


def time_graph(fn, reps):
    """Median µs of one fn() over `reps` replays of a graph of 10 calls."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn(0)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(10):
            fn(i)
    for _ in range(3):
        g.replay()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0 / 10)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", default="64,128,1024")
    ap.add_argument("--reps", type=int, default=30)
    a = ap.parse_args()
    print(torch.cuda.get_device_name(), torch.__version__)
    check()
    shapes = [("GELU-4096 W1", 16384, 4096), ("GELU-4096 W2", 4096, 16384),
              ("SwiGLU-4096 W1 [up|gate]", 28672, 4096), ("SwiGLU-4096 W2", 4096, 14336)]
    print("| weight (N x K) | T | int8, 2T rows (x in two planes) µs | TB/s of codes | int8, T rows µs | f16, T rows µs "
          "| f16 TB/s |")
    print("|---|---|---|---|---|---|---|")
    for name, N, K in shapes:
        w8 = [torch.randint(-127, 128, (N, K), device="cuda", dtype=torch.int8) for _ in range(2)]
        w16 = [torch.randn(N, K, device="cuda", dtype=torch.float16) for _ in range(2)]
        for T in [int(t) for t in a.tokens.split(",")]:
            x2 = torch.randint(-127, 128, (2 * T, K), device="cuda", dtype=torch.int8)
            x1 = x2[:T].contiguous()
            xh = torch.randn(T, K, device="cuda", dtype=torch.float16)
            t2 = time_graph(lambda i: torch._int_mm(x2, w8[i & 1].t()), a.reps)
            t1 = time_graph(lambda i: torch._int_mm(x1, w8[i & 1].t()), a.reps)
            th = time_graph(lambda i: xh @ w16[i & 1].t(), a.reps)
            print(f"| {name} ({N} x {K}) | {T} | {t2:.1f} | {N * K / t2 / 1e6:.2f} | {t1:.1f} | {th:.1f} "
                  f"| {2 * N * K / th / 1e6:.2f} |")
        del w8, w16
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
