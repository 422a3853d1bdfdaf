#!/usr/bin/env python3
"""tp_peers.py — the PyTorch + NCCL peer of `dsmlp-bench --tp`, one process per GPU.

    torchrun --standalone --nproc-per-node 2 bench/tp_peers.py [--tokens 1,16,128,1024,8192]

The same blocks (bench/peers.py's BLOCKS: GELU f16 and SwiGLU bf16, H = 4096) as
tensor-parallel PyTorch code the way Megatron-style inference writes it: W1 split by
output columns (both halves of a gated W1), W2 by input rows, the replicated terms
(b2, the residual) added on rank 0, then torch.distributed.all_reduce (NCCL). For each
T it reports, as CUDA-graph replays (median, the slowest rank's): the all-reduce alone
(16 in one graph, per op), the TP block and the one-GPU block (rank 0 alone), and
TP / one GPU. Keep NCCL_NVLS_ENABLE=0 where NVLink multicast must stay off.
"""
import argparse
import math
import os
import statistics
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import BLOCKS, MLP_GATED_GELU, MLP_GATED_SILU, TORCH_DT, graph_time_us, make_params, torch_block  # noqa: E402

OPS = 16


def shard(p, cfg, P, r):
    """Rank r's shard of the full parameters (dsmlp_mlp_shard's mapping)."""
    inter = cfg["intermediate"]
    ip = inter // P
    gated = cfg["activation"] in (MLP_GATED_GELU, MLP_GATED_SILU)
    cols = slice(r * ip, (r + 1) * ip)
    out = {}
    for k, v in p.items():
        if k in ("w1", "b1"):
            if gated:
                up, gate = v[..., :inter], v[..., inter:]
                out[k] = torch.cat([up[..., cols], gate[..., cols]], dim=-1).contiguous()
            else:
                out[k] = v[..., cols].contiguous()
        elif k == "w2":
            out[k] = v[cols, :].contiguous()
        else:
            out[k] = v
    return out


def tp_block(block, rank):
    """The block's rank-r part ending in the all-reduce (pre-LN blocks only)."""
    c = block["cfg"]
    eps, norm, act = c["epsilon"], c["norm"], c["activation"]

    def fn(A, X, p):
        s = X + A
        if "attn_bias" in p:
            s = s + p["attn_bias"]
        if norm == 1:
            h = F.layer_norm(s, (s.shape[-1],), p["norm_w"], p.get("norm_b"), eps)
        else:
            h = F.rms_norm(s, (s.shape[-1],), p["norm_w"], eps)
        u = h @ p["w1"]
        if "b1" in p:
            u = u + p["b1"]
        if act == 1:
            u = F.gelu(u, approximate="tanh")
        else:
            up, gate = u.chunk(2, dim=-1)
            u = up * (F.silu(gate) if act == MLP_GATED_SILU else F.gelu(gate))
        y = u @ p["w2"]
        if rank == 0:                      # replicated terms once
            if "b2" in p:
                y = y + p["b2"]
            y = y + s
        dist.all_reduce(y)
        return y
    return fn


def slowest(x, dev):
    t = torch.tensor([x], dtype=torch.float64, device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", default="1,16,128,1024,8192")
    ap.add_argument("--blocks", default="gelu_f16_h4096,swiglu_bf16_h4096")
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--md", default="")
    a = ap.parse_args()
    dist.init_process_group("nccl")
    rank, P = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    torch.cuda.set_device(local)
    dev = torch.device("cuda", local)
    torch.manual_seed(1234)                # the same full weights on every rank
    warm = torch.ones(1, device=dev)
    dist.all_reduce(warm)                  # NCCL communicator made before any capture
    torch.cuda.synchronize()
    tokens = [int(t) for t in a.tokens.split(",")]
    card = torch.cuda.get_device_name(dev)
    md = open(a.md, "w") if a.md and rank == 0 else None
    if rank == 0:
        print(f"card: {card}\ntorch {torch.__version__}, NCCL {'.'.join(map(str, torch.cuda.nccl.version()))}, P={P}")
        print(f"{'block':<18} {'T':>5} {'AR bytes':>10} {'AR NCCL':>9} {'TP block':>10} {'one GPU':>10} {'TP/1GPU':>9}")
    if md:
        md.write("| card | P | block | T | all-reduce (torch+NCCL) µs | TP block µs | one-GPU µs | TP ÷ one GPU |\n"
                 "|---|---|---|---|---|---|---|---|\n")
    for block in BLOCKS:
        if block["name"] not in a.blocks.split(","):
            continue
        c = block["cfg"]
        dt = TORCH_DT[c["dtype"]]
        H = c["hidden"]
        full = make_params(block, dev)
        mine = shard(full, c, P, rank)
        if rank != 0:
            del full
            full = None
        for T in tokens:
            A = torch.randn(T, H, device=dev, dtype=dt)
            X = torch.randn(T, H, device=dev, dtype=dt)
            buf = 1e-3 * torch.randn(T, H, device=dev, dtype=dt)

            def ar_only(x):
                for _ in range(OPS):
                    dist.all_reduce(x)
            dist.barrier()
            ar = slowest(graph_time_us(ar_only, [(buf,)], a.reps) / OPS, dev)
            fn = tp_block(block, rank)
            dist.barrier()
            tp = slowest(graph_time_us(lambda A_, X_: fn(A_, X_, mine), [(A, X)], a.reps), dev)
            one = 0.0
            if rank == 0:
                ref = torch_block(block)
                one = graph_time_us(lambda A_, X_: ref(A_, X_, full), [(A, X)], a.reps)
            one = slowest(one, dev)          # the other ranks wait here
            if rank == 0:
                nbytes = T * H * (2 if dt != torch.float32 else 4)
                print(f"{block['name']:<18} {T:>5} {nbytes:>10} {ar:>9.2f} {tp:>10.1f} {one:>10.1f} {tp / one:>9.3f}",
                      flush=True)
                if md:
                    md.write(f"| {card} | {P} | {block['name']} | {T} | {ar:.2f} | {tp:.1f} | {one:.1f} | "
                             f"{tp / one:.3f} |\n")
    if md:
        md.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
