-- custom.lua — a small SwiGLU MLP block written by hand with the low-level
-- graph API (no preset, no dsmlp.mlp): LLaMA's block at a toy size.
--
--   x   = residual + attention output
--   out = x + W2 · (up ⊙ silu(gate)),  [up | gate] = rmsnorm(x) · W1
--
-- The inputs and parameters use the names dsmlp_mlp_build gives them
-- (input, residual, norm_w, w1, w2, out), so a host binds it the same way.
local H, I = 512, 1408      -- hidden and intermediate size
local dt = "f32"
local eps = 1e-5

local g = dsmlp.graph("swiglu")
local attn   = g:input("input", dt, H)                    -- attention output [T,H]
local resid  = g:input("residual", dt, H)                 -- block input [T,H]
local norm_w = g:param_vector("norm_w", dt, H)            -- RMSNorm gamma
local w1     = g:param_matrix("w1", dt, H, 2 * I, "in_out")  -- [H, 2I]: up | gate
local w2     = g:param_matrix("w2", dt, I, H, "in_out")      -- [I, H]

local x = g:add(resid, attn)
local h = g:rmsnorm(x, norm_w, eps)
local a = g:gated(g:matmul(h, w1), "silu")                -- [T,I]
local y = g:add(x, g:matmul(a, w2))
g:output("out", y)

return { swiglu = g }
