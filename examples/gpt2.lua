-- gpt2.lua — the MLP block of GPT-2 small (124M parameters).
--
-- hidden 768, intermediate 3072, LayerNorm (eps 1e-5) before the MLP,
-- tanh-GELU, biases everywhere, weights stored [in,out] (Conv1D), fp16.
-- All 12 layers of GPT-2 share this shape, so one layer is all the kernel
-- store needs:  dsmlp-compile examples/gpt2.lua
return {
  mlp = dsmlp.preset("gpt2", { dtype = "f16" }),
}
