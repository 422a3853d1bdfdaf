/*
** lsandbox.c — the Lua state a model script runs in: a memory-capped
** allocator, an instruction-count hook, and the libraries scripts may use
** (base without dofile/loadfile and with text-only load, string, table,
** math, utf8 and dsmlp; everything else only when the host allows I/O).
*/
#include "lsandbox.h"
#include "lmod.h"
/* embed.h has a slash-star inside a comment, which -Wcomment flags */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "embed.h"
#pragma GCC diagnostic pop

#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------- limits */

static void sandbox_hook(lua_State *L, lua_Debug *ar);

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox_limits *s = (sandbox_limits *)ud;
    size_t old = ptr ? osize : 0;   /* for a new block osize is a type tag */
    if (nsize == 0) {
        free(ptr);
        s->mem -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > s->mem_max - s->mem) {   /* over the cap */
        s->capped = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    s->mem = s->mem - old + nsize;
    return p;
}

/* The innermost frame that belongs to the script (not to dsmlp.lua), so
** the message points at the user's loop, not at library code it calls. */
static int script_frame(lua_State *L, lua_Debug *ar, const char *lib_source)
{
    for (int level = 0; lua_getstack(L, level, ar); level++) {
        if (!lua_getinfo(L, "Sl", ar)) break;
        if (ar->currentline > 0 && (!lib_source || strcmp(ar->source, lib_source) != 0)) return 1;
    }
    return 0;
}

/* Raises the instruction-limit error at the script's line. From now on every
** instruction fails, so a pcall in the script cannot swallow the error and
** keep running. */
static int over_limit(lua_State *L, sandbox_limits *s)
{
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
    s->exceeded = 1;
    lua_Debug where;
    if (script_frame(L, &where, s->lib_source))
        lua_pushfstring(L, "%s:%d: ", where.short_src, where.currentline);
    else
        lua_pushliteral(L, "");
    lua_pushfstring(L, "instruction limit exceeded (%I instructions); the script runs too long or loops forever",
                    (lua_Integer)s->limit);
    lua_concat(L, 2);
    return lua_error(L);
}

static void sandbox_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    lua_getallocf(L, &ud);
    sandbox_limits *s = (sandbox_limits *)ud;
    (void)ar;
    s->used += s->chunk;
    if (s->used < s->limit) return;
    over_limit(L, s);
}

void dsmlpL_sandbox_charge(lua_State *L, double steps)
{
    void *ud;
    lua_getallocf(L, &ud);
    sandbox_limits *s = (sandbox_limits *)ud;
    if (!(steps < (double)(s->limit - s->used))) {   /* NaN too */
        s->used = s->limit;
        over_limit(L, s);
    }
    s->used += (int64_t)steps;
}

lua_State *dsmlpL_sandbox_new(sandbox_limits *s, int64_t instruction_limit)
{
    memset(s, 0, sizeof *s);
    s->mem_max = SANDBOX_MEM_MAX;
    s->limit = instruction_limit > 0 ? instruction_limit : SANDBOX_DEFAULT_INSTRUCTIONS;
    s->chunk = s->limit < 10000 ? (int)s->limit : 10000;
    lua_State *L = lua_newstate(sandbox_alloc, s);
    if (L) lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, s->chunk);
    return L;
}

/* ------------------------------------------------------------- libraries */

/* require(name) in the sandbox: only modules already loaded (dsmlp and the
** opened standard libraries); there is no search path. */
static int sandbox_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) == LUA_TNIL)
        return luaL_error(L, "module '%s' is not available to scripts (available: dsmlp, string, table, math, utf8)",
                          name);
    return 1;
}

/* load(chunk [, chunkname [, mode [, env]]]) restricted to text chunks. */
static int sandbox_load(lua_State *L)
{
    int n = lua_gettop(L);
    if (n >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);
        if (strchr(mode, 'b')) return luaL_error(L, "load: binary chunks are not allowed in scripts");
    }
    if (n < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void open_sandboxed(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},  {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},  {NULL, NULL}
    };
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    lua_pushnil(L);
    lua_setfield(L, -2, "dofile");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadfile");
    lua_getfield(L, -1, "load");
    lua_pushcclosure(L, sandbox_load, 1);
    lua_setfield(L, -2, "load");
    lua_pushcfunction(L, sandbox_require);
    lua_setfield(L, -2, "require");
    lua_pop(L, 1);
}

/* Loads dsmlp.lua (built in, or from lua_path: the file or its directory)
** and calls it with the C module; leaves the module table on the stack. */
static void open_dsmlp(lua_State *L, const char *lua_path, sandbox_limits *s)
{
    dsmlpL_luaopen_dsmlp_core(L);
    int st;
    if (lua_path) {
        struct stat sb;
        if (stat(lua_path, &sb) == 0 && S_ISDIR(sb.st_mode))
            lua_pushfstring(L, "%s/dsmlp.lua", lua_path);
        else
            lua_pushstring(L, lua_path);
        const char *file = lua_tostring(L, -1);
        lua_pushfstring(L, "@%s", file);
        s->lib_source = lua_tostring(L, -1);   /* anchored in the registry below */
        lua_setfield(L, LUA_REGISTRYINDEX, "dsmlp.lib_source");
        st = luaL_loadfilex(L, file, "t");
        lua_remove(L, -2);
    } else {
        const struct embed_file *f = embed_find(dsmlpB_embedded_lua, "dsmlp.lua");
        if (!f) luaL_error(L, "dsmlp.lua is not built into this library");
        s->lib_source = "@dsmlp.lua";
        st = luaL_loadbufferx(L, f->text, f->len, s->lib_source, "t");
    }
    if (st != LUA_OK) lua_error(L);
    lua_insert(L, -2);          /* chunk, core */
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) luaL_error(L, "dsmlp.lua did not return the module table");
}

void dsmlpL_sandbox_open(lua_State *L, int allow_io, const char *lua_path)
{
    void *ud;
    lua_getallocf(L, &ud);
    if (allow_io)
        luaL_openlibs(L);
    else
        open_sandboxed(L);
    dsmlpL_sandbox_bound_libs(L);
    open_dsmlp(L, lua_path, (sandbox_limits *)ud);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "dsmlp");
    lua_pop(L, 1);
    lua_setglobal(L, "dsmlp");
}
