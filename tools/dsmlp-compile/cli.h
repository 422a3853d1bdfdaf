/*
** cli.h — dsmlp-compile's internal interfaces: options, progress display,
** the parallel kernel compiler, store commands and verification.
** Everything here uses only the public API (include/dsmlp.h).
*/
#ifndef DSMLP_CLI_H
#define DSMLP_CLI_H

#include <stddef.h>
#include "dsmlp.h"

/* Exit codes (documented in --help and docs/cli.md; keep them distinct). */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_OTHER = 1,     /* out of memory, internal error             */
    CLI_EXIT_USAGE = 2,     /* bad command line                          */
    CLI_EXIT_SCRIPT = 3,    /* model script missing, unreadable or wrong */
    CLI_EXIT_COMPILE = 4,   /* planning or NVRTC compilation failed      */
    CLI_EXIT_STORE = 5,     /* kernel store / bundle I/O, corrupt or foreign bundle */
    CLI_EXIT_VERIFY = 6,    /* --verify: a layer exceeded its tolerance  */
    CLI_EXIT_NO_GPU = 7,    /* --verify: no GPU here (kernels were still compiled) */
    CLI_EXIT_TP_GPUS = 8,   /* --verify: a tensor-parallel layer needs more GPUs than
                               there are (one per rank); the rest passed */
    CLI_EXIT_WEIGHTS = 9,   /* --weights: checkpoint unreadable, malformed, or not the model's */
};

#define CLI_MAX_ARCH 16

typedef struct cli_opts {
    const char *model;                 /* MODEL.lua or NULL                 */
    const char *arch[CLI_MAX_ARCH];    /* requested archs (validated)       */
    int         narch;                 /* 0: not given, use the default     */
    const char *cache_dir;             /* NULL: the library's default rules */
    const char *bundle_out;
    const char *import_path;
    int         import_local;          /* --import-local: only this GPU's arch */
    const char *sign_key;              /* --sign: secret key file for --bundle */
    const char *trust[8];              /* --trust: public key files          */
    int         ntrust;
    const char *keygen;                /* --keygen PREFIX                    */
    const char *copt[32];              /* -O NAME=VALUE compile options      */
    int         ncopt;
    const char *weights;               /* --weights: safetensors checkpoint  */
    int         list, clear, explain, verify, quiet;
    int         json;                  /* --json: summary and --list as JSON */
    int         tune;                  /* --tune: measure the routes on this GPU, store the decision */
    int         stream_max_tokens;     /* --stream-max-tokens (-2: the library default) */
    int         stream_pipe;           /* --stream-pipe 0|1 (-1: the library default) */
    int         tp_oversubscribe;      /* --verify: TP ranks may share GPUs */
    int         jobs;                  /* 0: number of cores                */
    const char *quantize;              /* --quantize SPEC, or NULL          */
} cli_opts;

/* Parses argv. Returns -1 to go on, or an exit code (0 after --help/--version,
** CLI_EXIT_USAGE after a message on stderr). */
int         args_parse(int argc, char **argv, cli_opts *o);
/* 1 when arch is one NVRTC target dsmlp accepts. */
int         args_arch_known(const char *arch);
/* The exit code for a library status in a given phase's default. */
int         cli_exit_for(dsmlp_status s, int phase_default);
/* Prints "dsmlp-compile: <fmt>\n" to stderr. */
void        cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double      cli_now(void);   /* monotonic seconds */

/* ------------------------------------------------------------ progress */

typedef struct progress progress;
/* A bar redrawn in place when stderr is a terminal, else one line per kernel;
** nothing when quiet. Thread-safe. */
progress   *progress_new(int total, int quiet);
void        progress_step(progress *p, const char *name, const char *arch, int cached, double secs);
void        progress_done(progress *p);     /* ends the bar's line; frees p */

/* ------------------------------------------------------------ compiling */

/* One unique kernel: compiled through `plan`'s kernel `index`. */
typedef struct cli_job {
    const char       *key, *name, *arch;
    const dsmlp_plan *plan;
    int               index;
    int               cached;      /* out: NVRTC was skipped */
    double            seconds;     /* out */
} cli_job;

/* What the workers' stores said: kernels that could not be written, and
** the first warning (a worker's store may fail where the first did not). */
typedef struct cli_store_report {
    uint64_t write_failures;
    char     warning[1024];
} cli_store_report;

/* Compiles jobs[0..n) on `threads` threads (dsmlp_compile_kernels: the calling thread with ctx, the others with
** contexts made from ctx's options, the same store). On failure returns the first error's status and copies its
** message to err. rep receives the store report of every thread (write failures counted from the call on). */
dsmlp_status compile_jobs(dsmlp_ctx *ctx, cli_job *jobs, int n, int threads, progress *pg,
                          char *err, size_t errlen, cli_store_report *rep);

/* ------------------------------------------------------------ store */

int         store_cmd_list(dsmlp_ctx *ctx, int json);             /* exit code */
int         store_cmd_clear(dsmlp_ctx *ctx, int quiet);           /* exit code */
/* Bytes of the given keys as the store lists them (0 for absent ones). */
uint64_t    store_bytes_of(dsmlp_ctx *ctx, const char *const *keys, int n);

/* ------------------------------------------------------------ verify */

/* Runs every layer on the GPU against the CPU reference (tensor-parallel
** layers as P rank processes). Exit code: 0 all pass, CLI_EXIT_VERIFY a
** failure, CLI_EXIT_NO_GPU without a GPU, CLI_EXIT_TP_GPUS when a TP layer
** had too few GPUs, others for setup errors. With w, layers carrying a tensor
** map run with the real weights of the model's first and last layer. */
int         verify_layers(dsmlp_ctx *ctx, const dsmlp_layers *layers, const cli_opts *o, const dsmlp_weights *w);

/* ------------------------------------------------------------ weights */

/* --weights: opens the checkpoint and checks every model layer of every
** script layer that has a tensor map against it. Exit code. */
int         weights_check(dsmlp_ctx *ctx, const dsmlp_layers *layers, const char *path, int quiet,
                          dsmlp_weights **out);

#endif
