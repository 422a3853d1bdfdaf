/* progress.c — progress display: a bar on a terminal, plain lines otherwise. */
#include "cli.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 30

struct progress {
    pthread_mutex_t mu;
    int             total, done, tty, quiet;
};

static void draw_bar(const progress *p, const char *name, const char *arch)
{
    int fill = p->total ? (int)((long)BAR_WIDTH * p->done / p->total) : BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    /* \033[K clears what a longer previous line left behind. */
    fprintf(stderr, "\r[%s] %d/%d kernels  %.40s %s\033[K", bar, p->done, p->total, name ? name : "",
            arch ? arch : "");
    fflush(stderr);
}

progress *progress_new(int total, int quiet)
{
    progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->total = total;
    p->quiet = quiet;
    /* NO_COLOR (no-color.org) and dumb terminals get plain lines: no escape
    ** sequences at all. */
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    p->tty = isatty(STDERR_FILENO) && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
    if (p->tty && !quiet && total) draw_bar(p, "", "");
    return p;
}

void progress_step(progress *p, const char *name, const char *arch, int cached, double secs)
{
    if (!p || p->quiet) return;
    pthread_mutex_lock(&p->mu);
    p->done++;
    if (p->tty)
        draw_bar(p, name, arch);
    else if (!cached)   /* a line per NVRTC compile; hits only count */
        fprintf(stderr, "[%d/%d] compiled %s %s (%.2f s)\n", p->done, p->total, name, arch, secs);
    pthread_mutex_unlock(&p->mu);
}

void progress_done(progress *p)
{
    if (!p) return;
    if (!p->quiet && p->tty && p->total) {
        draw_bar(p, "", "");
        fputc('\n', stderr);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}
