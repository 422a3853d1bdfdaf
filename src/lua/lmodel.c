/*
** lmodel.c — the model functions of the `dsmlp` module: hf_raw (a Hugging
** Face config.json as a dsmlp.mlp config table plus its tensor map),
** attach_tensors, and dsmlp.weights (a safetensors checkpoint to inspect and
** check graphs against: userdata "dsmlp.weights", created closed, __gc and
** __close). Paths are relative to the script's directory; these functions
** only read model files, so scripts get them without io.
*/
#include "lmod.h"

#include <stdlib.h>
#include <string.h>

#define LWEIGHTS_MT "dsmlp.weights"

static const char dir_key = 'd';   /* registry key: the script's directory */

void dsmlpL_lmod_set_script_dir(lua_State *L, const char *script_path)
{
    const char *slash = script_path ? strrchr(script_path, '/') : NULL;
    if (!slash) return;
    lua_pushlstring(L, script_path, (size_t)(slash - script_path + 1));
    lua_rawsetp(L, LUA_REGISTRYINDEX, &dir_key);
}

/* Argument idx as a path: relative ones are taken from the script's directory. */
static const char *script_path(lua_State *L, int idx)
{
    const char *p = luaL_checkstring(L, idx);
    if (p[0] == '/') return p;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &dir_key) != LUA_TSTRING) {
        lua_pop(L, 1);
        return p;
    }
    lua_pushstring(L, p);
    lua_concat(L, 2);
    lua_replace(L, idx);
    return lua_tostring(L, idx);
}

/* ------------------------------------------------------------- hf */

static const char *act_name(dsmlp_mlp_act a)
{
    switch (a) {
    case DSMLP_MLP_GELU_TANH: return "gelu_tanh";
    case DSMLP_MLP_GELU_ERF: return "gelu_erf";
    case DSMLP_MLP_RELU: return "relu";
    case DSMLP_MLP_SILU: return "silu";
    case DSMLP_MLP_GATED_GELU_TANH: return "gated_gelu_tanh";
    case DSMLP_MLP_GATED_GELU_ERF: return "gated_gelu_erf";
    case DSMLP_MLP_GATED_RELU: return "gated_relu";
    case DSMLP_MLP_GATED_SILU: return "gated_silu";
    }
    return "?";
}

static void setbool(lua_State *L, const char *k, int v) { lua_pushboolean(L, v), lua_setfield(L, -2, k); }
static void setint(lua_State *L, const char *k, lua_Integer v) { lua_pushinteger(L, v), lua_setfield(L, -2, k); }
static void setstr(lua_State *L, const char *k, const char *v) { lua_pushstring(L, v), lua_setfield(L, -2, k); }

static const char *const split_names[] = {"none", "out", "in", "out_halves", NULL};

/* nil, message: dsmlp.lua reports it at the script's line. */
static int fail_nil(lua_State *L, dsmlp_ctx *ctx)
{
    lua_pushnil(L);
    lua_pushstring(L, dsmlp_last_error(ctx));
    return 2;
}

/* dsmlp.hf_raw(path) -> config (dsmlp.mlp fields), tensors {layers =, [param] = {tensor, rows, split}}, model_type
** | nil, message */
static int m_hf_raw(lua_State *L)
{
    const char *path = script_path(L, 1);
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    dsmlp_hf_model m;
    if (dsmlp_hf_config(ctx, path, &m) != DSMLP_OK) return fail_nil(L, ctx);
    const dsmlp_mlp_config *c = &m.mlp;
    lua_createtable(L, 0, 16);
    setint(L, "hidden", c->hidden);
    setint(L, "intermediate", c->intermediate);
    setstr(L, "dtype", dsmlp_dtype_name(c->dtype));
    setstr(L, "activation", act_name(c->activation));
    setstr(L, "norm", c->norm == DSMLP_NORM_LAYERNORM ? "layernorm" : c->norm == DSMLP_NORM_RMSNORM ? "rmsnorm" : "none");
    setbool(L, "pre_layer_norm", c->pre_layer_norm);
    setbool(L, "mlp_after_attn", c->mlp_after_attn);
    lua_pushnumber(L, c->epsilon), lua_setfield(L, -2, "epsilon");
    setstr(L, "layout", c->layout == DSMLP_LAYOUT_OUT_IN ? "out_in" : "in_out");
    if (c->gamma_offset != 0) lua_pushnumber(L, c->gamma_offset), lua_setfield(L, -2, "gamma_offset");
    if (c->split_w1) setbool(L, "split_w1", 1);
    lua_createtable(L, 0, 4);
    setbool(L, "attn", c->attn_bias), setbool(L, "norm", c->norm_bias);
    setbool(L, "b1", c->bias1), setbool(L, "b2", c->bias2);
    lua_setfield(L, -2, "bias");
    setstr(L, "name", m.model_type);
    lua_createtable(L, 0, m.tensors.count + 1);
    setint(L, "layers", m.tensors.layers);
    for (int i = 0; i < m.tensors.count; i++) {
        const dsmlp_tensor_ref *r = &m.tensors.ref[i];
        lua_createtable(L, 0, 4);
        setstr(L, "tensor", r->tensor);
        if (r->row_count) setint(L, "row_begin", r->row_begin), setint(L, "row_count", r->row_count);
        setstr(L, "split", split_names[r->split]);
        lua_setfield(L, -2, r->param);
    }
    lua_pushstring(L, m.model_type);
    return 3;
}

static int intfield(lua_State *L, int t, const char *k, lua_Integer def)
{
    lua_getfield(L, t, k);
    lua_Integer v = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return (int)v;
}

/* dsmlp.attach_tensors(graph, tensors, tp_size, tp_rank): the map from hf_raw (or written by hand) onto the graph. */
static int m_attach_tensors(lua_State *L)
{
    lgraph *p = (lgraph *)luaL_checkudata(L, 1, LGRAPH_MT);
    if (!p->g) luaL_error(L, "attach_tensors: graph is closed");
    luaL_checktype(L, 2, LUA_TTABLE);
    dsmlp_tensor_map m;
    memset(&m, 0, sizeof m);
    m.layers = intfield(L, 2, "layers", 0);
    m.tp_size = (int)luaL_optinteger(L, 3, 1);
    m.tp_rank = (int)luaL_optinteger(L, 4, 0);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
            if (m.count == DSMLP_TENSOR_MAP_MAX) luaL_error(L, "attach_tensors: more than %d tensors", DSMLP_TENSOR_MAP_MAX);
            dsmlp_tensor_ref *r = &m.ref[m.count++];
            const char *param = lua_tostring(L, -2);
            if (strlen(param) >= sizeof r->param) luaL_error(L, "attach_tensors: parameter name '%s' is too long", param);
            strcpy(r->param, param);
            lua_getfield(L, -1, "tensor");
            const char *t = luaL_checkstring(L, -1);
            if (strlen(t) >= sizeof r->tensor) luaL_error(L, "attach_tensors: tensor name '%s' is too long", t);
            strcpy(r->tensor, t);
            lua_pop(L, 1);
            r->row_begin = intfield(L, lua_gettop(L), "row_begin", 0);
            r->row_count = intfield(L, lua_gettop(L), "row_count", 0);
            lua_getfield(L, -1, "split");
            r->split = (dsmlp_split)luaL_checkoption(L, -1, "none", split_names);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (dsmlp_graph_set_tensor_map(p->g, &m) != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlp_graph_ctx(p->g));
    lua_settop(L, 1);
    return 1;
}

/* ------------------------------------------------------------- weights */

typedef struct lweights {
    dsmlp_weights *w;   /* NULL: closed */
} lweights;

static dsmlp_weights *toweights(lua_State *L)
{
    lweights *p = (lweights *)luaL_checkudata(L, 1, LWEIGHTS_MT);
    if (!p->w) luaL_error(L, "dsmlp.weights: the checkpoint is closed");
    return p->w;
}

/* dsmlp.weights(path) -> checkpoint (every header validated) | nil, message */
static int m_weights(lua_State *L)
{
    const char *path = script_path(L, 1);
    dsmlp_ctx *ctx = dsmlpL_lmod_ctx(L);
    lweights *p = (lweights *)lua_newuserdatauv(L, sizeof *p, 0);
    p->w = NULL;   /* closed until opened */
    luaL_setmetatable(L, LWEIGHTS_MT);
    if (dsmlp_weights_open(ctx, path, &p->w) != DSMLP_OK) return fail_nil(L, ctx);
    return 1;
}

/* w:names() -> array of tensor names, sorted */
static int w_names(lua_State *L)
{
    dsmlp_weights *w = toweights(L);
    int n = dsmlp_weights_count(w);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        dsmlp_tensor_info t;
        dsmlp_weights_tensor(w, i, &t);
        lua_pushstring(L, t.name);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* w:info(name) -> {name, file, dtype, shape = {...}, bytes} */
static int w_info(lua_State *L)
{
    dsmlp_weights *w = toweights(L);
    dsmlp_tensor_info t;
    if (dsmlp_weights_find(w, luaL_checkstring(L, 2), &t) != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlpL_lmod_ctx(L));
    lua_createtable(L, 0, 5);
    setstr(L, "name", t.name);
    setstr(L, "file", t.file);
    setstr(L, "dtype", t.dtype_name);
    lua_createtable(L, t.rank, 0);
    for (int d = 0; d < t.rank; d++) lua_pushinteger(L, t.shape[d]), lua_rawseti(L, -2, d + 1);
    lua_setfield(L, -2, "shape");
    setint(L, "bytes", (lua_Integer)t.bytes);
    return 1;
}

/* w:check(graph [, layer]) -> true: every parameter of the graph found, convertible, the right shape.
** Without layer, every layer the graph's tensor map has. */
static int w_check(lua_State *L)
{
    dsmlp_weights *w = toweights(L);
    lgraph *p = (lgraph *)luaL_checkudata(L, 2, LGRAPH_MT);
    if (!p->g) luaL_error(L, "check: graph is closed");
    const dsmlp_tensor_map *m = dsmlp_graph_tensor_map(p->g);
    if (!m) luaL_error(L, "check: graph '%s' has no tensor map (build it with dsmlp.hf)", dsmlp_graph_name(p->g));
    int first = (int)luaL_optinteger(L, 3, 0), last = lua_isnoneornil(L, 3) ? (m->layers > 0 ? m->layers - 1 : 0) : first;
    for (int i = first; i <= last; i++)
        if (dsmlp_weights_check(w, p->g, m, i) != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlpL_lmod_ctx(L));
    lua_pushboolean(L, 1);
    return 1;
}

static int w_count(lua_State *L)
{
    lua_pushinteger(L, dsmlp_weights_count(toweights(L)));
    return 1;
}

static int w_close(lua_State *L)
{
    lweights *p = (lweights *)luaL_checkudata(L, 1, LWEIGHTS_MT);
    dsmlp_weights_close(p->w);
    p->w = NULL;
    return 0;
}

static int w_tostring(lua_State *L)
{
    lweights *p = (lweights *)luaL_checkudata(L, 1, LWEIGHTS_MT);
    if (!p->w) lua_pushliteral(L, "dsmlp.weights (closed)");
    else lua_pushfstring(L, "dsmlp.weights (%d tensors in %d files)", dsmlp_weights_count(p->w), dsmlp_weights_files(p->w));
    return 1;
}

void dsmlpL_lmodel_open(lua_State *L)
{
    static const luaL_Reg methods[] = {{"names", w_names}, {"info", w_info}, {"check", w_check}, {"close", w_close},
                                       {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", w_close}, {"__close", w_close}, {"__len", w_count},
                                    {"__tostring", w_tostring}, {NULL, NULL}};
    if (!luaL_newmetatable(L, LWEIGHTS_MT)) {
        lua_pop(L, 1);
        return;
    }
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, LWEIGHTS_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

const luaL_Reg dsmlpL_lmodel_funcs[] = {
    {"hf_raw", m_hf_raw}, {"attach_tensors", m_attach_tensors}, {"weights", m_weights}, {NULL, NULL}};
