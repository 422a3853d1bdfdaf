-- dsmlp.lua — the high-level builder of the `dsmlp` module.
--
-- dsmlp.mlp{...} builds the DeepSpeed-equivalent MLP block (the same graph as
-- dsmlp_mlp_build in C, which it calls underneath) after checking the config
-- here, so a mistake is reported with the field's name at the script's line.
-- dsmlp.preset(name, overrides) fills the config from a model's public
-- configuration. The low-level graph API (dsmlp.graph) comes from C.

local C = ...

local M = {
  graph = C.graph,         -- dsmlp.graph(name) -> graph with methods g:input, g:matmul, ...
  layer = C.layer,         -- dsmlp.layer(name, graph): adds a layer to the model
  mlp_raw = C.mlp_raw,     -- dsmlp_mlp_build with the C config's fields, unchecked
  is_graph = C.is_graph,
  version = C.version,
}

-- Usage errors are tables with this metatable; C.public turns them into
-- "script.lua:LINE: message" at the line that called the public function.
local UsageError = {}

local function fail(fmt, ...)
  error(setmetatable({ msg = string.format(fmt, ...) }, UsageError), 0)
end

local function public(f)
  return C.public(f, UsageError)
end

-- ------------------------------------------------------------ suggestions

-- Optimal string alignment distance (Levenshtein + adjacent transpositions).
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  local d = {}
  for i = 0, la do d[i] = { [0] = i } end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

local function common_prefix(a, b)
  local n = 0
  while n < #a and n < #b and a:byte(n + 1) == b:byte(n + 1) do n = n + 1 end
  return n
end

-- Candidates sorted by distance to `name`, closest first; ties go to the
-- longer common prefix ("llama3-7b" is nearer "llama3-8b" than "llama2-7b").
local function by_distance(name, candidates)
  local scored = {}
  for i, c in ipairs(candidates) do
    scored[i] = { c = c, d = distance(name, c), p = common_prefix(name:lower(), c:lower()), i = i }
  end
  table.sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    if x.p ~= y.p then return x.p > y.p end
    return x.i < y.i
  end)
  return scored
end

local function close_enough(name, d)
  return d <= math.max(2, (#name + 1) // 2)
end

-- " (did you mean 'x'?)" or " (valid: a, b, c)".
local function suggest(name, candidates)
  local best = by_distance(name, candidates)[1]
  if best and close_enough(name, best.d) then
    return string.format(" (did you mean '%s'?)", best.c)
  end
  return " (valid: " .. table.concat(candidates, ", ") .. ")"
end

-- ------------------------------------------------------------ field checks

local function describe(v)
  if type(v) == "string" then return string.format("string %q", v) end
  if math.type(v) == "float" then return "number " .. tostring(v) end
  return type(v)
end

local function check_keys(where, t, fields, prefix)
  local names = {}
  for i, f in ipairs(fields) do names[i] = f end
  for k in pairs(t) do
    if type(k) ~= "string" then
      fail("%s: config keys must be field names, got a %s key", where, type(k))
    end
    local known = false
    for _, f in ipairs(fields) do if f == k then known = true break end end
    if not known then
      fail("%s: unknown field '%s%s'%s", where, prefix, k, suggest(k, names))
    end
  end
end

local function want_integer(where, field, v)
  local i = math.tointeger(v)
  if type(v) ~= "number" or not i then
    fail("%s: field '%s' must be an integer, got %s", where, field, describe(v))
  end
  return i
end

local function want_positive(where, field, v)
  local i = want_integer(where, field, v)
  if i <= 0 then fail("%s: field '%s' must be positive, got %d", where, field, i) end
  return i
end

local function want_boolean(where, field, v)
  if type(v) ~= "boolean" then
    fail("%s: field '%s' must be a boolean (true or false), got %s", where, field, describe(v))
  end
  return v
end

local function want_option(where, field, v, options)
  if type(v) ~= "string" then
    fail("%s: field '%s' must be a string (one of %s), got %s", where, field, table.concat(options, ", "),
         describe(v))
  end
  for _, o in ipairs(options) do if o == v then return v end end
  fail("%s: field '%s' is '%s'%s", where, field, v, suggest(v, options))
end

local function want_table(where, field, v, extra)
  if type(v) ~= "table" then
    fail("%s: field '%s' must be a table%s, got %s", where, field, extra or "", describe(v))
  end
  return v
end

-- ------------------------------------------------------------ the MLP config

local FIELDS = { "hidden", "intermediate", "dtype", "activation", "norm", "pre_layer_norm", "mlp_after_attn",
                 "epsilon", "layout", "tp", "int8", "bias", "name", "gamma_offset", "split_w1" }
local TP_FIELDS = { "size", "rank" }
local INT8_FIELDS = { "groups" }
local BIAS_FIELDS = { "attn", "norm", "b1", "b2" }

local DTYPES = { "f32", "f16", "bf16" }
-- Names frameworks use for the same dtypes (torch_dtype in config.json, ...).
local DTYPE_ALIASES = { fp32 = "f32", float32 = "f32", float = "f32", fp16 = "f16", float16 = "f16", half = "f16",
                        bfloat16 = "bf16" }
-- Every function, plain or gated. "gelu" and "gated_gelu" keep DeepSpeed's
-- meaning (tanh and erf respectively); the _tanh/_erf names say which.
local ACTIVATIONS = { "gelu_tanh", "gelu_erf", "relu", "silu", "gated_gelu_tanh", "gated_gelu_erf", "gated_relu",
                      "gated_silu", "gelu", "gated_gelu" }
local GATED = { gated_gelu_tanh = true, gated_gelu_erf = true, gated_relu = true, gated_silu = true,
                gated_gelu = true }
local NORMS = { "layernorm", "rmsnorm", "none" }
local LAYOUTS = { "in_out", "out_in" }

-- Checks a user config and turns it into mlp_raw's fields. Defaults are the
-- C builder's (dsmlp_mlp_config_default), except that the norm bias defaults
-- to present only for LayerNorm, the one norm that has a β.
local function to_raw(where, cfg, default_name)
  if type(cfg) ~= "table" then fail("%s: expects a config table, got %s", where, describe(cfg)) end
  check_keys(where, cfg, FIELDS, "")
  local raw = {}

  if cfg.hidden == nil then fail("%s: field 'hidden' is required", where) end
  raw.hidden = want_positive(where, "hidden", cfg.hidden)
  local inter = raw.hidden * 4
  if cfg.intermediate ~= nil then
    inter = want_positive(where, "intermediate", cfg.intermediate)
    raw.intermediate = inter
  end
  if cfg.dtype ~= nil then
    if cfg.dtype == "i8" then
      fail("%s: field 'dtype' is the activation dtype (f32, f16 or bf16); for int8 weights add int8 = {groups = G}",
           where)
    end
    local dt = cfg.dtype
    if type(dt) == "string" and DTYPE_ALIASES[dt:lower()] then dt = DTYPE_ALIASES[dt:lower()] end
    raw.dtype = want_option(where, "dtype", dt, DTYPES)
  end
  local act = cfg.activation == nil and "gelu" or want_option(where, "activation", cfg.activation, ACTIVATIONS)
  raw.activation = act
  local gated = GATED[act] == true
  local norm = cfg.norm == nil and "layernorm" or want_option(where, "norm", cfg.norm, NORMS)
  raw.norm = norm
  if cfg.pre_layer_norm ~= nil then raw.pre_layer_norm = want_boolean(where, "pre_layer_norm", cfg.pre_layer_norm) end
  if cfg.mlp_after_attn ~= nil then raw.mlp_after_attn = want_boolean(where, "mlp_after_attn", cfg.mlp_after_attn) end
  if cfg.epsilon ~= nil then
    local e = cfg.epsilon
    if type(e) ~= "number" then fail("%s: field 'epsilon' must be a number, got %s", where, describe(e)) end
    if not (e > 0 and e < math.huge) then fail("%s: field 'epsilon' must be finite and > 0, got %s", where, e) end
    raw.epsilon = e + 0.0
  end
  if cfg.layout ~= nil then raw.layout = want_option(where, "layout", cfg.layout, LAYOUTS) end
  if cfg.gamma_offset ~= nil then
    local o = cfg.gamma_offset
    if type(o) ~= "number" then fail("%s: field 'gamma_offset' must be a number, got %s", where, describe(o)) end
    if not (o > -math.huge and o < math.huge) then fail("%s: field 'gamma_offset' must be finite, got %s", where, o) end
    if o ~= 0 and norm ~= "rmsnorm" then
      fail("%s: field 'gamma_offset' is %s but norm is '%s'; the weight offset is an rmsnorm option (Gemma)", where,
           o, norm)
    end
    raw.gamma_offset = o + 0.0
  end
  if cfg.split_w1 ~= nil then
    raw.split_w1 = want_boolean(where, "split_w1", cfg.split_w1)
    if raw.split_w1 and not gated then
      fail("%s: field 'split_w1' is true but activation '%s' is not gated (separate up and gate weights need a "
           .. "gated activation)", where, act)
    end
  end

  local P = 1
  if cfg.tp ~= nil then
    local tp = want_table(where, "tp", cfg.tp, " {size = P, rank = r}")
    check_keys(where, tp, TP_FIELDS, "tp.")
    P = tp.size == nil and 1 or want_positive(where, "tp.size", tp.size)
    local r = tp.rank == nil and 0 or want_integer(where, "tp.rank", tp.rank)
    if r < 0 or r >= P then fail("%s: field 'tp.rank' is %d, outside [0, tp.size = %d)", where, r, P) end
    if P > 0x7fffffff then fail("%s: field 'tp.size' is too large (%d)", where, P) end
    raw.tp_size, raw.tp_rank = P, r
  end
  if inter % P ~= 0 then
    fail("%s: intermediate %d%s is not divisible by tp.size %d (each rank holds intermediate/tp.size columns)",
         where, inter, cfg.intermediate == nil and " (4*hidden)" or "", P)
  end

  if cfg.int8 ~= nil and cfg.int8 ~= false then
    local groups = 1
    if cfg.int8 ~= true then
      local q = want_table(where, "int8", cfg.int8, " {groups = G} or true")
      check_keys(where, q, INT8_FIELDS, "int8.")
      if q.groups ~= nil then groups = want_positive(where, "int8.groups", q.groups) end
    end
    local dt = raw.dtype or "f16"
    if dt ~= "f16" and dt ~= "bf16" then
      fail("%s: int8 weights need dtype f16 or bf16 for the activations, got dtype '%s'", where, dt)
    end
    local split = gated and raw.split_w1
    local rows1 = ((gated and not split) and 2 or 1) * (inter // P)
    if rows1 % groups ~= 0 then
      fail("%s: int8.groups %d does not divide the %d rows of %s (%sintermediate/tp.size)", where, groups, rows1,
           split and "w1_up and w1_gate" or "w1", (gated and not split) and "2*" or "")
    end
    if raw.hidden % groups ~= 0 then
      fail("%s: int8.groups %d does not divide the %d rows of w2 (hidden)", where, groups, raw.hidden)
    end
    raw.int8_weights, raw.int8_groups = true, groups
  end

  local bias = { attn = true, norm = norm == "layernorm", b1 = true, b2 = true }
  if cfg.bias ~= nil then
    if type(cfg.bias) == "boolean" then
      for k in pairs(bias) do bias[k] = cfg.bias end
      if norm ~= "layernorm" then bias.norm = false end
    else
      local b = want_table(where, "bias", cfg.bias, " {attn =, norm =, b1 =, b2 =} or a boolean")
      check_keys(where, b, BIAS_FIELDS, "bias.")
      for _, k in ipairs(BIAS_FIELDS) do
        if b[k] ~= nil then bias[k] = want_boolean(where, "bias." .. k, b[k]) end
      end
      if bias.norm and norm ~= "layernorm" then
        fail("%s: field 'bias.norm' is true but norm '%s' has no bias (beta); only layernorm has one", where, norm)
      end
    end
  end
  raw.attn_bias, raw.norm_bias, raw.bias1, raw.bias2 = bias.attn, bias.norm, bias.b1, bias.b2

  if cfg.name ~= nil then
    if type(cfg.name) ~= "string" then fail("%s: field 'name' must be a string, got %s", where, describe(cfg.name)) end
    raw.name = cfg.name
  else
    raw.name = default_name
  end
  return raw
end

local function build(where, cfg, default_name)
  local g, err = C.mlp_raw(to_raw(where, cfg, default_name))
  if not g then fail("%s: %s", where, err) end
  return g
end

-- dsmlp.mlp{hidden = ..., ...} -> graph
M.mlp = public(function(cfg)
  return build("dsmlp.mlp", cfg, "mlp")
end)

-- ------------------------------------------------------------ presets

-- Sizes, norm epsilon, activation, norm and biases from each model's public
-- config (Hugging Face config.json / the papers), with the activation the
-- model really computes: GPT-2, GPT-J, BLOOM and GPT-NeoX-20B ("gelu_new",
-- "bloom_gelu", "gelu_fast") use the tanh form, BERT and Falcon the exact erf
-- form, Gemma gated tanh-GELU ("gelu_pytorch_tanh").
local function ln(h, i, extra)      -- GPT-2-like: LayerNorm, tanh-GELU, all biases
  local c = { hidden = h, intermediate = i, epsilon = 1e-5, activation = "gelu_tanh", norm = "layernorm" }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local function llama(h, i, extra)   -- RMSNorm, SwiGLU, no biases
  local c = { hidden = h, intermediate = i, epsilon = 1e-5, activation = "gated_silu", norm = "rmsnorm",
              bias = { attn = false, norm = false, b1 = false, b2 = false } }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- Parallel attention and MLP reading one shared LayerNorm of the layer input
-- (GPT-J, Phi-2, Falcon-7B): the MLP reads residual_norm.
local function shared_ln(h, i, extra)
  local c = ln(h, i, { norm = "none", mlp_after_attn = false })
  for k, v in pairs(extra) do c[k] = v end
  return c
end

local gemma = { activation = "gated_gelu_tanh", gamma_offset = 1.0, epsilon = 1e-6 }
local qwen2 = { epsilon = 1e-6 }

local PRESET_LIST = {
  { "gpt2", ln(768, 3072) },
  { "gpt2-medium", ln(1024, 4096) },
  { "gpt2-large", ln(1280, 5120) },
  { "gpt2-xl", ln(1600, 6400) },
  { "opt-125m", ln(768, 3072, { activation = "relu" }) },
  -- opt-350m is the one OPT model with do_layer_norm_before = false (post-LN)
  { "opt-350m", ln(1024, 4096, { activation = "relu", pre_layer_norm = false }) },
  { "opt-1.3b", ln(2048, 8192, { activation = "relu" }) },
  { "opt-2.7b", ln(2560, 10240, { activation = "relu" }) },
  { "opt-6.7b", ln(4096, 16384, { activation = "relu" }) },
  { "opt-13b", ln(5120, 20480, { activation = "relu" }) },
  { "opt-30b", ln(7168, 28672, { activation = "relu" }) },
  { "opt-66b", ln(9216, 36864, { activation = "relu" }) },
  { "bloom-560m", ln(1024, 4096) },
  { "bloom-1b1", ln(1536, 6144) },
  { "bloom-1b7", ln(2048, 8192) },
  { "bloom-3b", ln(2560, 10240) },
  { "bloom-7b1", ln(4096, 16384) },
  { "bloom-176b", ln(14336, 57344) },
  -- GPT-J: out_proj has no bias.
  { "gpt-j-6b", shared_ln(4096, 16384, { bias = { attn = false, norm = false, b1 = true, b2 = true } }) },
  { "gpt-neox-20b", ln(6144, 24576, { mlp_after_attn = false }) },
  { "bert-base", ln(768, 3072, { activation = "gelu_erf", epsilon = 1e-12, pre_layer_norm = false }) },
  { "bert-large", ln(1024, 4096, { activation = "gelu_erf", epsilon = 1e-12, pre_layer_norm = false }) },
  { "llama2-7b", llama(4096, 11008) },
  { "llama2-13b", llama(5120, 13824) },
  { "llama2-70b", llama(8192, 28672) },
  { "llama3-8b", llama(4096, 14336) },
  { "llama3-70b", llama(8192, 28672) },
  { "mistral-7b", llama(4096, 14336) },
  { "qwen2-1.5b", llama(1536, 8960, qwen2) },
  { "qwen2-7b", llama(3584, 18944, qwen2) },
  { "gemma-2b", llama(2048, 16384, gemma) },
  { "gemma-7b", llama(3072, 24576, gemma) },
  { "phi-2", shared_ln(2560, 10240, { bias = { attn = true, norm = false, b1 = true, b2 = true } }) },
  { "phi-3-mini", llama(3072, 8192) },
  { "falcon-7b", shared_ln(4544, 18176, { activation = "gelu_erf",
                                          bias = { attn = false, norm = false, b1 = false, b2 = false } }) },
}

local PRESETS, PRESET_NAMES = {}, {}
for i, p in ipairs(PRESET_LIST) do
  PRESETS[p[1]] = p[2]
  PRESET_NAMES[i] = p[1]
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

local function find_preset(where, name)
  if type(name) ~= "string" then fail("%s: preset name must be a string, got %s", where, describe(name)) end
  local key = name:lower():gsub("_", "-")
  local p = PRESETS[key]
  if p then return key, p end
  local close = {}
  for _, s in ipairs(by_distance(key, PRESET_NAMES)) do
    if close_enough(key, s.d) and #close < 5 then close[#close + 1] = s.c end
  end
  if #close > 0 then
    fail("%s: unknown preset '%s'; close names: %s (dsmlp.presets() lists all)", where, name,
         table.concat(close, ", "))
  end
  fail("%s: unknown preset '%s'; presets are: %s", where, name, table.concat(PRESET_NAMES, ", "))
end

-- The preset's config with `overrides` applied (nested tables tp, int8 and
-- bias are merged field by field).
local function preset_config(where, name, overrides)
  local key, p = find_preset(where, name)
  local cfg = copy(p)
  if overrides ~= nil then
    if type(overrides) ~= "table" then fail("%s: overrides must be a table, got %s", where, describe(overrides)) end
    check_keys(where, overrides, FIELDS, "")
    for k, v in pairs(overrides) do
      if type(v) == "table" and type(cfg[k]) == "table" then
        for kk, vv in pairs(v) do cfg[k][kk] = vv end
      else
        cfg[k] = copy(v)
      end
    end
  end
  return key, cfg
end

-- dsmlp.preset(name [, overrides]) -> graph named after the preset
M.preset = public(function(name, overrides)
  local where = string.format("dsmlp.preset('%s')", tostring(name))
  local key, cfg = preset_config(where, name, overrides)
  return build(where, cfg, key)
end)

-- dsmlp.preset_config(name [, overrides]) -> a copy of the config table
M.preset_config = public(function(name, overrides)
  local _, cfg = preset_config(string.format("dsmlp.preset_config('%s')", tostring(name)), name, overrides)
  return cfg
end)

-- ------------------------------------------------------------ Hugging Face

-- dsmlp.hf(path [, overrides]) -> the MLP block of the model whose
-- config.json is at path (a file or its directory; relative to the script),
-- named after its model_type, carrying the checkpoint tensor of every
-- parameter (dsmlp-compile --weights, dsmlp_weights_bind). Overrides are
-- dsmlp.mlp fields (dtype, tp, int8, name, ...), applied like a preset's.
M.hf = public(function(path, overrides)
  local where = string.format("dsmlp.hf('%s')", tostring(path))
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", where, describe(path)) end
  if overrides ~= nil then
    if type(overrides) ~= "table" then fail("%s: overrides must be a table, got %s", where, describe(overrides)) end
    check_keys(where, overrides, FIELDS, "")
  end
  local cfg, tensors = C.hf_raw(path)
  if not cfg then fail("%s: %s", where, tensors) end
  if overrides ~= nil then
    for k, v in pairs(overrides) do
      if type(v) == "table" and type(cfg[k]) == "table" then
        for kk, vv in pairs(v) do cfg[k][kk] = vv end
      else
        cfg[k] = copy(v)
      end
    end
  end
  local g = build(where, cfg, cfg.name)
  local tp = cfg.tp or {}
  return C.attach_tensors(g, tensors, tp.size or 1, tp.rank or 0)
end)

-- dsmlp.weights(path) -> a safetensors checkpoint (a file, a directory, or
-- model.safetensors.index.json) with w:names(), w:info(name), w:check(graph
-- [, layer]), #w; every header is validated when it opens.
M.weights = public(function(path)
  local where = string.format("dsmlp.weights('%s')", tostring(path))
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", where, describe(path)) end
  local w, err = C.weights(path)
  if not w then fail("%s: %s", where, err) end
  return w
end)

-- dsmlp.presets() -> array of preset names, in family order
function M.presets()
  return copy(PRESET_NAMES)
end

return M
