#!/usr/bin/env python3
"""Drives dsmlp's shared library from Python with ctypes and PyTorch's memory.

Run on the GPU machine (PyTorch there):  python3 tests/gpu/ctypes_smoke.py build/lib/libdsmlp.so
Exit 0 ok, 1 failure, 77 no GPU. Not a CTest test (CI has no PyTorch/GPU); it
shows that an engine which owns the CUDA context, the memory and the stream
(PyTorch here) can compile, bind, run and graph-capture a dsmlp plan.
"""
import ctypes as C
import sys

import torch

F16, BF16 = 1, 2
F64 = 4
RMSNORM, GATED_SILU, OUT_IN = 3, 4, 1


class MlpConfig(C.Structure):   # include/dsmlp.h: dsmlp_mlp_config
    _fields_ = [("hidden", C.c_int64), ("intermediate", C.c_int64), ("dtype", C.c_int),
                ("int8_weights", C.c_int), ("int8_groups", C.c_int64), ("activation", C.c_int),
                ("norm", C.c_int), ("pre_layer_norm", C.c_int), ("mlp_after_attn", C.c_int),
                ("epsilon", C.c_double), ("layout", C.c_int), ("tp_size", C.c_int), ("tp_rank", C.c_int),
                ("attn_bias", C.c_int), ("norm_bias", C.c_int), ("bias1", C.c_int), ("bias2", C.c_int),
                ("quant_dtype", C.c_int), ("quant_scale_dtype", C.c_int), ("quant_per_channel", C.c_int),
                ("quant_extra_grouping", C.c_int), ("quant_gate_scales", C.c_int)]


class HostTensor(C.Structure):  # dsmlp_host_tensor
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("data", C.c_void_p)]


def main():
    lib = C.CDLL(sys.argv[1] if len(sys.argv) > 1 else "build/lib/libdsmlp.so")
    lib.dsmlp_last_error.restype = C.c_char_p
    lib.dsmlp_run.argtypes = [C.c_void_p, C.c_int64, C.c_void_p]
    lib.dsmlp_bind.argtypes = [C.c_void_p, C.c_char_p, C.c_void_p]
    lib.dsmlp_reference_run_f64.argtypes = [C.c_void_p, C.c_int64, C.POINTER(HostTensor), C.c_int]
    ctx = C.c_void_p()
    assert lib.dsmlp_ctx_create(C.byref(ctx)) == 0

    def ok(status, what):
        if status != 0:
            raise SystemExit(f"{what}: status {status}: {lib.dsmlp_last_error(ctx).decode()}")

    if not torch.cuda.is_available():
        print("no GPU"); return 77
    torch.cuda.init()
    torch.zeros(1, device="cuda")             # PyTorch's primary context is current now
    if not lib.dsmlp_device_available(ctx):
        print("dsmlp sees no GPU:", lib.dsmlp_last_error(ctx).decode()); return 1

    H, I, T = 1024, 2816, 48
    cfg = MlpConfig()
    lib.dsmlp_mlp_config_default(C.byref(cfg))
    cfg.hidden, cfg.intermediate, cfg.dtype = H, I, F16
    cfg.norm, cfg.activation, cfg.layout, cfg.epsilon = RMSNORM, GATED_SILU, OUT_IN, 1e-5
    cfg.attn_bias = cfg.norm_bias = cfg.bias1 = cfg.bias2 = 0
    g, plan = C.c_void_p(), C.c_void_p()
    ok(lib.dsmlp_graph_create(ctx, b"llama_ctypes", C.byref(g)), "graph_create")
    ok(lib.dsmlp_mlp_build(g, C.byref(cfg)), "mlp_build")
    ok(lib.dsmlp_compile(ctx, g, None, C.byref(plan)), "compile")

    dev = torch.device("cuda")
    t = {   # PyTorch owns every buffer; dsmlp only gets pointers
        "norm_w": 1 + 0.2 * torch.randn(H, device=dev, dtype=torch.float16),
        "w1": torch.randn(2 * I, H, device=dev, dtype=torch.float16) / H ** 0.5,
        "w2": torch.randn(H, I, device=dev, dtype=torch.float16) / I ** 0.5,
        "input": torch.randn(T, H, device=dev, dtype=torch.float16),
        "residual": torch.randn(T, H, device=dev, dtype=torch.float16),
        "out": torch.full((T, H), float("nan"), device=dev, dtype=torch.float16),
    }
    for name, x in t.items():
        ok(lib.dsmlp_bind(plan, name.encode(), C.c_void_p(x.data_ptr())), f"bind {name}")
    stream = torch.cuda.current_stream()
    ok(lib.dsmlp_run(plan, T, C.c_void_p(stream.cuda_stream)), "run")
    torch.cuda.synchronize()
    direct = t["out"].clone()

    host = {k: v.cpu().numpy() for k, v in t.items() if k != "out"}
    import numpy as np
    ref = np.zeros((T, H), dtype=np.float64)
    binds = (HostTensor * (len(host) + 1))()
    for i, (k, v) in enumerate(host.items()):
        binds[i] = HostTensor(k.encode(), F16, v.ctypes.data)
    binds[len(host)] = HostTensor(b"out", F64, ref.ctypes.data)
    lib.dsmlp_reference_set_threads(ctx, 16)
    ok(lib.dsmlp_reference_run_f64(g, T, binds, len(host) + 1), "reference")
    got = direct.double().cpu().numpy()
    err = float(np.linalg.norm(got - ref) / np.linalg.norm(ref)) if np.isfinite(got).all() else float("inf")

    # The same call captured into a PyTorch CUDA graph and replayed.
    t["out"].fill_(float("nan"))
    graph = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        with torch.cuda.graph(graph):
            ok(lib.dsmlp_run(plan, T, C.c_void_p(torch.cuda.current_stream().cuda_stream)), "captured run")
    graph.replay()
    torch.cuda.synchronize()
    same = torch.equal(t["out"], direct)
    print(f"ctypes + PyTorch: {torch.cuda.get_device_name()} H={H} I={I} T={T} f16 LLaMA block: "
          f"rel. error {err:.3e} (tolerance 2e-3); torch.cuda.graph replay "
          f"{'bit-identical' if same else 'DIFFERS'}")
    lib.dsmlp_plan_free(plan)
    lib.dsmlp_graph_free(g)
    lib.dsmlp_ctx_free(ctx)
    return 0 if err <= 2e-3 and same else 1


if __name__ == "__main__":
    sys.exit(main())
