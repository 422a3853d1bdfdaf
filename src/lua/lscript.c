/*
** lscript.c — dsmlp_script_load: runs a model script in a fresh sandboxed
** state and moves the graphs it defines into a dsmlp_layers. Every path ends
** with lua_close; graphs still owned by userdata are freed by their __gc.
*/
#include "lmod.h"
#include "lsandbox.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct layer {
    char        *name;
    dsmlp_graph *g;
    int          owner;   /* 0: same graph as an earlier entry */
    char       **opts;    /* compile options "name=value" (dsmlp.layer's third argument) */
    int          nopts;
};

struct dsmlp_layers {
    int           n;
    struct layer *v;
};

void dsmlp_script_options_default(dsmlp_script_options *o)
{
    if (!o) return;
    o->allow_io = 0;
    o->instruction_limit = SANDBOX_DEFAULT_INSTRUCTIONS;
    o->lua_path = NULL;
    o->quantize = NULL;
}

typedef struct script_job {
    const char *path;        /* file to run, or NULL for source */
    const char *source;
    size_t      len;
    const char *chunkname;   /* "@name" form */
    dsmlp_script_options o;  /* the caller's, or the defaults */
    int         file_error;  /* the script file could not be read */
    int         option_error; /* o.quantize was refused */
} script_job;

/* ------------------------------------------------------------- collecting */

/* Appends {name, graph, options} for the graph at index gi (options: an
** array at oi, or 0) to the list at li. */
static void add_layer_opts(lua_State *L, int li, int namei, int gi, int oi, const char *chunk)
{
    const char *name = lua_tostring(L, namei);
    lgraph *p = dsmlpL_lgraph_test(L, gi);
    if (!p) luaL_error(L, "%s: layer '%s' is a %s, not a dsmlp.graph", chunk, name, luaL_typename(L, gi));
    else if (!p->g) luaL_error(L, "%s: layer '%s': graph is closed", chunk, name);
    lua_Integer n = (lua_Integer)lua_rawlen(L, li);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, li, i);
        lua_getfield(L, -1, "name");
        if (strcmp(lua_tostring(L, -1), name) == 0)
            luaL_error(L, "%s: layer '%s' is defined twice (give layers distinct names: return {name = graph})",
                       chunk, name);
        lua_pop(L, 2);
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, namei);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, gi);
    lua_setfield(L, -2, "graph");
    if (oi) {
        lua_pushvalue(L, oi);
        lua_setfield(L, -2, "options");
    }
    lua_rawseti(L, li, n + 1);
}

static void add_layer(lua_State *L, int li, int namei, int gi, const char *chunk)
{
    add_layer_opts(L, li, namei, gi, 0, chunk);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The script's return value: a graph, an array of graphs (named after the
** graphs), or a table {name = graph}; string keys are taken in sorted order
** so the layer order is deterministic. */
static void collect_result(lua_State *L, int li, int ri, const char *chunk)
{
    if (dsmlpL_lgraph_test(L, ri)) {
        lgraph *p = dsmlpL_lgraph_test(L, ri);
        if (!p->g) luaL_error(L, "%s: the returned graph is closed", chunk);
        lua_pushstring(L, dsmlp_graph_name(p->g));
        add_layer(L, li, lua_gettop(L), ri, chunk);
        lua_pop(L, 1);
        return;
    }
    if (lua_isnil(L, ri)) return;
    if (!lua_istable(L, ri))
        luaL_error(L, "%s: the script returned a %s; return a table of layers {name = graph} or call dsmlp.layer",
                   chunk, luaL_typename(L, ri));
    lua_Integer n = (lua_Integer)lua_rawlen(L, ri);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, ri, i);
        lgraph *p = dsmlpL_lgraph_test(L, -1);
        if (!p) luaL_error(L, "%s: returned layer [%d] is a %s, not a dsmlp.graph", chunk, (int)i, luaL_typename(L, -1));
        else if (!p->g) luaL_error(L, "%s: returned layer [%d]: graph is closed", chunk, (int)i);
        lua_pushstring(L, dsmlp_graph_name(p->g));
        add_layer(L, li, lua_gettop(L), lua_gettop(L) - 1, chunk);
        lua_pop(L, 2);
    }
    /* string keys, sorted; anything else is a mistake worth reporting */
    int nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, ri)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) { nkeys++; continue; }
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= n) continue;
        luaL_error(L, "%s: the returned table has a key of type %s; layer names must be strings", chunk,
                   luaL_typename(L, -1));
    }
    if (!nkeys) return;
    const char **keys = (const char **)lua_newuserdatauv(L, sizeof *keys * (size_t)nkeys, 0);
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, ri)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) keys[k++] = lua_tostring(L, -1);   /* anchored by the table */
    }
    qsort(keys, (size_t)nkeys, sizeof *keys, cmp_str);
    for (k = 0; k < nkeys; k++) {
        lua_pushstring(L, keys[k]);
        lua_rawget(L, ri);
        lua_pushstring(L, keys[k]);
        add_layer(L, li, lua_gettop(L), lua_gettop(L) - 1, chunk);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);   /* keys */
}

/* ------------------------------------------------------------- running */

/* Runs protected: opens the sandbox, runs the script, returns the list of
** {name, graph} entries. */
static int script_main(lua_State *L)
{
    script_job *job = (script_job *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    dsmlpL_sandbox_open(L, job->o.allow_io, job->o.lua_path);
    dsmlpL_lmod_set_script_dir(L, job->path);   /* dsmlp.hf("config.json") next to the script */
    lua_settop(L, 0);
    if (job->o.quantize) {   /* checked now, not only when a layer uses it */
        lua_getglobal(L, "dsmlp");
        lua_getfield(L, -1, "set_default_quant");
        lua_pushstring(L, job->o.quantize);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            job->option_error = 1;
            return lua_error(L);
        }
        lua_settop(L, 0);
    }
    int st = job->path ? luaL_loadfilex(L, job->path, "t")
                       : luaL_loadbufferx(L, job->source, job->len, job->chunkname, "t");
    if (st == LUA_ERRFILE) job->file_error = 1;
    if (st != LUA_OK) return lua_error(L);
    lua_call(L, 0, 1);                    /* result at 1 */
    const char *chunk = job->chunkname + (job->chunkname[0] == '@' || job->chunkname[0] == '=');
    lua_newtable(L);                      /* layer list at 2 */
    if (lua_getfield(L, LUA_REGISTRYINDEX, LMOD_LAYERS_KEY) == LUA_TTABLE) {   /* dsmlp.layer calls first */
        lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 3, i);
            lua_getfield(L, -1, "name");
            lua_getfield(L, -2, "graph");
            int has_opts = lua_getfield(L, -3, "options") == LUA_TTABLE;
            add_layer_opts(L, 2, lua_gettop(L) - 2, lua_gettop(L) - 1, has_opts ? lua_gettop(L) : 0, chunk);
            lua_pop(L, 4);
        }
    }
    lua_settop(L, 2);
    collect_result(L, 2, 1, chunk);
    if (lua_rawlen(L, 2) == 0)
        luaL_error(L, "%s: the script defined no layers (return a table {name = graph, ...} or call dsmlp.layer)",
                   chunk);
    return 1;
}

/* Error objects that are not strings still get a readable message. */
static int script_msgh(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    return 1;
}

/* Moves the graphs listed at the top of the stack into a new dsmlp_layers.
** Only raw reads here: no Lua error can interrupt it. */
static dsmlp_status take_layers(lua_State *L, dsmlp_ctx *ctx, dsmlp_layers **out)
{
    int n = (int)lua_rawlen(L, -1);
    dsmlp_layers *ls = calloc(1, sizeof *ls);
    struct layer *v = calloc((size_t)n, sizeof *v);
    lgraph **ud = calloc((size_t)n, sizeof *ud);
    int ok = ls && v && ud;
    for (int i = 0; ok && i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        lua_pushliteral(L, "name");   /* short strings are interned: no allocation */
        lua_rawget(L, -2);
        v[i].name = strdup(lua_tostring(L, -1));
        lua_pushliteral(L, "graph");
        lua_rawget(L, -3);
        ud[i] = (lgraph *)lua_touserdata(L, -1);
        lua_pushliteral(L, "options");
        lua_rawget(L, -4);
        if (lua_type(L, -1) == LUA_TTABLE) {   /* an array of checked "name=value" strings */
            int no = (int)lua_rawlen(L, -1);
            v[i].opts = calloc((size_t)no + 1, sizeof *v[i].opts);
            for (int k = 0; v[i].opts && k < no; k++) {
                lua_rawgeti(L, -1, k + 1);
                if ((v[i].opts[k] = strdup(lua_tostring(L, -1)))) v[i].nopts++;
                lua_pop(L, 1);
            }
            ok = v[i].opts && v[i].nopts == no;
        }
        lua_pop(L, 4);
        ok = ok && v[i].name != NULL;
    }
    if (!ok) {
        for (int i = 0; v && i < n; i++) {
            free(v[i].name);
            for (int k = 0; k < v[i].nopts; k++) free(v[i].opts[k]);
            free(v[i].opts);
        }
        free(v);
        free(ls);
        free(ud);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_script_load: out of memory collecting %d layers", n);
    }
    for (int i = 0; i < n; i++) {
        v[i].g = ud[i]->g;
        v[i].owner = 1;
        for (int j = 0; j < i; j++)
            if (v[j].g == v[i].g) v[i].owner = 0;
    }
    for (int i = 0; i < n; i++) ud[i]->g = NULL;   /* the layers own them now */
    free(ud);
    ls->n = n;
    ls->v = v;
    *out = ls;
    return DSMLP_OK;
}

static dsmlp_status script_run(dsmlp_ctx *ctx, script_job *job, dsmlp_layers **out)
{
    sandbox_limits limits;
    lua_State *L = dsmlpL_sandbox_new(&limits, job->o.instruction_limit);
    if (!L) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_script_load: cannot create a Lua state");
    dsmlpL_lmod_set_ctx(L, ctx);
    lua_pushcfunction(L, script_msgh);
    lua_pushcfunction(L, script_main);
    lua_pushlightuserdata(L, job);
    int st = lua_pcall(L, 1, 1, 1);
    dsmlp_status s;
    if (st == LUA_OK) {
        s = take_layers(L, ctx, out);
        if (s == DSMLP_OK) dsmlpB_err_clear(ctx);
    } else {
        const char *msg = lua_tostring(L, -1);
        const char *chunk = job->chunkname + (job->chunkname[0] == '@' || job->chunkname[0] == '=');
        if (st == LUA_ERRMEM && limits.capped)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_SCRIPT, "%s: script ran out of memory (scripts may hold at most %zu MiB)",
                        chunk, limits.mem_max >> 20);
        else if (st == LUA_ERRMEM)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "%s: out of memory running the script", chunk);
        else if (job->file_error)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_IO, "%s", msg ? msg : "cannot read the script");
        else if (job->option_error)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_script_options.quantize: %s", msg ? msg : "refused");
        else
            s = dsmlpB_err_set(ctx, DSMLP_ERR_SCRIPT, "%s", msg ? msg : "script failed");
    }
    lua_close(L);
    return s;
}

dsmlp_status dsmlp_script_load(dsmlp_ctx *ctx, const char *path, const dsmlp_script_options *o,
                               dsmlp_layers **out)
{
    if (!ctx || !path || !out)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_script_load: %s is NULL",
                       !ctx ? "ctx" : !path ? "path" : "out");
    *out = NULL;
    size_t len = strlen(path);
    char *chunkname = malloc(len + 2);
    if (!chunkname) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_script_load: out of memory");
    chunkname[0] = '@';
    memcpy(chunkname + 1, path, len + 1);
    script_job job = {.path = path, .chunkname = chunkname};
    if (o)
        job.o = *o;
    else
        dsmlp_script_options_default(&job.o);
    dsmlp_status s = script_run(ctx, &job, out);
    free(chunkname);
    return s;
}

dsmlp_status dsmlp_script_load_string(dsmlp_ctx *ctx, const char *source, const char *chunkname,
                                      const dsmlp_script_options *o, dsmlp_layers **out)
{
    if (!ctx || !source || !out)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_script_load_string: %s is NULL",
                       !ctx ? "ctx" : !source ? "source" : "out");
    *out = NULL;
    if (!chunkname || !*chunkname) chunkname = "=script";
    char *name = NULL;
    if (chunkname[0] != '@' && chunkname[0] != '=') {   /* plain name: shown as given */
        size_t len = strlen(chunkname);
        if (!(name = malloc(len + 2))) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_script_load_string: out of memory");
        name[0] = '@';
        memcpy(name + 1, chunkname, len + 1);
    }
    script_job job = {.source = source, .len = strlen(source), .chunkname = name ? name : chunkname};
    if (o)
        job.o = *o;
    else
        dsmlp_script_options_default(&job.o);
    dsmlp_status s = script_run(ctx, &job, out);
    free(name);
    return s;
}

/* ------------------------------------------------------------- layers */

int dsmlp_layers_count(const dsmlp_layers *l) { return l ? l->n : 0; }

const char *dsmlp_layers_name(const dsmlp_layers *l, int i)
{
    return l && i >= 0 && i < l->n ? l->v[i].name : NULL;
}

const dsmlp_graph *dsmlp_layers_graph(const dsmlp_layers *l, int i)
{
    return l && i >= 0 && i < l->n ? l->v[i].g : NULL;
}

dsmlp_status dsmlp_layers_options(const dsmlp_layers *l, int i, dsmlp_ctx *ctx, dsmlp_compile_options *o)
{
    if (!l || i < 0 || i >= l->n || !o)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_layers_options: no layer %d or no options", i);
    for (int k = 0; k < l->v[i].nopts; k++) {
        dsmlp_status s = dsmlp_compile_options_parse(ctx, o, l->v[i].opts[k]);
        if (s != DSMLP_OK) return s;
    }
    return DSMLP_OK;
}

void dsmlp_layers_free(dsmlp_layers *l)
{
    if (!l) return;
    for (int i = 0; i < l->n; i++) {
        if (l->v[i].owner) dsmlp_graph_free(l->v[i].g);
        free(l->v[i].name);
        for (int k = 0; k < l->v[i].nopts; k++) free(l->v[i].opts[k]);
        free(l->v[i].opts);
    }
    free(l->v);
    free(l);
}
