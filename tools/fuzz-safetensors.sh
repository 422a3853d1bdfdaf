#!/usr/bin/env bash
# fuzz-safetensors.sh — fuzzes the safetensors header parser (st_parse) with
# libFuzzer under AddressSanitizer + UBSan (clang). Seeds: small valid files
# and the header of every checkpoint given. The corpus grows in build/fuzz/.
#
#   tools/fuzz-safetensors.sh [SECONDS] [SEED.safetensors...]     default 600 s
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BUILD_DIR:-$root/build}/fuzz"
secs="${1:-600}"
shift || true
mkdir -p "$out/corpus" "$out/seeds"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I "$root/include" -I "$root/src" "$root/tests/fuzz/fuzz_safetensors.c" "$root/src/model/safetensors.c" \
  "$root/src/compiler/error.c" /usr/lib/x86_64-linux-gnu/libjansson.a -o "$out/fuzz_safetensors"
python3 - "$out/seeds" "$@" <<'PY'
import json, struct, sys, os
out = sys.argv[1]
def put(name, header, data=b""):
    h = json.dumps(header).encode()
    open(os.path.join(out, name), "wb").write(struct.pack("<Q", len(h)) + h + data)
put("one", {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, bytes(16))
put("meta", {"__metadata__": {"format": "pt"}, "a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]},
             "b": {"dtype": "I8", "shape": [], "data_offsets": [6, 7]}}, bytes(7))
put("empty", {"e": {"dtype": "F16", "shape": [0, 4], "data_offsets": [0, 0]}})
for i, path in enumerate(sys.argv[2:]):   # real headers, data cut to the first tensor's bytes
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = f.read(n)
    open(os.path.join(out, "real%d" % i), "wb").write(struct.pack("<Q", n) + head)
PY
cat >"$out/dict" <<'D'
"dtype"
"shape"
"data_offsets"
"__metadata__"
"F32"
"F16"
"BF16"
"F64"
"I8"
"U8"
"BOOL"
"F8_E4M3"
"{"
"}"
"["
"]"
":"
","
"18446744073709551615"
"9223372036854775807"
"-1"
D
"$out/fuzz_safetensors" -max_total_time="$secs" -max_len=65536 -dict="$out/dict" -print_final_stats=1 \
  -artifact_prefix="$out/" \
  "$out/corpus" "$out/seeds" 2>&1 | tail -25
