/* embed.h — text files compiled into the library (cmake/embed.cmake). */
#ifndef DSMLP_EMBED_H
#define DSMLP_EMBED_H

#include <stddef.h>

struct embed_file { const char *name; const char *text; size_t len; };

extern const struct embed_file dsmlpB_embedded_templates[];  /* templates/: .cu and .cuh files */
extern const int dsmlpB_embedded_templates_count;
extern const struct embed_file dsmlpB_embedded_lua[];        /* lua/: .lua files         */
extern const int dsmlpB_embedded_lua_count;

/* Finds an embedded file by base name in a table; NULL if absent. */
static inline const struct embed_file *embed_find(const struct embed_file *table, const char *name)
{
    for (; table->name; table++) {
        const char *a = table->name, *b = name;
        while (*a && *a == *b) a++, b++;
        if (*a == *b) return table;
    }
    return NULL;
}

#endif
