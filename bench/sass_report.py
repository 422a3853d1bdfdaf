#!/usr/bin/env python3
"""sass_report.py — what the generated kernels compile to, read on a machine without a GPU.

Builds a benchmark block's plans with `dsmlp-bench --compile-only` into a fresh kernel store (or reads an existing
store directory), takes each entry's cubin and reports per kernel: registers, stack frame (spills, local arrays),
static shared memory, instructions, and the opcode mix of its steady state's loop (a GEMM's k loop: the longest loop
with an MMA in it; else the longest, a GEMV's row loop) with the instructions per global load, per wgmma and per
shared load there. That is what a template change does to the issue rate before any device time is spent on it.

    python3 bench/sass_report.py --block gelu_i8_h4096 --tokens 128 [--match mixed128] [--arch sm_90a]
                                 [--layout out_in] [--bench build-gpu/bin/dsmlp-bench] [--store DIR]
                                 [--sass-dir DIR] [--tools DIR]

--store DIR reads that store (e.g. one unpacked from bench/store_prefill.sh's tar) instead of compiling.
--sass-dir DIR also writes each kernel's disassembly there (KERNEL.sass).
--tools DIR is where cuobjdump lives (default: $CUDA_BIN, then PATH, then /usr/local/cuda/bin). The CUDA toolkit
here has ptxas but no cuobjdump; NVIDIA publishes it on PyPI:
    pip download --no-deps nvidia-cuda-cuobjdump && python3 -m zipfile -e nvidia_cuda_cuobjdump-*.whl /tmp/nvtools
    chmod +x /tmp/nvtools/nvidia/cu13/bin/cuobjdump     # then --tools /tmp/nvtools/nvidia/cu13/bin
"""
import argparse
import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ENTRY_MAGIC = b"DSMLPKS\x01"   # src/runtime/store_disk.c: the 256-byte entry header, then the payload (a cubin)
HDR_SIZE = 256
# The opcodes counted in the loop: spills, loads and stores by space, the tensor-core and conversion work, barriers.
COLUMNS = ["LDL", "STL", "LDG", "LDS", "STS", "HGMMA", "PRMT", "LOP3", "HADD2", "HFMA2", "FFMA", "SYNCS"]


def die(msg):
    print("sass_report.py: " + msg, file=sys.stderr)
    sys.exit(1)


def find_cuobjdump(tools):
    dirs = [tools] if tools else [os.environ.get("CUDA_BIN", "")] + os.environ.get("PATH", "").split(":") + \
        ["/usr/local/cuda/bin"]
    for d in dirs:
        p = os.path.join(d, "cuobjdump") if d else ""
        if p and os.access(p, os.X_OK):
            return p
    die("no cuobjdump (" + ("not in " + tools if tools else "not on CUDA_BIN, PATH or /usr/local/cuda/bin") +
        "); see this script's help for the PyPI wheel that has it")


def read_entries(store):
    """(kernel, arch, cubin bytes) of every kernel entry of a store directory."""
    out = []
    for name in sorted(os.listdir(store)):
        if not name.endswith(".dsk"):
            continue
        b = open(os.path.join(store, name), "rb").read()
        if len(b) < HDR_SIZE or b[:8] != ENTRY_MAGIC:
            die(f"{name}: not a dsmlp kernel store entry")
        arch = b[64:80].split(b"\0")[0].decode()
        kernel = b[80:208].split(b"\0")[0].decode()
        (length,) = struct.unpack("<Q", b[208:216])
        if HDR_SIZE + length != len(b):
            die(f"{name}: payload length {length} does not match the file ({len(b)} bytes)")
        if kernel.startswith("tune:"):
            continue   # a tuning record, not code
        out.append((kernel, arch, b[HDR_SIZE:]))
    return out


INSN = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)[.\w]*\s*(.*?);")


def parse_sass(text):
    """[(address, opcode, operands, predicated)] in program order."""
    insns = []
    for line in text.splitlines():
        m = INSN.match(line)
        if m:
            insns.append((int(m.group(1), 16), m.group(3), m.group(4), bool(m.group(2))))
    return insns


MMA_OPS = ("HGMMA", "QGMMA", "IGMMA", "HMMA", "IMMA")


def longest_loop(insns):
    """The instructions of the steady state's loop body; [] if there is no loop. A loop's back edge is a predicated
    backward branch: an unpredicated one is the jump back from an out-of-line slow path (a barrier's retry at the
    function's end), whose span is no loop. Spin waits are loops too. The longest loop that multiplies (an MMA in its
    body: a GEMM's k loop, not an unrolled epilogue that may be longer) is taken, else the longest."""
    loops = []
    for i, (addr, op, ops, pred) in enumerate(insns):
        if op != "BRA" or not pred:
            continue
        m = re.search(r"0x([0-9a-f]+)", ops)
        if not m:
            continue
        target = int(m.group(1), 16)
        if target < addr:
            start = next((j for j, ins in enumerate(insns) if ins[0] >= target), i)
            if i > start:
                loops.append((start, i))
    mma = [lp for lp in loops if any(ins[1].startswith(MMA_OPS) for ins in insns[lp[0]:lp[1] + 1])]
    best = max(mma or loops, key=lambda lp: lp[1] - lp[0], default=None)
    return insns[best[0]:best[1] + 1] if best else []


def resources(cuobjdump, cubin):
    out = subprocess.run([cuobjdump, "-res-usage", cubin], capture_output=True, text=True, check=True).stdout
    res = dict(re.findall(r"\b(REG|STACK|SHARED|LOCAL):(\d+)", out))
    return {k: int(v) for k, v in res.items()}


def mix(insns):
    return collections.Counter(ins[1] for ins in insns)


def per(n, d):
    return f"{n / d:.1f}" if d else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--block", help="a dsmlp-bench block (dsmlp-bench --help lists them)")
    ap.add_argument("--tokens", default="1,16,128", help="dsmlp-bench --tokens (the plans' largest T sets the kernels)")
    ap.add_argument("--layout", default="out_in")
    ap.add_argument("--arch", default="sm_90a")
    ap.add_argument("--bench", default="build-gpu/bin/dsmlp-bench")
    ap.add_argument("--store", help="read this kernel store directory instead of compiling")
    ap.add_argument("--match", default="", help="only kernels whose name matches this regular expression")
    ap.add_argument("--sass-dir", help="write each kernel's disassembly here")
    ap.add_argument("--tools", help="the directory holding cuobjdump")
    a = ap.parse_args()
    cuobjdump = find_cuobjdump(a.tools)
    tmp = tempfile.mkdtemp(prefix="sass-report-")
    try:
        store = a.store
        if not store:
            if not a.block:
                die("give --block (to compile) or --store (to read a store)")
            if not os.access(a.bench, os.X_OK):
                die(f"no dsmlp-bench at {a.bench} (build it, or pass --bench)")
            store = os.path.join(tmp, "store")
            os.mkdir(store)
            env = dict(os.environ, DSMLP_CACHE_DIR=store)
            r = subprocess.run([a.bench, "--compile-only", "--arch", a.arch, "--block", a.block, "--tokens", a.tokens,
                                "--layout", a.layout], env=env, capture_output=True, text=True)
            if r.returncode:
                die(f"{a.bench} --compile-only failed ({r.returncode}):\n{r.stdout}{r.stderr}")
        if not os.path.isdir(store):
            die(f"{store}: not a directory")
        entries = [e for e in read_entries(store) if re.search(a.match, e[0])]
        if not entries:
            die(f"no kernel in {store} matches '{a.match}'")
        if a.sass_dir:
            os.makedirs(a.sass_dir, exist_ok=True)
        print(f"# {len(entries)} kernels ({a.arch if not a.store else 'as stored'}); loop = the longest backward "
              "branch's body that multiplies (else the longest); LDL / STL there = spills read / written in the steady "
              "state; /LDG, /HGMMA, /LDS = its instructions per such instruction")
        print("| kernel | arch | regs | stack | smem | insns | loop | " + " | ".join(COLUMNS) +
              " | /LDG | /HGMMA | /LDS |")
        print("|---" * (10 + len(COLUMNS)) + "|")
        for kernel, arch, payload in sorted(entries):
            path = os.path.join(tmp, "k.cubin")
            with open(path, "wb") as f:
                f.write(payload)
            res = resources(cuobjdump, path)
            text = subprocess.run([cuobjdump, "-sass", path], capture_output=True, text=True, check=True).stdout
            if a.sass_dir:
                with open(os.path.join(a.sass_dir, kernel + ".sass"), "w") as f:
                    f.write(text)
            insns = parse_sass(text)
            loop = longest_loop(insns)
            lm, ln = mix(loop), len(loop)
            print(f"| {kernel} | {arch} | {res.get('REG', '?')} | {res.get('STACK', '?')} | {res.get('SHARED', '?')} "
                  f"| {len(insns)} | {ln} | " + " | ".join(str(lm[c]) for c in COLUMNS) +
                  f" | {per(ln, lm['LDG'])} | {per(ln, lm['HGMMA'])} | {per(ln, lm['LDS'])} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
