-- qwen2-hf.lua — the MLP block of Qwen2-1.5B straight from its Hugging Face
-- config.json (a copy of the public one sits in qwen2-1.5b/, relative to this
-- script). dsmlp.hf reads hidden/intermediate sizes, the activation (silu,
-- gated), RMSNorm eps, biases and torch_dtype, and records the checkpoint
-- name of every parameter (model.layers.{i}.mlp.up_proj.weight, ...), so
--   dsmlp-compile examples/qwen2-hf.lua --weights /path/to/Qwen2-1.5B
-- checks a downloaded checkpoint against all 28 layers, and --verify runs
-- with its weights. One plan serves every layer (docs/models.md).
return {
  mlp = dsmlp.hf("qwen2-1.5b/config.json"),
}
