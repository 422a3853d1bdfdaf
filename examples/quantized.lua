-- quantized.lua — MLP blocks with quantized weights (docs/quant.md).
--
-- LLaMA-3-8B with fp8 e4m3 weights and one f32 scale per output channel (the
-- weight-streaming kernels convert e4m3 in registers on sm_89/sm_90); GPT-J-6B
-- with DeepSpeed's int8 scheme: 8 groups of contiguous output rows per weight,
-- doubled by mlp_extra_grouping, f16 scales. Checkpoints stay float: the
-- weights are quantized at load (dsmlp_mlp_quantize). Any float model script
-- compiles quantized too: dsmlp-compile examples/gpt2.lua --quantize int8
return {
  llama_fp8 = dsmlp.preset("llama3-8b", { dtype = "bf16", fp8 = true }),
  gptj_int8 = dsmlp.preset("gpt-j-6b", { int8 = { groups = 8, extra_grouping = true, scale_dtype = "f16" } }),
}
