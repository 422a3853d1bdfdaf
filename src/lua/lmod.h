/*
** lmod.h — the C side of the Lua `dsmlp` module (internal to src/lua/).
** Graphs are full userdata "dsmlp.graph" holding a dsmlp_graph* (NULL once
** closed or handed to a dsmlp_layers); values are full userdata
** "dsmlp.value" holding an index, with their graph as user value so a live
** value keeps its graph alive.
*/
#ifndef DSMLP_LMOD_H
#define DSMLP_LMOD_H

#include <lua.h>
#include <lauxlib.h>

#include "dsmlp.h"

#define LGRAPH_MT "dsmlp.graph"
#define LVALUE_MT "dsmlp.value"
#define LBOX_MT   "dsmlp.cbuffer"

typedef struct lgraph {
    dsmlp_graph *g;   /* NULL: closed (or moved into a layers result) */
} lgraph;

typedef struct lvalue {
    dsmlp_value id;
} lvalue;

/* Values all live graphs of one Lua state may hold together. Graph memory
** is C memory the Lua allocator's cap does not see; a real model needs a few
** thousand values, so this only stops runaway scripts. */
#define LMOD_VALUES_MAX ((int64_t)1 << 18)

/* The context scripts build on; set by the host before opening the module. */
void       dsmlpL_lmod_set_ctx(lua_State *L, dsmlp_ctx *ctx);
dsmlp_ctx *dsmlpL_lmod_ctx(lua_State *L);

/* Registers the graph and value metatables (idempotent). */
void    dsmlpL_lgraph_open(lua_State *L);
/* Pushes a new, closed graph userdata (created closed so a memory error
** while building it leaves nothing to free). */
lgraph *dsmlpL_lgraph_push_new(lua_State *L);
/* Graph userdata at idx, or NULL (closed graphs included). */
lgraph *dsmlpL_lgraph_test(lua_State *L, int idx);
/* Adds a new graph's values to the state's budget: 0, or 1 with a message
** pushed when they do not fit (the caller frees the graph). */
int     dsmlpL_lgraph_charge(lua_State *L, dsmlp_graph *g, const char *what);
/* Raises the C context's last error as a Lua error at the caller's line. */
int     dsmlpL_lmod_error(lua_State *L, dsmlp_ctx *ctx);

/* Model files (lmodel.c): the script's directory for relative paths, the
** dsmlp.weights metatable, and hf_raw, attach_tensors, weights. */
void dsmlpL_lmod_set_script_dir(lua_State *L, const char *script_path);
void dsmlpL_lmodel_open(lua_State *L);
extern const luaL_Reg dsmlpL_lmodel_funcs[];

/* Opens the C module table (graph, mlp_raw, layer, public, ...). */
int dsmlpL_luaopen_dsmlp_core(lua_State *L);

/* Registry list of {name, graph} registered by dsmlp.layer. */
#define LMOD_LAYERS_KEY "dsmlp.layers"

#endif
