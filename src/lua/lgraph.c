/*
** lgraph.c — Lua userdata for dsmlp graphs and values.
** Methods mirror the C graph API one to one (g:add(a, b) is dsmlp_add).
** A graph userdata is created closed and filled in afterwards, so a memory
** error at any point leaves nothing unowned (the liolib pattern).
*/
#include "lmod.h"

#include <string.h>

/* Graph dtype names for messages (dsmlp_dtype_parse takes aliases too; fp8 is e4m3). */
static const char *const dtype_names[] = {"f32", "f16", "bf16", "i8", "fp8", NULL};
static const char *const layout_names[] = {"in_out", "out_in", NULL};
static const char *const act_names[] = {"gelu_tanh", "gelu_erf", "relu", "silu", NULL};

int dsmlpL_lmod_error(lua_State *L, dsmlp_ctx *ctx)
{
    const char *msg = ctx ? dsmlp_last_error(ctx) : "";
    return luaL_error(L, "%s", *msg ? msg : "dsmlp call failed");
}

/* ------------------------------------------------------------- budget */

typedef struct lbudget {
    int64_t live;   /* values held by open graphs of this state */
} lbudget;

static const char budget_key = 'b';   /* registry key: its address */

static lbudget *budget(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &budget_key);
    lbudget *b = (lbudget *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return b;
}

static int budget_over(lua_State *L, lbudget *b, int64_t n)
{
    if (!b || b->live + n <= LMOD_VALUES_MAX) return 0;
    lua_gc(L, LUA_GCCOLLECT);   /* unreachable graphs may still hold values */
    return b->live + n > LMOD_VALUES_MAX;
}

static void budget_message(lua_State *L, lbudget *b, const char *what)
{
    lua_pushfstring(L, "%s: scripts may hold at most %I graph values at once (%I are in use); "
                       "a model needs a few thousand: reuse one graph for layers of the same shape",
                    what, (lua_Integer)LMOD_VALUES_MAX, (lua_Integer)b->live);
}

static void budget_room(lua_State *L, lbudget *b, int64_t n, const char *what)
{
    if (!budget_over(L, b, n)) return;
    luaL_where(L, 1);
    budget_message(L, b, what);
    lua_concat(L, 2);
    lua_error(L);
}

int dsmlpL_lgraph_charge(lua_State *L, dsmlp_graph *g, const char *what)
{
    lbudget *b = budget(L);
    if (!b) return 0;
    if (budget_over(L, b, dsmlp_graph_size(g))) {
        budget_message(L, b, what);
        return 1;
    }
    b->live += dsmlp_graph_size(g);
    return 0;
}

/* ------------------------------------------------------------- graphs */

lgraph *dsmlpL_lgraph_push_new(lua_State *L)
{
    lgraph *p = (lgraph *)lua_newuserdatauv(L, sizeof *p, 0);
    p->g = NULL;   /* closed until the caller creates the graph */
    luaL_setmetatable(L, LGRAPH_MT);
    return p;
}

lgraph *dsmlpL_lgraph_test(lua_State *L, int idx)
{
    return (lgraph *)luaL_testudata(L, idx, LGRAPH_MT);
}

/* The open graph of argument 1; `what` names the method in the error. */
static dsmlp_graph *tograph(lua_State *L, const char *what)
{
    lgraph *p = (lgraph *)luaL_checkudata(L, 1, LGRAPH_MT);
    if (!p->g) luaL_error(L, "%s: graph is closed", what);
    return p->g;
}

/* tograph for a method that adds a value: there must be room for it. */
static dsmlp_graph *opgraph(lua_State *L, const char *what)
{
    dsmlp_graph *g = tograph(L, what);
    budget_room(L, budget(L), 1, what);
    return g;
}

/* A value argument; it must belong to the graph at index 1. */
static dsmlp_value checkvalue(lua_State *L, int idx)
{
    lvalue *v = (lvalue *)luaL_checkudata(L, idx, LVALUE_MT);
    lua_getiuservalue(L, idx, 1);
    int same = lua_rawequal(L, -1, 1);
    lua_pop(L, 1);
    if (!same) luaL_argerror(L, idx, "value belongs to another graph");
    return v->id;
}

static dsmlp_value optvalue(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? DSMLP_NONE : checkvalue(L, idx);
}

static void pushvalue(lua_State *L, dsmlp_value id)
{
    lvalue *v = (lvalue *)lua_newuserdatauv(L, sizeof *v, 1);
    v->id = id;
    luaL_setmetatable(L, LVALUE_MT);
    lua_pushvalue(L, 1);          /* the graph: kept alive by the value */
    lua_setiuservalue(L, -2, 1);
}

/* `out` is read only here, after the call that set it has run. */
static int result(lua_State *L, dsmlp_graph *g, dsmlp_status s, const dsmlp_value *out)
{
    if (s != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlp_graph_ctx(g));
    lbudget *b = budget(L);
    if (b) b->live++;
    pushvalue(L, *out);
    return 1;
}

/* A dtype name: f32, f16, bf16, i8, fp8, or an alias (fp16, float16, bfloat16, e4m3, ...). */
static dsmlp_dtype checkdtype(lua_State *L, int idx)
{
    const char *name = luaL_checkstring(L, idx);
    dsmlp_dtype t;
    if (dsmlp_dtype_parse(name, &t) != DSMLP_OK || t == DSMLP_F64)
        return (dsmlp_dtype)luaL_checkoption(L, idx, NULL, dtype_names);   /* raises with the valid names */
    return t;
}

static int g_input(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "input");
    const char *name = luaL_checkstring(L, 2);
    dsmlp_dtype dt = checkdtype(L, 3);
    lua_Integer n = luaL_checkinteger(L, 4);
    dsmlp_value out;
    return result(L, g, dsmlp_input(g, name, dt, n, &out), &out);
}

static int g_param_vector(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "param_vector");
    const char *name = luaL_checkstring(L, 2);
    dsmlp_dtype dt = checkdtype(L, 3);
    lua_Integer n = luaL_checkinteger(L, 4);
    dsmlp_value out;
    return result(L, g, dsmlp_param_vector(g, name, dt, n, &out), &out);
}

static int g_param_matrix(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "param_matrix");
    const char *name = luaL_checkstring(L, 2);
    dsmlp_dtype dt = checkdtype(L, 3);
    lua_Integer rows = luaL_checkinteger(L, 4), cols = luaL_checkinteger(L, 5);
    dsmlp_layout layout = (dsmlp_layout)luaL_checkoption(L, 6, NULL, layout_names);
    dsmlp_value out;
    return result(L, g, dsmlp_param_matrix(g, name, dt, rows, cols, layout, &out), &out);
}

static int g_add(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "add");
    dsmlp_value a = checkvalue(L, 2), b = checkvalue(L, 3), out;
    return result(L, g, dsmlp_add(g, a, b, &out), &out);
}

static int g_scale(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "scale");
    dsmlp_value x = checkvalue(L, 2), out;
    double c = (double)luaL_checknumber(L, 3);
    return result(L, g, dsmlp_scale(g, x, c, &out), &out);
}

static int g_layernorm(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "layernorm");
    dsmlp_value x = checkvalue(L, 2), w = checkvalue(L, 3), b = optvalue(L, 4), out;
    double eps = (double)luaL_checknumber(L, 5);
    return result(L, g, dsmlp_layernorm(g, x, w, b, eps, &out), &out);
}

/* g:rmsnorm(x, w, eps [, offset]): the weight is w + offset (Gemma: 1). */
static int g_rmsnorm(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "rmsnorm");
    dsmlp_value x = checkvalue(L, 2), w = checkvalue(L, 3), out;
    double eps = (double)luaL_checknumber(L, 4);
    double offset = (double)luaL_optnumber(L, 5, 0.0);
    return result(L, g, dsmlp_rmsnorm_offset(g, x, w, eps, offset, &out), &out);
}

static int g_matmul(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "matmul");
    dsmlp_value x = checkvalue(L, 2), w = checkvalue(L, 3), out;
    return result(L, g, dsmlp_matmul(g, x, w, &out), &out);
}

static int g_bias(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "bias");
    dsmlp_value x = checkvalue(L, 2), b = checkvalue(L, 3), out;
    return result(L, g, dsmlp_bias(g, x, b, &out), &out);
}

static int g_activation(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "activation");
    dsmlp_value x = checkvalue(L, 2), out;
    dsmlp_act act = (dsmlp_act)luaL_checkoption(L, 3, NULL, act_names);
    return result(L, g, dsmlp_activation(g, x, act, &out), &out);
}

/* One method per activation; g:gelu is the tanh form (DeepSpeed's GELU). */
#define UNARY(fname, cfn, label)                                \
    static int fname(lua_State *L)                              \
    {                                                           \
        dsmlp_graph *g = opgraph(L, label);                     \
        dsmlp_value x = checkvalue(L, 2), out;                  \
        return result(L, g, cfn(g, x, &out), &out);              \
    }
UNARY(g_gelu, dsmlp_gelu_tanh, "gelu")
UNARY(g_gelu_tanh, dsmlp_gelu_tanh, "gelu_tanh")
UNARY(g_gelu_erf, dsmlp_gelu_erf, "gelu_erf")
UNARY(g_relu, dsmlp_relu, "relu")
UNARY(g_silu, dsmlp_silu, "silu")
UNARY(g_all_reduce, dsmlp_all_reduce, "all_reduce")
#undef UNARY

/* g:gated(x, act) with x = [up | gate], or g:gated(up, gate, act). */
static int g_gated(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "gated");
    dsmlp_value x = checkvalue(L, 2), out;
    if (luaL_testudata(L, 3, LVALUE_MT)) {
        dsmlp_value gate = checkvalue(L, 3);
        dsmlp_act act = (dsmlp_act)luaL_checkoption(L, 4, NULL, act_names);
        return result(L, g, dsmlp_gated_pair(g, x, gate, act, &out), &out);
    }
    dsmlp_act act = (dsmlp_act)luaL_checkoption(L, 3, NULL, act_names);
    return result(L, g, dsmlp_gated(g, x, act, &out), &out);
}

static int g_dequant(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "dequant");
    dsmlp_value wq = checkvalue(L, 2), scales = checkvalue(L, 3), out;
    lua_Integer groups = luaL_checkinteger(L, 4);
    dsmlp_dtype dt = checkdtype(L, 5);
    return result(L, g, dsmlp_dequant(g, wq, scales, groups, dt, &out), &out);
}

/* Returns the graph itself, so `return g:output("out", y)` hands it back. */
static int g_output(lua_State *L)
{
    dsmlp_graph *g = opgraph(L, "output");
    const char *name = luaL_checkstring(L, 2);
    dsmlp_value x = checkvalue(L, 3);
    if (dsmlp_output(g, name, x) != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlp_graph_ctx(g));
    lbudget *b = budget(L);
    if (b) b->live++;
    lua_settop(L, 1);
    return 1;
}

static int g_name(lua_State *L)
{
    lua_pushstring(L, dsmlp_graph_name(tograph(L, "name")));
    return 1;
}

static int g_size(lua_State *L)
{
    lua_pushinteger(L, dsmlp_graph_size(tograph(L, "size")));
    return 1;
}

/* A box whose __gc frees a C string, so no memory error can leak it. */
static int box_gc(lua_State *L)
{
    char **box = (char **)luaL_checkudata(L, 1, LBOX_MT);
    dsmlp_free(*box);
    *box = NULL;
    return 0;
}

static int g_dump(lua_State *L)
{
    dsmlp_graph *g = tograph(L, "dump");
    char **box = (char **)lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, LBOX_MT);
    if (dsmlp_graph_dump(g, box) != DSMLP_OK) return dsmlpL_lmod_error(L, dsmlp_graph_ctx(g));
    lua_pushstring(L, *box ? *box : "");
    dsmlp_free(*box);
    *box = NULL;
    return 1;
}

/* close() is idempotent, as __close and __gc must be. */
static int g_close(lua_State *L)
{
    lgraph *p = (lgraph *)luaL_checkudata(L, 1, LGRAPH_MT);
    lbudget *b = p->g ? budget(L) : NULL;
    if (b) b->live -= dsmlp_graph_size(p->g);
    dsmlp_graph_free(p->g);
    p->g = NULL;
    return 0;
}

static int g_tostring(lua_State *L)
{
    lgraph *p = (lgraph *)luaL_checkudata(L, 1, LGRAPH_MT);
    if (!p->g)
        lua_pushliteral(L, "dsmlp.graph (closed)");
    else
        lua_pushfstring(L, "dsmlp.graph '%s' (%d values)", dsmlp_graph_name(p->g), dsmlp_graph_size(p->g));
    return 1;
}

static const luaL_Reg graph_methods[] = {
    {"input", g_input},         {"param_vector", g_param_vector},
    {"param_matrix", g_param_matrix},
    {"add", g_add},             {"scale", g_scale},
    {"layernorm", g_layernorm}, {"rmsnorm", g_rmsnorm},
    {"matmul", g_matmul},       {"bias", g_bias},
    {"activation", g_activation},
    {"gelu", g_gelu},           {"gelu_tanh", g_gelu_tanh},
    {"gelu_erf", g_gelu_erf},   {"relu", g_relu},
    {"silu", g_silu},           {"gated", g_gated},
    {"dequant", g_dequant},     {"all_reduce", g_all_reduce},
    {"output", g_output},       {"name", g_name},
    {"size", g_size},           {"dump", g_dump},
    {"close", g_close},
    {NULL, NULL}
};

static const luaL_Reg graph_meta[] = {
    {"__gc", g_close}, {"__close", g_close}, {"__tostring", g_tostring},
    {"__index", NULL}, {"__metatable", NULL},
    {NULL, NULL}
};

/* ------------------------------------------------------------- values */

/* The value at idx and its (open) graph; raises if the graph is closed. */
static dsmlp_value tovalue(lua_State *L, const dsmlp_graph **g, const char *what)
{
    lvalue *v = (lvalue *)luaL_checkudata(L, 1, LVALUE_MT);
    lua_getiuservalue(L, 1, 1);
    lgraph *p = dsmlpL_lgraph_test(L, -1);
    lua_pop(L, 1);
    if (!p || !p->g) luaL_error(L, "%s: the value's graph is closed", what);
    *g = p->g;
    return v->id;
}

static void valueinfo(lua_State *L, dsmlp_value_info *info, const char *what)
{
    const dsmlp_graph *g;
    dsmlp_value id = tovalue(L, &g, what);
    if (dsmlp_value_get(g, id, info) != DSMLP_OK) dsmlpL_lmod_error(L, dsmlp_graph_ctx(g));
}

static int v_id(lua_State *L)
{
    lua_pushinteger(L, ((lvalue *)luaL_checkudata(L, 1, LVALUE_MT))->id);
    return 1;
}

static int v_graph(lua_State *L)
{
    luaL_checkudata(L, 1, LVALUE_MT);
    lua_getiuservalue(L, 1, 1);
    return 1;
}

static int v_dtype(lua_State *L)
{
    dsmlp_value_info info;
    valueinfo(L, &info, "dtype");
    lua_pushstring(L, dsmlp_dtype_name(info.dtype));
    return 1;
}

static int v_op(lua_State *L)
{
    dsmlp_value_info info;
    valueinfo(L, &info, "op");
    lua_pushstring(L, dsmlp_op_name(info.op));
    return 1;
}

/* Activations: "T", n. Vectors: n. Matrices: rows, cols (storage shape). */
static int v_shape(lua_State *L)
{
    dsmlp_value_info info;
    valueinfo(L, &info, "shape");
    if (info.tokens) {
        lua_pushliteral(L, "T");
        lua_pushinteger(L, info.dims[1]);
        return 2;
    }
    for (int i = 0; i < info.rank; i++) lua_pushinteger(L, info.dims[i]);
    return info.rank;
}

/* Feature count: the N of [T, N], a vector's length, a weight's columns. */
static int v_cols(lua_State *L)
{
    dsmlp_value_info info;
    valueinfo(L, &info, "cols");
    lua_pushinteger(L, info.tokens ? info.dims[1] : info.dims[info.rank - 1]);
    return 1;
}

static int v_eq(lua_State *L)
{
    lvalue *a = (lvalue *)luaL_testudata(L, 1, LVALUE_MT), *b = (lvalue *)luaL_testudata(L, 2, LVALUE_MT);
    int eq = 0;
    if (a && b && a->id == b->id) {
        lua_getiuservalue(L, 1, 1);
        lua_getiuservalue(L, 2, 1);
        eq = lua_rawequal(L, -1, -2);
    }
    lua_pushboolean(L, eq);
    return 1;
}

static int v_tostring(lua_State *L)
{
    lvalue *v = (lvalue *)luaL_checkudata(L, 1, LVALUE_MT);
    lua_getiuservalue(L, 1, 1);
    lgraph *p = dsmlpL_lgraph_test(L, -1);
    dsmlp_value_info info;
    if (!p || !p->g || dsmlp_value_get(p->g, v->id, &info) != DSMLP_OK) {
        lua_pushfstring(L, "dsmlp.value %%%d (graph closed)", (int)v->id);
        return 1;
    }
    const char *name = info.name && *info.name ? info.name : dsmlp_op_name(info.op);
    if (info.tokens)
        lua_pushfstring(L, "dsmlp.value %%%d %s %s [T,%I]", (int)v->id, name, dsmlp_dtype_name(info.dtype),
                        (lua_Integer)info.dims[1]);
    else if (info.rank == 1)
        lua_pushfstring(L, "dsmlp.value %%%d %s %s [%I]", (int)v->id, name, dsmlp_dtype_name(info.dtype),
                        (lua_Integer)info.dims[0]);
    else
        lua_pushfstring(L, "dsmlp.value %%%d %s %s [%I,%I] %s", (int)v->id, name, dsmlp_dtype_name(info.dtype),
                        (lua_Integer)info.dims[0], (lua_Integer)info.dims[1], layout_names[info.layout & 1]);
    return 1;
}

static const luaL_Reg value_methods[] = {
    {"id", v_id}, {"graph", v_graph}, {"dtype", v_dtype}, {"op", v_op},
    {"shape", v_shape}, {"cols", v_cols},
    {NULL, NULL}
};

static const luaL_Reg value_meta[] = {
    {"__eq", v_eq}, {"__tostring", v_tostring}, {"__index", NULL}, {"__metatable", NULL},
    {NULL, NULL}
};

/* ------------------------------------------------------------- lookup */

/* Levenshtein distance, for suggesting a method name; long keys are cut. */
static int edit_distance(const char *a, const char *b)
{
    enum { N = 40 };
    int la = (int)strnlen(a, N), lb = (int)strnlen(b, N);
    int prev[N + 1], cur[N + 1];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

/* __index: the method, or an error naming the closest one, so a typo such
** as g:layernrom(...) says what was meant instead of "call a nil value".
** Upvalues: the methods table and the type's name. */
static int index_method(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *tname = lua_tostring(L, lua_upvalueindex(2));
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "%s has no field of type %s (it has only methods)", tname, luaL_typename(L, 2));
    const char *key = lua_tostring(L, 2), *best = NULL;
    int bestd = 1 << 30;
    lua_pushnil(L);
    while (lua_next(L, lua_upvalueindex(1))) {
        lua_pop(L, 1);
        const char *m = lua_tostring(L, -1);
        int d = edit_distance(key, m);
        if (d < bestd || (d == bestd && best && strcmp(m, best) < 0)) bestd = d, best = m;
    }
    if (best && bestd <= 3)
        return luaL_error(L, "%s has no method '%s' (did you mean '%s'?)", tname, key, best);
    return luaL_error(L, "%s has no method '%s'", tname, key);
}

/* ------------------------------------------------------------- setup */

static void newmeta(lua_State *L, const char *tname, const luaL_Reg *meta, const luaL_Reg *methods)
{
    if (!luaL_newmetatable(L, tname)) {   /* already registered */
        lua_pop(L, 1);
        return;
    }
    luaL_setfuncs(L, meta, 0);
    if (methods) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_pushstring(L, tname);
        lua_pushcclosure(L, index_method, 2);
        lua_setfield(L, -2, "__index");
    }
    lua_pushstring(L, tname);   /* getmetatable() sees a name, not the table */
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void dsmlpL_lgraph_open(lua_State *L)
{
    static const luaL_Reg box_meta[] = {{"__gc", box_gc}, {NULL, NULL}};
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &budget_key) == LUA_TNIL) {
        lbudget *b = (lbudget *)lua_newuserdatauv(L, sizeof *b, 0);
        b->live = 0;
        lua_rawsetp(L, LUA_REGISTRYINDEX, &budget_key);
    }
    lua_pop(L, 1);
    newmeta(L, LGRAPH_MT, graph_meta, graph_methods);
    newmeta(L, LVALUE_MT, value_meta, value_methods);
    newmeta(L, LBOX_MT, box_meta, NULL);
}
