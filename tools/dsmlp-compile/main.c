/*
** dsmlp-compile — ahead-of-time kernel caching from model scripts.
** main.c runs the phases in order: --clear, --import, load the script,
** --weights, plan every layer for every arch, --explain, compile the unique
** kernels, --bundle, --verify, --list. See docs/cli.md.
*/
#define _GNU_SOURCE
#include "cli.h"
#include "verify.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct run {
    cli_opts      o;
    dsmlp_ctx    *ctx;
    char          archs[CLI_MAX_ARCH * 8];   /* "sm_80,sm_90" */
    int           memory_only;
    dsmlp_layers *layers;
    int           nlayers;
    dsmlp_plan  **plans;                     /* [layer * narch + arch] */
    cli_job      *jobs;
    int           njobs, nkernels;
    const char  **keys;                      /* jobs' keys, then tuning records: for bundles */
    int           ntuned;                    /* tuning records after the jobs' keys */
    char          warned[1024];              /* the store warning already shown */
    int           store_rc;                  /* CLI_EXIT_STORE: kernels did not persist */
    dsmlp_weights *weights;                  /* --weights */
} run;

static int fail_with(dsmlp_ctx *ctx, dsmlp_status s, int phase_default, const char *what)
{
    cli_error("%s: %s", what, dsmlp_last_error(ctx));
    return cli_exit_for(s, phase_default);
}

/* The default arch: the local GPU's, else sm_90 (the Hopper cards dsmlp is
** tuned for). */
static void pick_archs(run *r)
{
    if (r->o.narch == 0) {
        const char *dev = dsmlp_device_available(r->ctx) ? dsmlp_device_arch(r->ctx) : NULL;
        r->o.arch[0] = dev ? dev : "sm_90";
        r->o.narch = 1;
    }
    size_t used = 0;
    r->archs[0] = '\0';
    for (int a = 0; a < r->o.narch && used < sizeof r->archs; a++)
        used += (size_t)snprintf(r->archs + used, sizeof r->archs - used, "%s%s", a ? "," : "", r->o.arch[a]);
}

/* The one warning a run prints about the store (the library never prints):
** e.g. the directory is unusable and kernels will not persist. */
static void check_store(run *r)
{
    dsmlp_cache_stats st;
    dsmlp_cache_get_stats(r->ctx, &st);
    r->memory_only = !st.disk_enabled || !st.disk_writable;   /* one context must hold every kernel */
    const char *w = dsmlp_cache_warning(r->ctx);
    int off = dsmlp_ctx_get_options(r->ctx)->cache_mode == DSMLP_CACHE_MEMORY;
    if (w && *w) {
        cli_error("warning: %s", w);
        snprintf(r->warned, sizeof r->warned, "%s", w);
    }
    else if (r->memory_only)
        cli_error("warning: the kernel store is memory-only (%s): compiled kernels will not persist",
                  off ? "DSMLP_CACHE=off" : "no usable directory");
}

static int do_keygen(run *r)
{
    char sk[4096], pk[4096];
    if (snprintf(sk, sizeof sk, "%s.key", r->o.keygen) >= (int)sizeof sk ||
        snprintf(pk, sizeof pk, "%s.pub", r->o.keygen) >= (int)sizeof pk) {
        cli_error("--keygen: prefix too long");
        return CLI_EXIT_USAGE;
    }
    dsmlp_status s = dsmlp_keygen(r->ctx, sk, pk);
    if (s != DSMLP_OK) return fail_with(r->ctx, s, CLI_EXIT_STORE, "--keygen");
    if (!r->o.quiet) printf("wrote secret key %s (keep it private; sign with --sign) and public key %s (--trust)\n", sk, pk);
    return CLI_EXIT_OK;
}

static int do_import(run *r)
{
    int n = 0;
    for (int i = 0; i < r->o.ntrust; i++) {
        dsmlp_status s = dsmlp_bundle_trust(r->ctx, r->o.trust[i]);
        if (s != DSMLP_OK) {
            cli_error("--trust %s: %s", r->o.trust[i], dsmlp_last_error(r->ctx));
            return s == DSMLP_ERR_NOT_FOUND || s == DSMLP_ERR_CORRUPT ? CLI_EXIT_USAGE : cli_exit_for(s, CLI_EXIT_STORE);
        }
    }
    dsmlp_status s = dsmlp_bundle_import(r->ctx, r->o.import_path, r->o.import_local ? "local" : NULL, &n);
    if (s == DSMLP_ERR_CORRUPT || s == DSMLP_ERR_VERSION || s == DSMLP_ERR_NOT_FOUND || s == DSMLP_ERR_INVALID_ARG) {
        /* Verified before anything is written: nothing changed. */
        cli_error("import refused, store unchanged: %s", dsmlp_last_error(r->ctx));
        return cli_exit_for(s, CLI_EXIT_STORE);
    }
    if (s != DSMLP_OK) {
        cli_error("cannot import bundle %s: %s", r->o.import_path, dsmlp_last_error(r->ctx));
        return cli_exit_for(s, CLI_EXIT_STORE);
    }
    if (!r->o.quiet)
        printf("imported %d entries from %s%s%s\n", n, r->o.import_path, r->o.import_local ? " for " : "",
               r->o.import_local ? dsmlp_device_arch(r->ctx) : "");
    return CLI_EXIT_OK;
}

static int load_script(run *r)
{
    struct stat st;
    FILE *f = fopen(r->o.model, "r");
    if (!f || fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        cli_error("cannot open model script %s: %s", r->o.model, f ? "it is a directory" : strerror(errno));
        if (f) fclose(f);
        return CLI_EXIT_SCRIPT;
    }
    fclose(f);
    dsmlp_script_options so;
    dsmlp_script_options_default(&so);
    so.quantize = r->o.quantize;
    dsmlp_status s = dsmlp_script_load(r->ctx, r->o.model, &so, &r->layers);
    if (s == DSMLP_ERR_INVALID_ARG && r->o.quantize) {   /* the option itself was refused */
        cli_error("bad --quantize '%s': %s (see --help)", r->o.quantize, dsmlp_last_error(r->ctx));
        return CLI_EXIT_USAGE;
    }
    if (s != DSMLP_OK) {
        cli_error("%s", dsmlp_last_error(r->ctx));
        return s == DSMLP_ERR_NOMEM ? CLI_EXIT_OTHER : CLI_EXIT_SCRIPT;
    }
    r->nlayers = dsmlp_layers_count(r->layers);
    if (r->nlayers <= 0) {
        cli_error("%s: the script defines no layers (return a table of graphs or call dsmlp.layer)", r->o.model);
        return CLI_EXIT_SCRIPT;
    }
    for (int l = 0; r->o.quantize && l < r->nlayers; l++) {   /* layers built op by op keep their weights */
        dsmlp_mlp_config cfg;
        if (dsmlp_graph_mlp_config(dsmlp_layers_graph(r->layers, l), &cfg) != DSMLP_OK)
            cli_error("warning: layer %s was built op by op: --quantize applies to dsmlp.mlp / dsmlp.preset layers "
                      "only", dsmlp_layers_name(r->layers, l));
    }
    return CLI_EXIT_OK;
}

static int add_job(run *r, const dsmlp_plan *p, int k, const char *arch)
{
    const char *name = NULL, *key = NULL;
    dsmlp_status s = dsmlp_plan_kernel(p, k, &name, &key);
    if (s != DSMLP_OK) {
        cli_error("kernel %d of a %s plan: %s", k, arch, dsmlp_status_name(s));
        return CLI_EXIT_COMPILE;
    }
    r->nkernels++;
    for (int j = 0; j < r->njobs; j++)
        if (strcmp(r->jobs[j].key, key) == 0) return CLI_EXIT_OK;   /* the same kernel in another layer */
    const char *karch = dsmlp_plan_kernel_arch(p, k);   /* sm_90a for the kernels that need it */
    r->jobs[r->njobs] = (cli_job){.key = key, .name = name, .arch = karch ? karch : arch, .plan = p, .index = k};
    r->keys[r->njobs] = key;
    r->njobs++;
    return CLI_EXIT_OK;
}

/* Plans every layer for every arch without compiling, and collects each
** kernel once (by store key: a key covers source, options and arch). */
static int plan_all(run *r)
{
    int np = r->nlayers * r->o.narch, cap = 0;
    r->plans = calloc((size_t)np, sizeof *r->plans);
    if (!r->plans) return CLI_EXIT_OTHER;
    for (int l = 0; l < r->nlayers; l++)
        for (int a = 0; a < r->o.narch; a++) {
            /* Defaults, then -O, then the layer's own options: exactly what a
            ** program building this layer with those options compiles. */
            dsmlp_compile_options co;
            dsmlp_compile_options_default(&co);
            for (int k = 0; k < r->o.ncopt; k++) dsmlp_compile_options_parse(r->ctx, &co, r->o.copt[k]);
            dsmlp_status s = dsmlp_layers_options(r->layers, l, r->ctx, &co);
            co.arch = r->o.arch[a];
            co.defer_compile = 1;
            if (r->o.stream_max_tokens != -2) co.stream_max_tokens = r->o.stream_max_tokens;
            if (r->o.stream_pipe != -1) co.stream_pipe = r->o.stream_pipe;
            dsmlp_plan **p = &r->plans[l * r->o.narch + a];
            if (s == DSMLP_OK) s = dsmlp_plan_build(r->ctx, dsmlp_layers_graph(r->layers, l), &co, p);
            if (s != DSMLP_OK) {
                char what[512];
                snprintf(what, sizeof what, "layer %s (%s)", dsmlp_layers_name(r->layers, l), r->o.arch[a]);
                return fail_with(r->ctx, s, CLI_EXIT_COMPILE, what);
            }
            cap += dsmlp_plan_kernels(*p);
        }
    r->jobs = calloc((size_t)cap + 1, sizeof *r->jobs);
    r->keys = calloc((size_t)cap + 1, sizeof *r->keys);
    if (!r->jobs || !r->keys) return CLI_EXIT_OTHER;
    for (int i = 0; i < np; i++)
        for (int k = 0; k < dsmlp_plan_kernels(r->plans[i]); k++) {
            int rc = add_job(r, r->plans[i], k, r->o.arch[i % r->o.narch]);
            if (rc) return rc;
        }
    return CLI_EXIT_OK;
}

static int explain_all(run *r)
{
    for (int l = 0; l < r->nlayers; l++)
        for (int a = 0; a < r->o.narch; a++) {
            char *text = NULL;
            dsmlp_status s = dsmlp_plan_explain(r->plans[l * r->o.narch + a], &text);
            if (s != DSMLP_OK) return fail_with(r->ctx, s, CLI_EXIT_COMPILE, "explain");
            printf("== layer %s (%s)\n%s", dsmlp_layers_name(r->layers, l), r->o.arch[a], text);
            if (text[0] && text[strlen(text) - 1] != '\n') putchar('\n');
            dsmlp_free(text);
        }
    fflush(stdout);
    return CLI_EXIT_OK;
}

static int compile_all(run *r, double t0)
{
    int threads = r->o.jobs;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    /* Memory-only: one context must hold everything (for --bundle). */
    if (r->memory_only) threads = 1;
    progress *pg = progress_new(r->njobs, r->o.quiet);
    char err[8192 + 512];
    cli_store_report rep;
    dsmlp_status s = compile_jobs(r->ctx, r->jobs, r->njobs, threads, pg, err, sizeof err, &rep);
    progress_done(pg);
    if (rep.warning[0] && strcmp(rep.warning, r->warned) != 0) cli_error("warning: %s", rep.warning);
    if (s != DSMLP_OK) {
        cli_error("%s", err);
        return cli_exit_for(s, CLI_EXIT_COMPILE);
    }
    /* Compiling into a store that does not keep the result is a failure of
    ** this tool's one job, unless memory-only was asked for (DSMLP_CACHE=off:
    ** then nothing counts as a write failure). */
    if (rep.write_failures) {
        cli_error("%llu compiled kernel%s could not be written to the kernel store %s and did not persist "
                  "(exit code %d)", (unsigned long long)rep.write_failures, rep.write_failures == 1 ? "" : "s",
                  dsmlp_cache_dir(r->ctx), CLI_EXIT_STORE);
        r->store_rc = CLI_EXIT_STORE;
    }
    int compiled = 0, cached = 0;
    for (int j = 0; j < r->njobs; j++) (r->jobs[j].cached ? &cached : &compiled)[0]++;
    uint64_t bytes = store_bytes_of(r->ctx, r->keys, r->njobs);
    double wall = cli_now() - t0;
    if (r->o.json) {   /* one object per line; keys as in the text summary */
        json_t *j = json_pack("{s:s, s:i, s:s, s:i, s:i, s:i, s:i, s:I, s:f, s:I}", "model", r->o.model, "layers",
                              r->nlayers, "archs", r->archs, "kernels", r->njobs, "kernels_in_plans", r->nkernels,
                              "compiled", compiled, "cached", cached, "bytes", (json_int_t)bytes, "wall_s", wall,
                              "write_failures", (json_int_t)rep.write_failures);
        if (j) json_dumpf(j, stdout, JSON_COMPACT), putchar('\n'), json_decref(j);
        fflush(stdout);
    } else if (!r->o.quiet) {
        printf("%s: layers %d, archs %s, kernels %d unique (%d in plans), compiled %d, cached %d, bytes %llu, "
               "wall %.3f s\n",
               r->o.model, r->nlayers, r->archs, r->njobs, r->nkernels, compiled, cached, (unsigned long long)bytes,
               wall);
        fflush(stdout);
    }
    return CLI_EXIT_OK;
}

/* --tune: each layer's plan for this GPU's arch is loaded, timed and its decision stored; the tuning records
** join the bundle's keys. */
static int tune_all(run *r)
{
    if (!dsmlp_device_available(r->ctx)) {
        cli_error("--tune needs a GPU: %s", dsmlp_last_error(r->ctx));
        return CLI_EXIT_NO_GPU;
    }
    const char *dev = dsmlp_device_arch(r->ctx);
    int a = -1;
    for (int i = 0; i < r->o.narch && a < 0; i++)
        if (dev && !strcmp(r->o.arch[i], dev)) a = i;
    if (a < 0) {
        cli_error("--tune: this GPU is %s, which is not among the compiled archs (%s)", dev ? dev : "?", r->archs);
        return CLI_EXIT_USAGE;
    }
    const char **tk = realloc(r->keys, sizeof *r->keys * (size_t)(r->njobs + r->nlayers + 1));
    if (!tk) return CLI_EXIT_OTHER;
    r->keys = tk;
    for (int l = 0; l < r->nlayers; l++) {
        dsmlp_plan *p = r->plans[l * r->o.narch + a];
        dsmlp_status s = dsmlp_plan_load(p);
        if (s == DSMLP_OK) s = dsmlp_plan_tune(p);
        if (s != DSMLP_OK) {
            char what[512];
            snprintf(what, sizeof what, "--tune layer %s", dsmlp_layers_name(r->layers, l));
            return fail_with(r->ctx, s, CLI_EXIT_COMPILE, what);
        }
        char *text = NULL;
        if (!r->o.quiet && dsmlp_plan_route_text(p, &text) == DSMLP_OK) {
            printf("tuned layer %s (%s, %s): %s", dsmlp_layers_name(r->layers, l), dev, r->archs, text);
            dsmlp_free(text);
        }
        const char *key = NULL;
        if (dsmlp_plan_tune_key(p, &key) == DSMLP_OK && key && *key) r->keys[r->njobs + r->ntuned++] = key;
    }
    fflush(stdout);
    return CLI_EXIT_OK;
}

static int write_bundle(run *r)
{
    /* Worker contexts' kernels reached this context only through the disk,
    ** where the size limit may have evicted them: get each one here (memory,
    ** disk, or a recompile), so the bundle never depends on eviction. */
    for (int j = 0; j < r->njobs; j++) {
        dsmlp_status s = dsmlp_plan_compile_kernel(r->ctx, r->jobs[j].plan, r->jobs[j].index, NULL);
        if (s != DSMLP_OK) return fail_with(r->ctx, s, CLI_EXIT_COMPILE, "--bundle");
    }
    dsmlp_status s = r->o.sign_key ? dsmlp_bundle_write_signed(r->ctx, r->o.bundle_out, r->keys, r->njobs + r->ntuned, r->o.sign_key)
                                   : dsmlp_bundle_write(r->ctx, r->o.bundle_out, r->keys, r->njobs + r->ntuned);
    if (s != DSMLP_OK) {
        cli_error("cannot write bundle %s: %s", r->o.bundle_out, dsmlp_last_error(r->ctx));
        return cli_exit_for(s, CLI_EXIT_STORE);
    }
    if (!r->o.quiet)
        printf("wrote %sbundle %s: %d kernels%s (%s)\n", r->o.sign_key ? "signed " : "", r->o.bundle_out, r->njobs,
               r->ntuned ? " and tuning records" : "",
               r->archs);
    return CLI_EXIT_OK;
}

static int run_all(run *r, double t0)
{
    int rc;
    if (r->o.keygen && (rc = do_keygen(r))) return rc;
    if (r->o.keygen && !r->o.model && !r->o.list && !r->o.clear && !r->o.import_path) return CLI_EXIT_OK;
    pick_archs(r);
    check_store(r);
    if (r->o.clear && (rc = store_cmd_clear(r->ctx, r->o.quiet))) return rc;
    if (r->o.import_path && (rc = do_import(r))) return rc;
    if (r->o.model) {
        if ((rc = load_script(r))) return rc;
        if (r->o.weights && (rc = weights_check(r->ctx, r->layers, r->o.weights, r->o.quiet, &r->weights))) return rc;
        if ((rc = plan_all(r))) return rc;
        if (r->o.explain && (rc = explain_all(r))) return rc;
        if ((rc = compile_all(r, t0))) return rc;
        if (r->o.tune && (rc = tune_all(r))) return rc;
        if (r->o.bundle_out && (rc = write_bundle(r))) return rc;
        if (r->o.verify && (rc = verify_layers(r->ctx, r->layers, &r->o, r->weights))) return rc;
    }
    if (r->o.list && (rc = store_cmd_list(r->ctx, r->o.json))) return rc;
    return r->store_rc;
}

int main(int argc, char **argv)
{
    /* A rank of a tensor-parallel --verify (verify_tp.c starts them). */
    const char *worker = getenv("DSMLP_COMPILE_TP_WORKER");
    if (worker && *worker) return argc == 2 ? verify_tp_worker(argv[1], worker) : CLI_EXIT_USAGE;
    double t0 = cli_now();
    run r;
    memset(&r, 0, sizeof r);
    int rc = args_parse(argc, argv, &r.o);
    if (rc >= 0) return rc;
    /* The documented environment, then the command line; the compile workers'
    ** contexts are made with the same options, so no other directory is ever
    ** probed. */
    dsmlp_ctx_options co;
    dsmlp_ctx_options_default(&co);
    dsmlp_ctx_options_from_env(&co);
    if (r.o.cache_dir) co.cache_dir = r.o.cache_dir;
    dsmlp_status s = dsmlp_ctx_create_with(&co, &r.ctx);
    if (s != DSMLP_OK) {
        cli_error("cannot create a dsmlp context: %s", dsmlp_status_name(s));
        return CLI_EXIT_OTHER;
    }
    rc = run_all(&r, t0);
    if (r.plans)
        for (int i = 0; i < r.nlayers * r.o.narch; i++)
            if (r.plans[i]) dsmlp_plan_free(r.plans[i]);
    free(r.plans);
    free(r.jobs);
    free(r.keys);
    dsmlp_layers_free(r.layers);
    dsmlp_weights_close(r.weights);
    dsmlp_ctx_free(r.ctx);
    return rc;
}
