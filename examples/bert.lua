-- bert.lua — the feed-forward block of BERT-base, which is post-LN.
--
-- hidden 768, intermediate 3072, exact (erf) GELU, biases everywhere. BERT normalises
-- after the residual add (pre_layer_norm = false, eps 1e-12): dsmlp adds
-- attention output, its bias and the residual, applies the LayerNorm, runs
-- the MLP on that, and adds the normalised value back (spec residual case R2).
return {
  ffn = dsmlp.preset("bert-base", { dtype = "f16" }),
}
