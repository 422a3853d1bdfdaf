-- llama3-8b.lua — the MLP block of Meta LLaMA-3-8B.
--
-- hidden 4096, intermediate 14336, RMSNorm (eps 1e-5), SwiGLU (gated SiLU,
-- up half first), no biases; bf16 like the released checkpoint, and the
-- weights in nn.Linear's [out,in] layout so they load without a transpose.
return {
  mlp = dsmlp.preset("llama3-8b", { dtype = "bf16", layout = "out_in" }),
}
