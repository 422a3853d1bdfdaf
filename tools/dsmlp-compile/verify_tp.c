/*
** verify_tp.c — --verify for tensor-parallel layers: the layer's P ranks run
** as P processes of this program, one per GPU, joined into a group the way a
** deployment joins (RANK, WORLD_SIZE, LOCAL_RANK, a file rendezvous); their
** output is compared with the CPU reference of the unsharded (P = 1) block.
**
** A layer carries its MLP config (dsmlp_graph_mlp_config), so every rank
** rebuilds its own graph and the P = 1 graph from it, draws the same full
** weights and inputs from the parent's seed and uploads its shard
** (dsmlp_mlp_shard). Rank 0 computes the reference and prints; every rank's
** output must be bitwise equal to rank 0's. Layers built op by op and int8
** layers (whose scales belong to each shard) are skipped with a message.
*/
#define _GNU_SOURCE
#include "cli.h"
#include "verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const int64_t tp_Ts[] = {1, 7, VERIFY_MAX_T};
#define TP_NT 3

/* ------------------------------------------------------------ the parent */

int verify_tp_layer(const cli_opts *o, const dsmlp_layers *layers, int layer, int ngpu)
{
    const char *name = dsmlp_layers_name(layers, layer);
    dsmlp_mlp_config cfg;
    if (dsmlp_graph_mlp_config(dsmlp_layers_graph(layers, layer), &cfg) != DSMLP_OK) {
        printf("verify %-24s skipped: a tensor-parallel graph built op by op (only dsmlp.mlp and preset layers "
               "carry the config that rebuilds every rank)\n", name);
        return 2;
    }
    if (cfg.int8_weights) {
        printf("verify %-24s skipped: int8 tensor-parallel layer (its scales belong to each rank's shard; there is "
               "no P = 1 block to compare with)\n", name);
        return 2;
    }
    int P = cfg.tp_size;
    if (ngpu < P && (!o->tp_oversubscribe || P > 8)) {
        printf("verify %-24s not verified: its %d ranks need %d GPUs (one per rank), %d here%s\n", name, P, P, ngpu,
               P > 8 ? "" : " (--tp-oversubscribe shares them)");
        return 3;
    }
    char dir[] = "/tmp/dsmlp-verify-tp-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("verify %-24s FAIL: cannot make a rendezvous directory: %s\n", name, dir);
        return 1;
    }
    char rdv[128], lay[16], seed[32];
    snprintf(rdv, sizeof rdv, "file:%s/rdv", dir);
    snprintf(lay, sizeof lay, "%d", layer);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rng_state);
    uniform();   /* the next layer gets other numbers */
    pid_t pid[1024];
    int started = 0, worst = 0;
    fflush(stdout);
    fflush(stderr);
    for (int r = 0; r < P; r++) {
        pid_t p = fork();
        if (p < 0) break;
        if (p == 0) {
            char rank[16], size[16], local[16], dev[16];
            snprintf(rank, sizeof rank, "%d", r);
            snprintf(size, sizeof size, "%d", P);
            snprintf(local, sizeof local, "%d", r);
            snprintf(dev, sizeof dev, "%d", r % (ngpu > 0 ? ngpu : 1));
            setenv("DSMLP_COMPILE_TP_WORKER", lay, 1);
            setenv("RANK", rank, 1);
            setenv("WORLD_SIZE", size, 1);
            setenv("LOCAL_RANK", local, 1);
            setenv("DSMLP_TP_RENDEZVOUS", rdv, 1);
            setenv("DSMLP_SEED", seed, 1);
            setenv("DSMLP_VERIFY_QUIET", o->quiet ? "1" : "0", 1);
            if (ngpu < P) {   /* ranks share GPUs: NCCL refuses that, the peer-memory path does not */
                setenv("DSMLP_TP_DEVICE", dev, 1);
                setenv("DSMLP_TP_NCCL", "0", 1);
            }
            execl("/proc/self/exe", "dsmlp-compile", o->model, (char *)NULL);
            fprintf(stderr, "dsmlp-compile: cannot start rank %d of layer %s\n", r, name);
            _exit(CLI_EXIT_OTHER);
        }
        pid[started++] = p;
    }
    for (int i = 0; i < started; i++) {
        int ws, rc;
        if (waitpid(pid[i], &ws, 0) != pid[i]) rc = CLI_EXIT_OTHER;
        else rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        if (rc && !worst) worst = rc;
    }
    char path[160];   /* the rendezvous leaves no files when all went well; error reports otherwise */
    for (int r = 0; r < P; r++) snprintf(path, sizeof path, "%s/rdv.err.%d", dir, r), unlink(path);
    rmdir(dir);
    if (started < P) {
        printf("verify %-24s FAIL: could only start %d of %d ranks\n", name, started, P);
        return 1;
    }
    if (worst == CLI_EXIT_NO_GPU) return -1;
    if (worst && worst != CLI_EXIT_VERIFY)
        printf("verify %-24s FAIL: a rank exited with %d (its message is above)\n", name, worst);
    return worst ? 1 : 0;
}

/* ------------------------------------------------------------- a rank */

typedef struct rank_val {
    dsmlp_value_info vi;
    int64_t          n;             /* per token row, or all elements of a param */
    void            *host;          /* params: full; inputs: full, VERIFY_MAX_T rows */
    void            *part;          /* R3 "input": this rank's partial A_r            */
    double          *ref;
    void            *dev;
} rank_val;

static void fill(dsmlp_dtype t, void *buf, int64_t n, double mean, double scale)
{
    for (int64_t i = 0; i < n; i++) store_elem(t, buf, i, mean + scale * uniform());
}

#define W_FAIL(...)                                                                     \
    do {                                                                                \
        fprintf(stderr, "dsmlp-compile: verify %s rank %d: ", name, rank);              \
        fprintf(stderr, __VA_ARGS__);                                                   \
        fputc('\n', stderr);                                                            \
        rc = CLI_EXIT_VERIFY;                                                           \
        goto out;                                                                       \
    } while (0)
#define W_DS(call)                                                                      \
    do {                                                                                \
        dsmlp_status s_ = (call);                                                       \
        if (s_ != DSMLP_OK) W_FAIL("%s: %s", #call, dsmlp_last_error(ctx));             \
    } while (0)

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

int verify_tp_worker(const char *model, const char *layer)
{
    int rank = -1, rc = CLI_EXIT_OTHER, P = 0, quiet = getenv("DSMLP_VERIFY_QUIET") &&
                                                         !strcmp(getenv("DSMLP_VERIFY_QUIET"), "1");
    const char *name = "?";
    dsmlp_ctx *ctx = NULL;
    dsmlp_layers *layers = NULL;
    dsmlp_graph *g1 = NULL, *gr = NULL;
    dsmlp_plan *plan = NULL;
    dsmlp_tp *tp = NULL;
    rank_val v[32];
    int nv = 0, out = -1;
    memset(v, 0, sizeof v);
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return CLI_EXIT_OTHER;
    dsmlp_script_options so;
    dsmlp_script_options_default(&so);
    int li = atoi(layer);
    dsmlp_tp_options to;
    dsmlp_tp_options_default(&to);
    if (dsmlp_script_load(ctx, model, &so, &layers) != DSMLP_OK || li < 0 || li >= dsmlp_layers_count(layers)) {
        fprintf(stderr, "dsmlp-compile: verify rank: %s\n", dsmlp_last_error(ctx));
        goto out;
    }
    name = dsmlp_layers_name(layers, li);
    dsmlp_mlp_config full, mine;
    W_DS(dsmlp_graph_mlp_config(dsmlp_layers_graph(layers, li), &mine));
    W_DS(dsmlp_tp_options_from_env(ctx, &to));
    rank = to.rank;
    P = to.size;
    dsmlp_status s = dsmlp_tp_create(ctx, &to, &tp);
    if (s == DSMLP_ERR_NO_DEVICE) {
        rc = CLI_EXIT_NO_GPU;
        goto out;
    }
    W_DS(s);
    rng_state = strtoull(getenv("DSMLP_SEED") ? getenv("DSMLP_SEED") : "1", NULL, 0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN) / P;
    dsmlp_reference_set_threads(ctx, ncpu > 0 ? (int)ncpu : 1);

    full = mine;
    full.tp_size = 1, full.tp_rank = 0;
    mine.tp_size = P, mine.tp_rank = rank;
    W_DS(dsmlp_graph_create(ctx, "verify_full", &g1));
    W_DS(dsmlp_mlp_build(g1, &full));
    W_DS(dsmlp_graph_create(ctx, "verify_rank", &gr));
    W_DS(dsmlp_mlp_build(gr, &mine));
    dsmlp_compile_options co;
    dsmlp_compile_options_default(&co);
    co.max_tokens = VERIFY_MAX_T;
    W_DS(dsmlp_compile(ctx, gr, &co, &plan));
    W_DS(dsmlp_plan_set_tp(plan, tp));

    /* Full tensors, the same on every rank; this rank's shards uploaded. */
    int r3 = !full.mlp_after_attn;
    for (int i = 0; i < dsmlp_graph_size(g1) && nv < 32; i++) {
        dsmlp_value_info vi;
        W_DS(dsmlp_value_get(g1, i, &vi));
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        rank_val *x = &v[nv++];
        x->vi = vi;
        x->n = vi.tokens ? vi.dims[1] : vi.rank == 2 ? vi.dims[0] * vi.dims[1] : vi.dims[0];
        int64_t elems = vi.tokens ? VERIFY_MAX_T * x->n : x->n;
        size_t bytes = (size_t)elems * dsmlp_dtype_size(vi.dtype);
        if (!(x->host = malloc(bytes))) W_FAIL("out of host memory");
        if (vi.op == DSMLP_OP_OUTPUT) {
            out = nv - 1;
            if (!(x->ref = malloc(sizeof(double) * (size_t)elems))) W_FAIL("out of host memory");
            W_DS(dsmlp_device_alloc(ctx, bytes, &x->dev));
            W_DS(dsmlp_bind(plan, vi.name, x->dev));
        } else if (vi.op == DSMLP_OP_PARAM) {
            int is_norm = vi.rank == 1 && strstr(vi.name, "norm_w");
            if (vi.rank == 2) fill(vi.dtype, x->host, x->n, 0, 1 / sqrt((double)(vi.layout == DSMLP_LAYOUT_IN_OUT ?
                                                                                  vi.dims[0] : vi.dims[1])));
            else fill(vi.dtype, x->host, x->n, is_norm ? 1 : 0, is_norm ? 0.2 : 0.1);
            dsmlp_value rv = DSMLP_NONE;
            for (int j = 0; j < dsmlp_graph_size(gr) && rv == DSMLP_NONE; j++) {
                dsmlp_value_info ri;
                if (dsmlp_value_get(gr, j, &ri) == DSMLP_OK && ri.op == DSMLP_OP_PARAM && !strcmp(ri.name, vi.name))
                    rv = j;
            }
            if (rv == DSMLP_NONE) continue;
            dsmlp_value_info ri;
            dsmlp_value_get(gr, rv, &ri);
            size_t rb = (size_t)(ri.rank == 2 ? ri.dims[0] * ri.dims[1] : ri.dims[0]) * dsmlp_dtype_size(ri.dtype);
            void *shard = malloc(rb);
            if (!shard) W_FAIL("out of host memory");
            s = dsmlp_mlp_shard(ctx, &mine, vi.name, x->host, shard);
            if (s == DSMLP_OK) s = dsmlp_upload(plan, vi.name, shard, rb);
            free(shard);
            if (s != DSMLP_OK && s != DSMLP_ERR_NOT_FOUND) W_DS(s);
        } else {
            W_DS(dsmlp_device_alloc(ctx, bytes, &x->dev));
            s = dsmlp_bind(plan, vi.name, x->dev);
            if (s != DSMLP_OK && s != DSMLP_ERR_NOT_FOUND) W_DS(s);
            if (r3 && !strcmp(vi.name, "input") && !(x->part = malloc(bytes))) W_FAIL("out of host memory");
        }
    }
    if (out < 0) W_FAIL("the layer has no output");

    int failed = 0;
    for (int t = 0; t < TP_NT; t++) {
        int64_t T = tp_Ts[t];
        dsmlp_host_tensor bind[32];
        for (int i = 0; i < nv; i++) {
            rank_val *x = &v[i];
            bind[i] = (dsmlp_host_tensor){x->vi.name, x->vi.dtype, x->host};
            size_t bytes = (size_t)(T * x->n) * dsmlp_dtype_size(x->vi.dtype);
            if (x->vi.op == DSMLP_OP_OUTPUT) {
                bind[i].dtype = DSMLP_F64, bind[i].data = x->ref;
                W_DS(dsmlp_device_fill(ctx, x->dev, 0xFF, bytes));   /* NaN: an unwritten element fails */
            } else if (x->vi.op == DSMLP_OP_INPUT && x->part) {
                /* R3: each rank holds a partial attention output; A = Σ_r A_r. */
                double *sum = calloc((size_t)(T * x->n), sizeof *sum);
                if (!sum) W_FAIL("out of host memory");
                for (int r = 0; r < P; r++)
                    for (int64_t e = 0; e < T * x->n; e++) {
                        double a = uniform();
                        store_elem(x->vi.dtype, x->part, e, a);
                        sum[e] += load_elem(x->vi.dtype, x->part, e);
                        if (r == rank) store_elem(x->vi.dtype, x->host, e, a);   /* stash ours */
                    }
                W_DS(dsmlp_device_upload(ctx, x->dev, x->host, bytes));
                for (int64_t e = 0; e < T * x->n; e++) store_elem(x->vi.dtype, x->host, e, sum[e]);
                free(sum);
            } else if (x->vi.op == DSMLP_OP_INPUT) {
                fill(x->vi.dtype, x->host, T * x->n, 0, 1);
                W_DS(dsmlp_device_upload(ctx, x->dev, x->host, bytes));
            }
        }
        W_DS(dsmlp_device_sync(ctx));
        W_DS(dsmlp_run(plan, T, NULL));
        W_DS(dsmlp_device_sync(ctx));
        rank_val *y = &v[out];
        size_t obytes = (size_t)(T * y->n) * dsmlp_dtype_size(y->vi.dtype);
        W_DS(dsmlp_device_download(ctx, y->host, y->dev, obytes));
        uint64_t h = hash_bytes(y->host, obytes), hs[1024];
        W_DS(dsmlp_tp_allgather(tp, &h, sizeof h, hs));
        int same = 1;
        for (int r = 0; r < P; r++) same &= hs[r] == hs[0];
        int ok = same;
        if (rank == 0) {
            W_DS(dsmlp_reference_run_f64(g1, T, bind, nv));
            double num = 0, den = 0;
            for (int64_t e = 0; e < T * y->n; e++) {
                double d = load_elem(y->vi.dtype, y->host, e) - y->ref[e];
                num += d * d;
                den += y->ref[e] * y->ref[e];
            }
            double err = isnan(num) ? INFINITY : den > 0 ? sqrt(num / den) : sqrt(num);
            ok = same && err <= dsmlp_tolerance(y->vi.dtype);
            if (!quiet || !ok)
                printf("verify %-24s T=%-4lld rel err %.3e  (%s tolerance %.1e)  %s; P=%d ranks %s\n", name,
                       (long long)T, err, dsmlp_dtype_name(y->vi.dtype), dsmlp_tolerance(y->vi.dtype), ok ? "pass" : "FAIL",
                       P, same ? "identical" : "DIFFER");
            fflush(stdout);
        }
        int oks[1024];
        W_DS(dsmlp_tp_allgather(tp, &ok, sizeof ok, oks));
        failed |= !oks[0] || !same;
    }
    if (rank == 0 && !quiet) printf("verify %-24s %s\n", name, dsmlp_tp_describe(tp));
    rc = failed ? CLI_EXIT_VERIFY : CLI_EXIT_OK;
out:
    for (int i = 0; i < nv; i++) {
        free(v[i].host);
        free(v[i].part);
        free(v[i].ref);
        if (v[i].dev) dsmlp_device_free(ctx, v[i].dev);
    }
    if (plan) dsmlp_plan_free(plan);
    if (g1) dsmlp_graph_free(g1);
    if (gr) dsmlp_graph_free(gr);
    dsmlp_tp_free(tp);
    dsmlp_layers_free(layers);
    dsmlp_ctx_free(ctx);
    return rc;
}
