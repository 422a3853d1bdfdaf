-- tp2.lua — two tensor-parallel layers for 2 GPUs (rank 0 written here; the
-- ranks differ only in `rank`). `dsmlp-compile examples/tp2.lua --verify`
-- runs both ranks as two processes, one per GPU, and compares them with the
-- unsharded block; with one GPU add --tp-oversubscribe.
local tp = { size = 2, rank = 0 }

return {
  gpt2 = dsmlp.preset("gpt2", { dtype = "f16", tp = tp }),
  llama = dsmlp.mlp{
    hidden = 1024, intermediate = 2816, dtype = "bf16",
    norm = "rmsnorm", activation = "gated_silu", epsilon = 1e-5,
    layout = "out_in", bias = false, tp = tp,
  },
  neox = dsmlp.preset("gpt-neox-20b", { dtype = "f16", hidden = 1024, intermediate = 4096, tp = tp }),
}
