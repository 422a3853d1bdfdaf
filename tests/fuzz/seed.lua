-- seed.lua — a small model whose kernels seed the entry and bundle fuzzers.
return {
  a = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "gelu", norm = "layernorm"},
}
