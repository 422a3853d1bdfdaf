#!/usr/bin/env bash
# test_cli_weights.sh — dsmlp-compile --weights: a checkpoint that holds the
# model's parameters passes (every model layer checked, no data read); a
# checkpoint of another model, a truncated one, or a script without tensor
# maps exits 9 naming the file and tensor; with --quantize the float
# checkpoint is checked against the quantized block (quantize at load). Uses all-MiniLM-L6-v2
# (tools/fetch-minilm.sh); skips without it unless DSMLP_REQUIRE_MINILM=1.
. "$(dirname "$0")/lib/cli_common.sh"
minilm="${DSMLP_MINILM_DIR:-${DSMLP_BINARY_DIR:-$src/build}/data/all-MiniLM-L6-v2}"
if [ ! -f "$minilm/model.safetensors" ]; then
  [ "${DSMLP_REQUIRE_MINILM:-0}" = 1 ] && { echo "FAIL: $minilm/model.safetensors missing"; exit 1; }
  echo "skipped: $minilm/model.safetensors is missing (tools/fetch-minilm.sh)"
  exit 77
fi
expect() {
  local code=$1 re=$2
  shift 2
  run "$@"
  if [ $rc -ne "$code" ]; then fail "$*: want exit $code, got $rc: $err"
  elif ! tr '\n' ' ' <<<"$err$out" | grep -qE -- "$re"; then fail "$*: output lacks /$re/: $out $err"
  else ok "$* -> $code: $(tail -1 <<<"$err$out" | head -c 200)"; fi
}
cat >"$tmp/minilm.lua" <<EOF2
return { mlp = dsmlp.hf("$minilm", {dtype = "f16"}) }
EOF2
cat >"$tmp/plain.lua" <<'EOF2'
return { mlp = dsmlp.mlp{hidden = 384, intermediate = 1536} }
EOF2

expect 0 "weights: layer mlp: 6 model layers match" "$tmp/minilm.lua" --weights "$minilm" --arch sm_90
expect 0 "weights: layer mlp: 6 model layers match" "$tmp/minilm.lua" --weights "$minilm/model.safetensors" --arch sm_90
# quantized at load: the float checkpoint against an int8 block (its scales are made, not mapped); without the
# small-T route, whose 23 kernels (22 s of NVRTC here) say nothing about the weights check
expect 0 "weights: layer mlp: 6 model layers match" "$tmp/minilm.lua" --quantize int8:groups=4,scale_dtype=f16 \
  --weights "$minilm" --arch sm_90 --stream-max-tokens 0
# the Qwen2 example against MiniLM's checkpoint: the first missing tensor is named
expect 9 "layer mlp, model layer 0: layer 0, parameter 'norm_w': no tensor 'model.layers.0.post_attention_layernorm.weight'" \
  "$src/examples/qwen2-hf.lua" --weights "$minilm" --arch sm_90
# a truncated copy
head -c 100000 "$minilm/model.safetensors" >"$tmp/cut.safetensors"
expect 9 "cut.safetensors: tensor '.*': data_offsets .* reach past the end of the data .* truncated" \
  "$tmp/minilm.lua" --weights "$tmp/cut.safetensors" --arch sm_90
expect 9 "no layer of the script has a tensor map" "$tmp/plain.lua" --weights "$minilm" --arch sm_90
expect 9 "cannot open $tmp/none.safetensors" "$tmp/minilm.lua" --weights "$tmp/none.safetensors" --arch sm_90
expect 2 "--weights needs a model script" --weights "$minilm"
if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all ok"
