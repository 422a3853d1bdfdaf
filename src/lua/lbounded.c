/*
** lbounded.c — library calls whose cost the instruction limit cannot see.
**
** The sandbox's hook counts VM instructions, so one C call that works for
** minutes (a backtracking pattern, ("").rep("", 1e18), table.move over 10^15
** slots) would never be stopped. Each such function is wrapped: before the
** original runs, an upper bound of its work is charged to the script's
** instruction budget (dsmlpL_sandbox_charge), and a call whose bound does not fit
** is refused with the instruction-limit error. Every other library function
** is linear in data the memory cap bounds, or calls back into Lua (counted).
**
** Pattern cost (Lua 5.4's matcher, lstrlib.c): from one start, an item with
** `*`, `+` or `-` retries the rest of the pattern once per character it can
** take, at most the longest run of subject characters its class matches; `?`
** tries twice; %b and back-references scan at most the subject. The bound is
** the product over the items, times the number of starts.
*/
#include "lsandbox.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <string.h>

/* -------------------------------------------------------- pattern bound */

/* 1 when c belongs to the class letter cl (%a, %d, ...), as Lua defines them. */
static int class_has(int cl, unsigned char c)
{
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    default: return c == (unsigned char)cl;   /* %. %% ...: the character itself */
    }
    if (isupper(cl)) r = !r;
    return r != 0;
}

/* The longest run of subject characters one single-character item can take.
** Sets ([...]) and '.' are counted as the whole subject: an over-estimate. */
static double item_run(const char *p, size_t plen, const char *s, size_t n)
{
    if (plen == 0 || p[0] == '.' || p[0] == '[') return (double)n;
    int esc = p[0] == '%' && plen > 1;
    size_t best = 0, cur = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int in = esc ? class_has((unsigned char)p[1], c) : c == (unsigned char)p[0];
        cur = in ? cur + 1 : 0;
        if (cur > best) best = cur;
    }
    return (double)best;
}

/* End of the single-character item at p (a class, a set or one char). */
static size_t item_end(const char *p, size_t plen, size_t i)
{
    if (p[i] == '%') return i + 2 <= plen ? i + 2 : plen;
    if (p[i] != '[') return i + 1;
    size_t j = i + 1;
    if (j < plen && p[j] == '^') j++;
    do {   /* the first character after [ or [^ belongs to the set, even ']' */
        if (j >= plen) return plen;
        if (p[j++] == '%' && j < plen) j++;
    } while (j < plen && p[j] != ']');
    return j < plen ? j + 1 : plen;
}

/* Upper bound of the matcher's steps from one start, items from i on. */
static double steps_from(const char *p, size_t plen, size_t i, const char *s, size_t n, int depth)
{
    if (i >= plen || depth > 400) return 1;
    double rest;
    char c = p[i];
    if (c == '(' || c == ')') return 1 + steps_from(p, plen, i + 1, s, n, depth + 1);
    if (c == '%' && i + 1 < plen) {
        char d = p[i + 1];
        if (d == 'b') return (double)n + steps_from(p, plen, i + 4 <= plen ? i + 4 : plen, s, n, depth + 1);
        if (d == 'f') {
            size_t e = i + 2 < plen ? item_end(p, plen, i + 2) : plen;
            return 1 + steps_from(p, plen, e, s, n, depth + 1);
        }
        if (d >= '0' && d <= '9') return (double)n + steps_from(p, plen, i + 2, s, n, depth + 1);
    }
    size_t e = item_end(p, plen, i);
    char q = e < plen ? p[e] : '\0';
    if (q == '*' || q == '+' || q == '-') {
        double run = item_run(p + i, e - i, s, n);
        rest = steps_from(p, plen, e + 1, s, n, depth + 1);
        return (run + 1) * (1 + rest);
    }
    if (q == '?') return 1 + 2 * steps_from(p, plen, e + 1, s, n, depth + 1);
    return 1 + steps_from(p, plen, e, s, n, depth + 1);
}

static int has_specials(const char *p, size_t plen)
{
    for (size_t i = 0; i < plen; i++)
        if (strchr("^$*+?.([%-", p[i])) return 1;
    return 0;
}

/* Bound of one pattern call on s: starts × steps per start. `plain` skips
** the matcher (find's 4th argument, or a pattern without specials). */
static double pattern_cost(const char *s, size_t n, const char *p, size_t plen, int plain, int anchors,
                           double starts_factor)
{
    if (plain || !has_specials(p, plen)) return ((double)n + 1) * ((double)plen + 1);   /* memchr + memcmp */
    double starts = starts_factor * ((double)n + 1);
    if (anchors && plen > 0 && p[0] == '^') {
        starts = 1;
        p++, plen--;
    }
    return starts * steps_from(p, plen, 0, s, n, 0);
}

/* ------------------------------------------------------------ wrappers */

/* Calls the original (upvalue 1) with every argument, after charging. */
static int call_original(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* find, match, gmatch, gsub: upvalue 2 says which (and how it starts). */
static int bounded_pattern(lua_State *L)
{
    size_t n, plen;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *p = luaL_checklstring(L, 2, &plen);
    int which = (int)lua_tointeger(L, lua_upvalueindex(2));   /* 0 find, 1 match, 2 gmatch, 3 gsub */
    int plain = which == 0 && lua_toboolean(L, 4);
    double factor = which >= 2 ? 2 : 1;   /* gmatch/gsub: empty matches also step by one */
    dsmlpL_sandbox_charge(L, pattern_cost(s, n, p, plen, plain, which != 2, factor));
    return call_original(L);
}

/* string.rep: n copies of s (+ sep); with both empty the original loops n
** times producing nothing, so that case is answered here. */
static int bounded_rep(lua_State *L)
{
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && l + lsep == 0) {
        dsmlpL_sandbox_charge(L, 1);
        lua_pushliteral(L, "");
        return 1;
    }
    return call_original(L);
}

/* table.move(a1, f, e, t [, a2]): e - f + 1 reads and writes. */
static int bounded_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f) dsmlpL_sandbox_charge(L, (double)e - (double)f + 1);
    return call_original(L);
}

/* table.insert / table.remove shift up to #t elements; table.sort compares
** about #t·log2(#t) times. #t may come from __len (a Lua call, counted). */
static int bounded_by_len(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    double len = (double)luaL_len(L, 1);
    int sort = (int)lua_tointeger(L, lua_upvalueindex(2));
    if (len > 0) dsmlpL_sandbox_charge(L, sort ? len * (log2(len) + 1) : len);
    return call_original(L);
}

/* Replaces lib[name] (lib at the top of the stack) by fn over the original. */
static void wrap(lua_State *L, const char *name, lua_CFunction fn, int tag)
{
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushinteger(L, tag);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, -2, name);
}

void dsmlpL_sandbox_bound_libs(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, LUA_STRLIBNAME) == LUA_TTABLE) {   /* also the strings' __index */
        wrap(L, "find", bounded_pattern, 0);
        wrap(L, "match", bounded_pattern, 1);
        wrap(L, "gmatch", bounded_pattern, 2);
        wrap(L, "gsub", bounded_pattern, 3);
        wrap(L, "rep", bounded_rep, 0);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, LUA_TABLIBNAME) == LUA_TTABLE) {
        wrap(L, "move", bounded_move, 0);
        wrap(L, "insert", bounded_by_len, 0);
        wrap(L, "remove", bounded_by_len, 0);
        wrap(L, "sort", bounded_by_len, 1);
    }
    lua_pop(L, 2);
}
