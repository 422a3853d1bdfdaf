#!/usr/bin/env bash
# tp-run.sh — the tensor-parallel benchmark and its PyTorch + NCCL peer in one
# run, on P GPUs of this host (one process per GPU):
#
#   bench/tp-run.sh P [OUTDIR]          e.g. bench/tp-run.sh 2 "$OUT"
#
# 1. dsmlp-bench --tp: the all-reduce sweep (peer memory vs NCCL, the measured
#    switch point) and the blocks at T in {1, 16, 128, 1024, 8192};
# 2. the same blocks with the overlap of GEMM2 and the all-reduce
#    (DSMLP_TP_OVERLAP_CHUNKS=4) at T in {1024, 8192};
# 3. bench/tp_peers.py (PyTorch + NCCL) through torchrun.
# Markdown tables land in OUTDIR (default .). NVLink multicast stays off.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
P="${1:?usage: bench/tp-run.sh P [OUTDIR]}"
out="${2:-.}"
bin="${BUILD_DIR:-$root/build}/bin/dsmlp-bench"
export NCCL_NVLS_ENABLE=0
mkdir -p "$out"
echo "== dsmlp-bench --tp, P=$P"
"$root/tools/tp-launch.sh" -n "$P" "$bin" --tp --md "$out/tp_dsmlp_p$P.md"
echo "== dsmlp-bench --tp, P=$P, overlap_chunks=4"
DSMLP_TP_OVERLAP_CHUNKS=4 "$root/tools/tp-launch.sh" -n "$P" "$bin" --tp --no-sweep --tokens 1024,8192 \
  --md "$out/tp_dsmlp_overlap_p$P.md"
echo "== PyTorch + NCCL, P=$P"
PYTHONUNBUFFERED=1 torchrun --standalone --nproc-per-node "$P" "$root/bench/tp_peers.py" --md "$out/tp_torch_p$P.md"
