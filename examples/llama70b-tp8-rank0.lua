-- llama70b-tp8-rank0.lua — rank 0 of an 8-way tensor-parallel LLaMA-3-70B MLP.
--
-- hidden 8192, intermediate 28672: each rank holds 3584 columns of the up
-- and gate projections and 3584 rows of the down projection, and the block
-- ends with an all-reduce over the 8 ranks. Every rank compiles the same
-- kernels, so AOT caching needs only one of them; change `rank` to build
-- another rank's graph.
local size, rank = 8, 0

return {
  ["mlp.rank" .. rank] = dsmlp.preset("llama3-70b", {
    dtype = "bf16",
    layout = "out_in",
    tp = { size = size, rank = rank },
  }),
}
