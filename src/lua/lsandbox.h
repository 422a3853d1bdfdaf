/*
** lsandbox.h — creating the Lua state a model script runs in (lsandbox.c).
*/
#ifndef DSMLP_LSANDBOX_H
#define DSMLP_LSANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#define SANDBOX_DEFAULT_INSTRUCTIONS ((int64_t)1000000000)
/* Memory a script may hold: far above any model description, low enough
** that string.rep bombs fail fast with an error instead of swapping. */
#define SANDBOX_MEM_MAX ((size_t)1 << 30)

/* Per-state accounting; the allocator's user data, so the hook finds it. */
typedef struct sandbox_limits {
    size_t      mem, mem_max;     /* bytes held by Lua, and the cap       */
    int64_t     limit, used;      /* VM instructions allowed and counted   */
    int         chunk;            /* instructions between hook calls       */
    int         exceeded;         /* the instruction limit was hit         */
    int         capped;           /* an allocation was refused by mem_max  */
    const char *lib_source;       /* chunkname of dsmlp.lua ("@dsmlp.lua") */
} sandbox_limits;

/* A fresh state with the allocator and the instruction hook; NULL on OOM. */
lua_State *dsmlpL_sandbox_new(sandbox_limits *s, int64_t instruction_limit);
/* Opens the libraries (all of them when allow_io) and the dsmlp module
** (global `dsmlp` and require "dsmlp"). Raises on error: call protected. */
void       dsmlpL_sandbox_open(lua_State *L, int allow_io, const char *lua_path);
/* Charges a C call's bounded work to the instruction budget; raises the
** instruction-limit error when it does not fit (lbounded.c uses it). */
void       dsmlpL_sandbox_charge(lua_State *L, double steps);
/* Wraps the library functions whose cost the VM hook cannot see, so that
** each call is charged before it runs (lbounded.c). */
void       dsmlpL_sandbox_bound_libs(lua_State *L);

#endif
