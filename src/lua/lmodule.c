/*
** lmodule.c — the C functions of the `dsmlp` module: graph constructor,
** mlp_raw (dsmlp_mlp_build with the C config's fields 1:1), layer
** registration, and `public`, which makes a Lua function report its usage
** errors at the caller's line.
*/
#include "lmod.h"
#include "dtype.h"

#include <string.h>

static const char ctx_key = 'c';   /* registry key: its address */

void dsmlpL_lmod_set_ctx(lua_State *L, dsmlp_ctx *ctx)
{
    lua_pushlightuserdata(L, ctx);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_key);
}

dsmlp_ctx *dsmlpL_lmod_ctx(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
    dsmlp_ctx *ctx = (dsmlp_ctx *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!ctx) luaL_error(L, "dsmlp: no context (the module runs only inside dsmlp_script_load)");
    return ctx;
}

/* dsmlp.graph([name]) */
static int m_graph(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, "graph");
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    lgraph *p = dsmlpL_lgraph_push_new(L);
    if (dsmlp_graph_create(ctx, name, &p->g) != DSMLP_OK) return dsmlpL_lmod_error(L, ctx);
    return 1;
}

/* ------------------------------------------------------------- mlp_raw */

static const char *const raw_fields[] = {
    "name", "hidden", "intermediate", "dtype", "int8_weights", "int8_groups", "activation", "norm",
    "pre_layer_norm", "mlp_after_attn", "epsilon", "layout", "tp_size", "tp_rank", "attn_bias", "norm_bias",
    "bias1", "bias2", "gamma_offset", "split_w1", "quant_dtype", "quant_scale_dtype", "quant_per_channel",
    "quant_extra_grouping", "quant_gate_scales", NULL
};

static int fieldtype(lua_State *L, const char *field, int want)
{
    int t = lua_getfield(L, 1, field);
    if (t != LUA_TNIL && t != want)
        luaL_error(L, "mlp_raw: field '%s' must be a %s, got %s", field, lua_typename(L, want), luaL_typename(L, -1));
    return t != LUA_TNIL;
}

static void rawint(lua_State *L, const char *field, int64_t *out)
{
    if (fieldtype(L, field, LUA_TNUMBER)) {
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) luaL_error(L, "mlp_raw: field '%s' must be an integer", field);
        *out = (int64_t)v;
    }
    lua_pop(L, 1);
}

static void rawintc(lua_State *L, const char *field, int *out)
{
    int64_t v = *out;
    rawint(L, field, &v);
    if (v < -0x7fffffff || v > 0x7fffffff) luaL_error(L, "mlp_raw: field '%s' is out of range", field);
    *out = (int)v;
}

static void rawbool(lua_State *L, const char *field, int *out)
{
    if (fieldtype(L, field, LUA_TBOOLEAN)) *out = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static void rawnum(lua_State *L, const char *field, double *out)
{
    if (fieldtype(L, field, LUA_TNUMBER)) *out = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
}

/* An enum field given by name; names[i] maps to values[i]. */
static void rawenum(lua_State *L, const char *field, const char *const *names, const int *values, int *out)
{
    if (fieldtype(L, field, LUA_TSTRING)) {
        const char *s = lua_tostring(L, -1);
        int i = 0;
        while (names[i] && strcmp(names[i], s) != 0) i++;
        if (!names[i]) luaL_error(L, "mlp_raw: field '%s' has unknown value '%s'", field, s);
        *out = values[i];
    }
    lua_pop(L, 1);
}

static void rawconfig(lua_State *L, dsmlp_mlp_config *c, const char **name)
{
    static const char *const dtypes[] = {"f32", "f16", "bf16", "i8", NULL};
    static const int dtype_v[] = {DSMLP_F32, DSMLP_F16, DSMLP_BF16, DSMLP_I8};
    /* gelu and gated_gelu keep DeepSpeed's meaning (tanh, erf); the rest say which GELU */
    static const char *const acts[] = {"gelu", "relu", "gated_gelu", "gated_silu", "gelu_tanh", "gelu_erf", "silu",
                                       "gated_gelu_tanh", "gated_gelu_erf", "gated_relu", NULL};
    static const int act_v[] = {DSMLP_MLP_GELU, DSMLP_MLP_RELU, DSMLP_MLP_GATED_GELU, DSMLP_MLP_GATED_SILU,
                                DSMLP_MLP_GELU_TANH, DSMLP_MLP_GELU_ERF, DSMLP_MLP_SILU, DSMLP_MLP_GATED_GELU_TANH,
                                DSMLP_MLP_GATED_GELU_ERF, DSMLP_MLP_GATED_RELU};
    static const char *const norms[] = {"none", "layernorm", "rmsnorm", NULL};
    static const int norm_v[] = {DSMLP_NORM_NONE, DSMLP_NORM_LAYERNORM, DSMLP_NORM_RMSNORM};
    static const char *const layouts[] = {"in_out", "out_in", NULL};
    static const int layout_v[] = {DSMLP_LAYOUT_IN_OUT, DSMLP_LAYOUT_OUT_IN};
    static const char *const qtypes[] = {"i8", "fp8", NULL};
    static const int qtype_v[] = {DSMLP_I8, DSMLP_FP8_E4M3};
    static const char *const stypes[] = {"f32", "f16", NULL};
    static const int stype_v[] = {DSMLP_F32, DSMLP_F16};

    luaL_checktype(L, 1, LUA_TTABLE);
    /* every key must be a known field: a typo must not pass silently */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "mlp_raw: config keys must be field names");
        const char *k = lua_tostring(L, -1);
        int i = 0;
        while (raw_fields[i] && strcmp(raw_fields[i], k) != 0) i++;
        if (!raw_fields[i]) luaL_error(L, "mlp_raw: unknown field '%s'", k);
    }
    dsmlp_mlp_config_default(c);
    int v;
    rawint(L, "hidden", &c->hidden);
    rawint(L, "intermediate", &c->intermediate);
    v = c->dtype, rawenum(L, "dtype", dtypes, dtype_v, &v), c->dtype = (dsmlp_dtype)v;
    rawbool(L, "int8_weights", &c->int8_weights);
    rawint(L, "int8_groups", &c->int8_groups);
    v = c->activation, rawenum(L, "activation", acts, act_v, &v), c->activation = (dsmlp_mlp_act)v;
    v = c->norm, rawenum(L, "norm", norms, norm_v, &v), c->norm = (dsmlp_norm)v;
    rawbool(L, "pre_layer_norm", &c->pre_layer_norm);
    rawbool(L, "mlp_after_attn", &c->mlp_after_attn);
    rawnum(L, "epsilon", &c->epsilon);
    v = c->layout, rawenum(L, "layout", layouts, layout_v, &v), c->layout = (dsmlp_layout)v;
    rawintc(L, "tp_size", &c->tp_size);
    rawintc(L, "tp_rank", &c->tp_rank);
    rawbool(L, "attn_bias", &c->attn_bias);
    rawbool(L, "norm_bias", &c->norm_bias);
    rawbool(L, "bias1", &c->bias1);
    rawbool(L, "bias2", &c->bias2);
    rawnum(L, "gamma_offset", &c->gamma_offset);
    rawbool(L, "split_w1", &c->split_w1);
    v = c->quant_dtype, rawenum(L, "quant_dtype", qtypes, qtype_v, &v), c->quant_dtype = (dsmlp_dtype)v;
    v = c->quant_scale_dtype, rawenum(L, "quant_scale_dtype", stypes, stype_v, &v);
    c->quant_scale_dtype = (dsmlp_dtype)v;
    rawbool(L, "quant_per_channel", &c->quant_per_channel);
    rawbool(L, "quant_extra_grouping", &c->quant_extra_grouping);
    rawbool(L, "quant_gate_scales", &c->quant_gate_scales);
    *name = "mlp";
    if (fieldtype(L, "name", LUA_TSTRING)) *name = lua_tostring(L, -1);
    lua_replace(L, 2);   /* keep the name string anchored while we use it */
}

/* dsmlp.mlp_raw(config) -> graph | nil, message.
** Bad field types raise; a config the C builder rejects returns nil and the
** builder's message, so dsmlp.lua can report it at the user's line. */
static int m_mlp_raw(lua_State *L)
{
    dsmlp_mlp_config cfg;
    const char *name;
    lua_settop(L, 2);
    rawconfig(L, &cfg, &name);
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    lgraph *p = dsmlpL_lgraph_push_new(L);
    if (dsmlp_graph_create(ctx, name, &p->g) != DSMLP_OK) return dsmlpL_lmod_error(L, ctx);
    int fail = dsmlp_mlp_build(p->g, &cfg) != DSMLP_OK;
    if (fail)
        lua_pushstring(L, dsmlp_last_error(ctx));
    else
        fail = dsmlpL_lgraph_charge(L, p->g, "mlp");
    if (fail) {   /* message on top */
        dsmlp_graph_free(p->g);
        p->g = NULL;
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* ------------------------------------------------------------- quantize */

/* dsmlp.quantize's core: quantize(w, rows, cols, groups, q_dtype, scale_dtype,
** layout) -> q, scales | nil, message. w is an array of rows·cols numbers
** (checked by dsmlp.lua); q holds int8 codes or fp8 values, scales the
** stored scale values. */
static int m_quantize(lua_State *L)
{
    static const char *const qn[] = {"i8", "fp8", NULL};
    static const dsmlp_dtype qv[] = {DSMLP_I8, DSMLP_FP8_E4M3};
    static const char *const sn[] = {"f32", "f16", NULL};
    static const dsmlp_dtype sv[] = {DSMLP_F32, DSMLP_F16};
    static const char *const ln[] = {"in_out", "out_in", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer rows = luaL_checkinteger(L, 2), cols = luaL_checkinteger(L, 3), groups = luaL_checkinteger(L, 4);
    dsmlp_dtype qt = qv[luaL_checkoption(L, 5, NULL, qn)], st = sv[luaL_checkoption(L, 6, NULL, sn)];
    dsmlp_layout lay = (dsmlp_layout)luaL_checkoption(L, 7, NULL, ln);
    if (rows <= 0 || cols <= 0 || rows > ((lua_Integer)1 << 26) / cols)
        luaL_error(L, "quantize: %I x %I weights (at most 2^26 elements in a script)", rows, cols);
    if (groups <= 0 || groups > rows) luaL_error(L, "quantize: groups=%I for %I rows", groups, rows);
    size_t n = (size_t)(rows * cols);
    /* userdata buffers: freed by the collector whatever fails below */
    double *w = (double *)lua_newuserdatauv(L, n * sizeof *w, 0);
    uint8_t *q = (uint8_t *)lua_newuserdatauv(L, n, 0);
    float *sc = (float *)lua_newuserdatauv(L, (size_t)groups * sizeof *sc, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        w[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    if (dsmlp_quantize(ctx, w, DSMLP_F64, lay, rows, cols, groups, qt, q, st, sc) != DSMLP_OK) {
        lua_pushnil(L);
        lua_pushstring(L, dsmlp_last_error(ctx));
        return 2;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        if (qt == DSMLP_I8) lua_pushinteger(L, (int8_t)q[i]);
        else lua_pushnumber(L, dsmlpB_dtype_e4m3_to_f64(q[i]));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_createtable(L, (int)groups, 0);
    for (lua_Integer g = 0; g < groups; g++) {
        double v = st == DSMLP_F32 ? (double)sc[g] : (double)dsmlpB_dtype_f16_to_f32(((const uint16_t *)sc)[g]);
        lua_pushnumber(L, v);
        lua_rawseti(L, -2, g + 1);
    }
    return 2;
}

/* ------------------------------------------------------------- layers */

/* Checks an options table {max_tokens = 65536, ...} at idx against the
** library's compile-option table and pushes it as an array of "name=value". */
static void push_layer_options(lua_State *L, int idx, const char *layer)
{
    dsmlp_compile_options scratch;
    dsmlp_compile_options_default(&scratch);
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    lua_newtable(L);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "dsmlp.layer: layer '%s': option names must be strings", layer);
        const char *key = lua_tostring(L, -2);
        if (lua_type(L, -1) == LUA_TBOOLEAN) lua_pushfstring(L, "%s=%d", key, lua_toboolean(L, -1));
        else if (lua_isinteger(L, -1)) lua_pushfstring(L, "%s=%I", key, lua_tointeger(L, -1));
        else if (lua_type(L, -1) == LUA_TSTRING) lua_pushfstring(L, "%s=%s", key, lua_tostring(L, -1));
        else
            luaL_error(L, "dsmlp.layer: layer '%s': option '%s' must be an integer, a boolean or a string, got %s",
                       layer, key, luaL_typename(L, -1));
        if (dsmlp_compile_options_parse(ctx, &scratch, lua_tostring(L, -1)) != DSMLP_OK)
            luaL_error(L, "dsmlp.layer: layer '%s': %s", layer, dsmlp_last_error(ctx));
        lua_rawseti(L, -4, ++n);   /* the array under key, value */
        lua_pop(L, 1);
    }
}

/* dsmlp.layer(name, graph [, options]): registers a layer of the model, with
** compile options of its own (dsmlp_layers_options applies them). */
static int m_layer(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lgraph *p = (lgraph *)luaL_checkudata(L, 2, LGRAPH_MT);
    if (!p->g) luaL_error(L, "dsmlp.layer: graph for layer '%s' is closed", name);
    if (!*name) luaL_argerror(L, 1, "layer name is empty");
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    if (lua_istable(L, 3)) push_layer_options(L, 3, name);
    else lua_pushnil(L);
    lua_replace(L, 3);   /* 3: the checked options array, or nil */
    if (lua_getfield(L, LUA_REGISTRYINDEX, LMOD_LAYERS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, LMOD_LAYERS_KEY);
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, 4);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 4, i);
        lua_getfield(L, -1, "name");
        if (strcmp(lua_tostring(L, -1), name) == 0) luaL_error(L, "dsmlp.layer: layer '%s' is already defined", name);
        lua_pop(L, 2);
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "graph");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "options");
    lua_rawseti(L, 4, n + 1);
    return 0;   /* returning the graph would invite `return dsmlp.layer(...)`, adding it twice */
}

/* ------------------------------------------------------------- public */

/* Calls the Lua function in upvalue 1. An error object whose metatable is
** upvalue 2 is a usage error {msg = ...}: it is raised again as a string at
** the caller's line (level 1 here is the script that called us, also after a
** tail call, since a C function keeps its caller's frame). Any other error
** passes through unchanged. */
static int public_call(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    if (lua_pcall(L, n, LUA_MULTRET, 0) == LUA_OK) return lua_gettop(L);
    if (lua_type(L, -1) == LUA_TTABLE && lua_getmetatable(L, -1)) {
        int usage = lua_rawequal(L, -1, lua_upvalueindex(2));
        lua_pop(L, 1);
        if (usage) {
            lua_getfield(L, -1, "msg");
            const char *msg = lua_tostring(L, -1);
            luaL_where(L, 1);
            lua_pushstring(L, msg ? msg : "dsmlp: error");
            lua_concat(L, 2);
        }
    }
    return lua_error(L);
}

/* dsmlp.public(f, usage_mt) -> function */
static int m_public(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_pushcclosure(L, public_call, 2);
    return 1;
}

static int m_is_graph(lua_State *L)
{
    lua_pushboolean(L, dsmlpL_lgraph_test(L, 1) != NULL);
    return 1;
}

static const luaL_Reg core_funcs[] = {
    {"graph", m_graph},   {"mlp_raw", m_mlp_raw}, {"layer", m_layer},
    {"public", m_public}, {"is_graph", m_is_graph}, {"quantize", m_quantize},
    {NULL, NULL}
};

int dsmlpL_luaopen_dsmlp_core(lua_State *L)
{
    dsmlpL_lgraph_open(L);
    dsmlpL_lmodel_open(L);
    luaL_newlib(L, core_funcs);
    luaL_setfuncs(L, dsmlpL_lmodel_funcs, 0);
    lua_pushstring(L, dsmlp_version());
    lua_setfield(L, -2, "version");
    return 1;
}
