#!/usr/bin/env python3
"""x16fix_error.py — what the int8 tensor cores would cost in accuracy (CPU only, numpy).

The idea (eighty-fourth session): the code kernels convert every int8 weight to f16 in registers before an f16 wgmma,
and at T >= 65 that conversion, not the weight stream, sets their pace (ncu, eighty-third session). The int8 tensor
cores (s8 x s8 -> s32, twice the f16 rate) need no weight conversion if x is integer too: x as a 16-bit fixed-point
number per token, q = round(x / s_t) with s_t = max_k |x_tk| / 32639, split into two int8 planes q = 256 hi + lo
(hi in [-127, 127], lo in [-128, 127]), y = s_w s_t (256 W.hi + W.lo) with exact integer sums. Twice the MMAs at twice
the rate: the f16 GEMM's tensor time, no conversion, both operands from shared memory.

This script measures the price: the relative error ||y - y_exact|| / ||y_exact|| of a quantized GELU MLP (LayerNorm,
W1 int8, GELU, W2 int8, before the residual, which would dilute it; the reference of the quantized graph in float64) when x and h are (a) rounded to f16, as the
code kernels read them today, or (b) 16-bit fixed point per token. Random normal inputs, and heavy-tailed ones:
outlier channels (LLM.int8's: a few hidden dimensions 20-100x the rest, which LayerNorm keeps) and Student-t rows.

    python3 bench/proto/x16fix_error.py [--hidden 1024] [--inner 4096] [--tokens 64] [--seed 1] [--gated]
"""
import argparse

import numpy as np


def layernorm(x, g, b):
    m = x.mean(axis=1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * g + b


def rmsnorm(x, g, b):
    return x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-6) * g


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def quant_rows(w, groups):
    """Symmetric int8 per group of contiguous output rows (DeepSpeed's layout); the dequantized float64 weight."""
    n = w.shape[0]
    out = np.empty_like(w)
    for r0 in range(0, n, n // groups):
        blk = w[r0:r0 + n // groups]
        s = np.abs(blk).max() / 127.0
        out[r0:r0 + n // groups] = np.clip(np.round(blk / s), -127, 127) * s
    return out


def as_f16(x):
    return x.astype(np.float16).astype(np.float64)


def as_bf16(x):
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16   # round to nearest even
    return b.astype(np.uint32).view(np.float32).astype(np.float64)


def as_fix16(x):
    """16-bit fixed point per token (row): q = 256 hi + lo, |q| <= 32639, exactly what two int8 planes hold."""
    s = np.abs(x).max(axis=1, keepdims=True) / 32639.0
    s[s == 0] = 1.0
    q = np.clip(np.round(x / s), -32640, 32639)
    lo = ((q + 128) % 256) - 128
    hi = (q - lo) / 256
    assert np.all(np.abs(hi) <= 127) and np.all((lo >= -128) & (lo <= 127))
    return (256 * hi + lo) * s


def block(x_in, p, xform):
    """The quantized block with x and h passed through xform (the GEMMs themselves exact: integer or f32-accurate).
    Gated (SwiGLU, RMSNorm, no biases): W1 = [up | gate], h = up * silu(gate)."""
    x = p["norm"](x_in, p["g"], p["b"])
    a = xform(x) @ p["w1"].T + p["b1"]
    I = a.shape[1] // 2 if p["gated"] else a.shape[1]
    h = a[:, :I] * silu(a[:, I:]) if p["gated"] else gelu(a)
    return xform(h) @ p["w2"].T + p["b2"]   # the MLP's own output: the residual (added exactly) would dilute the error


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--inner", type=int, default=4096)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gated", action="store_true", help="a SwiGLU block (RMSNorm, W1 = [up | gate], no biases)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    H, I, T = a.hidden, a.inner, a.tokens
    W1 = 2 * I if a.gated else I
    p = {
        "gated": a.gated, "norm": rmsnorm if a.gated else layernorm,
        "g": 1.0 + 0.1 * rng.standard_normal(H), "b": 0.1 * rng.standard_normal(H),
        "w1": quant_rows(rng.standard_normal((W1, H)) / np.sqrt(H), 64),
        "b1": np.zeros(W1) if a.gated else 0.1 * rng.standard_normal(W1),
        "w2": quant_rows(rng.standard_normal((H, I)) / np.sqrt(I), 64),
        "b2": np.zeros(H) if a.gated else 0.1 * rng.standard_normal(H),
    }
    inputs = {"normal": rng.standard_normal((T, H))}
    out = rng.standard_normal((T, H))
    out[:, rng.choice(H, max(1, H // 512), replace=False)] *= 60.0   # outlier channels
    inputs["outlier channels x60"] = out
    out = rng.standard_normal((T, H))
    out[:, rng.choice(H, max(1, H // 512), replace=False)] *= 300.0
    inputs["outlier channels x300"] = out
    inputs["student-t (df 3)"] = rng.standard_t(3, (T, H))
    p_out = dict(p, g=p["g"].copy())
    p_out["g"][rng.choice(H, max(1, H // 512), replace=False)] *= 40.0   # LayerNorm weights that make outliers
    print(f"{'SwiGLU (RMSNorm)' if a.gated else 'GELU (LayerNorm)'} H = {H}, I = {I}, T = {T}; relative error of the MLP's output (before the residual) against float64 "
          "(x, h exact)")
    print("| input | x, h as f16 (today) | as bf16 (today's bf16 blocks) | 16-bit fixed point a token | fixed / f16 "
          "| max |x| / rms x |")
    print("|---|---|---|---|---|---|")
    for name, x_in in list(inputs.items()) + [("normal, norm weight x40 on 2 channels", inputs["normal"])]:
        pp = p_out if name.startswith("normal, norm") else p
        exact = block(x_in, pp, lambda v: v)
        e16 = rel(block(x_in, pp, as_f16), exact)
        eb16 = rel(block(x_in, pp, as_bf16), exact)
        efx = rel(block(x_in, pp, as_fix16), exact)
        x = pp["norm"](x_in, pp["g"], pp["b"])
        crest = np.median(np.abs(x).max(axis=1) / np.sqrt((x ** 2).mean(axis=1)))
        print(f"| {name} | {e16:.2e} | {eb16:.2e} | {efx:.2e} | {efx / e16:.2f} | {crest:.1f} |")


if __name__ == "__main__":
    main()
