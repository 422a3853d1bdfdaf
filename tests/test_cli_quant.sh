#!/usr/bin/env bash
# test_cli_quant.sh — dsmlp-compile --quantize: a model script's dsmlp.mlp /
# dsmlp.preset layers get quantized weights (int8, fp8, scale layouts), which
# --explain shows; a bad spec exits 2, a spec a layer cannot take exits 3,
# layers built op by op keep theirs with a warning.
. "$(dirname "$0")/lib/cli_common.sh"
expect() {
  local code=$1 re=$2
  shift 2
  run "$@"
  if [ $rc -ne "$code" ]; then fail "$*: want exit $code, got $rc: $err"
  elif ! tr '\n' ' ' <<<"$err$out" | grep -qE -- "$re"; then fail "$*: output lacks /$re/: $err $out"
  else ok "$* -> $code"; fi
}

cat >"$tmp/model.lua" <<'EOF'
return {
  mlp = dsmlp.mlp{hidden = 256, intermediate = 512, activation = "gated_silu", norm = "rmsnorm", bias = false},
  float = dsmlp.mlp{hidden = 256, intermediate = 512, int8 = false},
}
EOF
cat >"$tmp/custom.lua" <<'EOF'
local g = dsmlp.graph("hand")
local x = g:input("x", "f16", 64)
local w = g:param_matrix("w", "f16", 64, 64, "in_out")
return { hand = g:output("y", g:matmul(x, w)) }
EOF

# What is checked here is the quantization the CLI applies (the main steps' dequant kernels); the small-T route's
# kernels for quantized weights are the stream suites' (test_plan_sim, test_quant_config): not built here.
nostream="--stream-max-tokens 0"
# fp8: every dsmlp.mlp layer without a choice of its own; the explain shows fp8 dequant steps
expect 0 "dsmlp_dequant_fp8_f16_r1024_c256_g1024" "$tmp/model.lua" --arch sm_90 --quantize fp8 --explain -j 2 $nostream
grep -q "== layer float" <<<"$out" || fail "no float layer in the explain"
awk '/^== layer/ {on = /== layer float/} on' <<<"$out" | grep -q "dequant" && fail "the int8 = false layer was quantized"
# int8 with DeepSpeed groups doubled, f16 scales, separate up/gate scales
expect 0 "dsmlp_dequant_f16_r1024_c256_g16" "$tmp/model.lua" --arch sm_80 \
  --quantize int8:groups=4,extra_grouping,gate_scales,scale_dtype=f16 --explain -j 2
grep -q "w1_scales f16\[16\]" <<<"$out" || fail "w1_scales is not f16[16]: $(grep -m1 w1_scales <<<"$out")"
# per channel int8; --quantize=SPEC form
expect 0 "dsmlp_dequant_f16_r256_c512_g256" "$tmp/model.lua" --arch sm_90 --quantize=int8:per_channel --explain -j 2 $nostream

# errors
expect 2 "bad --quantize 'int4'.*does not start with int8 or fp8" "$tmp/model.lua" --quantize int4
expect 2 "bad --quantize 'fp8:grops=2'.*unknown field 'grops'.*did you mean 'groups'" "$tmp/model.lua" --quantize fp8:grops=2
expect 2 "option '--quantize' needs a value" "$tmp/model.lua" --quantize
expect 2 "--quantize needs a model script" --quantize int8
expect 3 "model.lua:2: dsmlp.mlp \(default quantization 'int8:groups=3'\): int8.groups 3 does not divide the 1024 rows of w1" \
  "$tmp/model.lua" --quantize int8:groups=3
expect 0 "warning: layer hand was built op by op: --quantize applies to dsmlp.mlp / dsmlp.preset layers only" \
  "$tmp/custom.lua" --arch sm_90 --quantize int8 -j 2

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
