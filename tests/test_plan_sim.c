/*
** test_plan_sim.c — runs whole plans on the CPU and compares them with the
** reference executor: the generated kernels are compiled for the host with
** g++ and a small CUDA shim (test_plan_sim_shim.h), GEMM steps are computed
** in double with their epilogue, all-reduces sum over emulated ranks. This
** checks the fusion decisions, the argument order, the workspace layout and
** the kernels' indexing without a GPU (the GPU suites check the real thing).
*/
#include "testutil.h"
#include "compiler/plan.h"
#include "compiler/route.h"
#include "dtype.h"
#include "runtime/plan_handle.h"

#include <blake2.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef struct simk {
    void *so, *fn;
    int (*launch)(unsigned, unsigned, unsigned, size_t, void *, long long, void **);
    int (*launch_coop)(unsigned, unsigned, unsigned, size_t, void *, long long, void **);   /* every block at once */
    void (*prefetch_counts)(long *issued, long *unread);   /* L2 prefetches since the last call, and those never read */
} simk;

/* Host-compiled kernels are cached by the hash of their source and the shim,
** so each distinct kernel is compiled once per build tree (and in parallel). */
static char cachedir[1024], incdir[1100];
static char *shim_text;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

static void setup(void)
{
    const char *bin = getenv("DSMLP_BINARY_DIR");
    snprintf(cachedir, sizeof cachedir, "%s/plansim-cache", bin && *bin ? bin : DSMLP_BINARY_DIR);
    mkdir(cachedir, 0755);
    snprintf(incdir, sizeof incdir, "%s/inc", cachedir);
    mkdir(incdir, 0755);
    char path[1200];
    /* empty cuda_fp16.h / cuda_bf16.h: the shim has the types */
    snprintf(path, sizeof path, "%s/cuda_fp16.h", incdir);
    fclose(fopen(path, "a"));
    snprintf(path, sizeof path, "%s/cuda_bf16.h", incdir);
    fclose(fopen(path, "a"));
    if (!shim_text) shim_text = slurp(DSMLP_SOURCE_DIR "/tests/test_plan_sim_shim.h");
}

static void teardown(void) {}

static void so_path(const plan_kernel *k, char *out, size_t cap)
{
    uint8_t h[16];
    blake2b_state st;
    blake2b_init(&st, sizeof h);
    blake2b_update(&st, (const uint8_t *)shim_text, strlen(shim_text));
    blake2b_update(&st, (const uint8_t *)k->source, strlen(k->source));
    blake2b_final(&st, h, sizeof h);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
    snprintf(out, cap, "%s/%s-%s.so", cachedir, k->name, hex);
}

/* Compiles every kernel that will run (need[i]) and is not in the cache yet, up to nproc at a time. */
static void compile_all(const plan *p, const char *need)
{
    int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    pid_t pid[64];
    char *tmp[64], *dst[64], *src[64];
    int running = 0, failed = 0;
    for (int i = 0; i <= p->nkernels; i++) {
        while (running && (running >= jobs || i == p->nkernels)) {
            int status;
            pid_t w = wait(&status);
            for (int r = 0; r < running; r++) {
                if (pid[r] != w) continue;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                    ck_assert_int_eq(rename(tmp[r], dst[r]), 0);   /* atomic: parallel tests share the cache */
                } else {
                    fprintf(stderr, "host compile of %s failed (status %d)\n", src[r], status);
                    failed++;
                }
                unlink(src[r]);
                free(tmp[r]), free(dst[r]), free(src[r]);
                pid[r] = pid[running - 1], tmp[r] = tmp[running - 1], dst[r] = dst[running - 1], src[r] = src[running - 1];
                running--;
                break;
            }
        }
        if (i == p->nkernels) break;
        const plan_kernel *k = &p->kernels[i];
        if (!need[i]) continue;
        char so[1200];
        so_path(k, so, sizeof so);
        if (access(so, R_OK) == 0) continue;
        int dup = 0;   /* same kernel twice in one plan: one compile */
        for (int r = 0; r < running; r++) dup |= !strcmp(dst[r], so);
        if (dup) continue;
        char t[1300], c[1300];
        snprintf(t, sizeof t, "%s.%d.tmp", so, (int)getpid());
        snprintf(c, sizeof c, "%s.%d.cu", so, (int)getpid());
        FILE *f = fopen(c, "w");
        ck_assert_ptr_nonnull(f);
        fputs(k->source, f);
        fclose(f);
        char shim[1100];
        snprintf(shim, sizeof shim, "%s/tests/test_plan_sim_shim.h", DSMLP_SOURCE_DIR);
        /* -Og: a fresh checkout (CI) compiles every kernel once; on this 2-core machine the five simulation tests took
        ** 52-61 s cold with -Og against 86 s with -O1 (warm runs 14.7 against 8.9 s) */
        char *argv[] = {"g++", "-std=c++17", "-Og", "-w", "-shared", "-fPIC", "-x", "c++", "-include", shim, "-I", incdir,
                        "-o", t, c, NULL};
        ck_assert_int_eq(posix_spawnp(&pid[running], "g++", NULL, NULL, argv, environ), 0);
        tmp[running] = strdup(t), dst[running] = strdup(so), src[running] = strdup(c);
        running++;
    }
    ck_assert_msg(failed == 0, "%d host compile(s) failed", failed);
}

static void load_host(const plan_kernel *k, simk *out)
{
    char so[1200];
    so_path(k, so, sizeof so);
    out->so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(out->so != NULL, "dlopen %s: %s", so, dlerror());
    out->fn = dlsym(out->so, k->name);
    *(void **)&out->launch = dlsym(out->so, "ds_sim_launch");
    *(void **)&out->launch_coop = dlsym(out->so, "ds_sim_launch_coop");
    *(void **)&out->prefetch_counts = dlsym(out->so, "ds_sim_prefetch_counts");
    ck_assert(out->fn && out->launch && out->launch_coop && out->prefetch_counts);
}

/* Grid size of stream kernels (stream-K blocks); 0: the heuristic's (number of tiles). */
static int sim_grid;
/* A persistent kernel's blocks are all resident at once (the GPU's cooperative launch): the simulation runs every
** block's fibers interleaved, and this stands for the device's resident blocks. */
#define SIM_RESIDENT 12
/* the most blocks a simulated stream launch may have */
#define SIM_MAX_GRID 4096
#define SIM_GEMV_RESIDENT 7   /* blocks "at once" for the [out,in] GEMVs: most launch fewer blocks in uneven rounds */
static int gemv_round_runs;   /* [out,in] GEMV launches that took more than one round */
static int gemv_split_runs;   /* [in,out] GEMV launches that split k over blocks along y */
static long gemv_prefetches;  /* L2 prefetches the GEMV launches issued (each line read by its block) */

/* The blocks a stream kernel's launch runs (the partial-sum scratch holds that many blocks' parts). */
static int64_t stream_blocks(const plan_kernel *pk)
{
    int64_t G = sim_grid > 0 ? sim_grid : pk->sk_tiles;
    if (G > pk->sk_units) G = pk->sk_units;
    if (pk->sk_fused && G > SIM_RESIDENT) G = SIM_RESIDENT;
    return G;
}

static void launch(simk *k, const plan_kernel *pk, long long T, void **a)
{
    unsigned gx = (unsigned)pk->grid_x, gy;
    if (pk->kind == KERN_STREAM) {
        const int64_t G = stream_blocks(pk);
        ck_assert_int_le(G, SIM_MAX_GRID);
        gx = (unsigned)G, gy = 1;
        if (pk->sk_fused) {
            ck_assert_int_eq(k->launch_coop((unsigned)pk->threads, gx, gy, pk->smem_bytes, k->fn, T, a), 0);
            return;
        }
    } else {
        long long rows = pk->rows_fixed > 0 ? pk->rows_fixed : T;
        gy = (unsigned)((rows + pk->rows_per_block - 1) / pk->rows_per_block);
        ck_assert_int_le(gy, 65535);
        /* Token-row kernels stride over row blocks past grid.y (the runtime caps it at 65535): a cap of 2 here
        ** makes every multi-row-block run take that path. */
        if (pk->rows_fixed <= 0 && pk->kind != KERN_GEMV && gy > 2) gy = 2;
        gx = (unsigned)dsmlpC_gemv_grid(pk, SIM_GEMV_RESIDENT);   /* as the runtime, on a small device */
        if (pk->gemv_rounds && pk->grid_x > SIM_GEMV_RESIDENT) gemv_round_runs++;
        if (pk->kind == KERN_GEMV && gy > 1) gemv_split_runs++;
    }
    ck_assert_int_eq(k->launch((unsigned)pk->threads, gx, gy, pk->smem_bytes, k->fn, T, a), 0);
    long issued, unread;
    k->prefetch_counts(&issued, &unread);
    if (pk->kind == KERN_GEMV) {   /* each block asks L2 for the lines it reads first, and only for lines it reads */
        ck_assert_msg(issued > 0, "%s: no L2 prefetch", pk->name);
        ck_assert_msg(unread == 0, "%s: %ld of %ld prefetched lines not read by their block", pk->name, unread, issued);
        gemv_prefetches += issued;
    }
}

static double gelu_tanh(double x) { return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }

static void gemm(const plan *p, const plan_gemm *m, void **ptr, long long T)
{
    dsmlp_dtype xt = p->bufs[m->x].dtype, wt = p->bufs[m->w].dtype, dt = p->bufs[m->d].dtype;
    for (long long t = 0; t < T; t++)
        for (int64_t j = 0; j < m->n; j++) {
            double acc = 0;
            for (int64_t kk = 0; kk < m->k; kk++) {
                int64_t wi = m->layout == DSMLP_LAYOUT_IN_OUT ? kk * m->n + j : j * m->k + kk;
                acc += dsmlpB_dtype_load(xt, ptr[m->x], t * m->k + kk) * dsmlpB_dtype_load(wt, ptr[m->w], wi);
            }
            if (m->bias >= 0) acc += dsmlpB_dtype_load(p->bufs[m->bias].dtype, ptr[m->bias], j);
            if (m->epi == EPI_RELU || m->epi == EPI_RELU_BIAS) acc = acc < 0 ? 0 : acc;
            if (m->epi == EPI_GELU || m->epi == EPI_GELU_BIAS) acc = gelu_tanh(acc);
            ck_assert_msg(m->c < 0 || (m->epi != EPI_RELU && m->epi != EPI_GELU && m->epi != EPI_RELU_BIAS && m->epi != EPI_GELU_BIAS),
                          "activation epilogue combined with C");
            if (m->c >= 0) acc += dsmlpB_dtype_load(p->bufs[m->c].dtype, ptr[m->c], t * m->n + j);
            dsmlpB_dtype_store(dt, ptr[m->d], t * m->n + j, acc);
        }
}

/* One emulated rank: its plan, host buffers and host-compiled kernels. */
typedef struct rank {
    dsmlp_plan *h;
    void      **ptr;    /* per buffer */
    void       *ws;
    simk       *k;
    int         pc;     /* next step */
    int         stream; /* 1: runs the small-T route (plan.ssteps) */
    dsmlp_host_tensor *bind;
    int         nbind;
} rank;

static size_t buf_bytes(const plan_buf *b, long long T)
{
    return (size_t)(b->tokens ? T : b->rows) * (size_t)b->cols * dsmlp_dtype_size(b->dtype);
}

static int sim_decode;       /* dsmlp_compile_options.decode_max_tokens for the plans */
static int sim_stream;       /* ... stream_max_tokens (0: the main route only) */
static int sim_no_mixed;     /* 1: mixed_gemm = 0 (else the default: mixed-input kernels on sm_90) */
static int sim_variant;      /* stream variant each STEP_STREAM runs (clamped) */
static int sim_pipe;         /* ... stream_pipe: the shared-memory W ring variants too */
static int gemv_runs;        /* GEMM steps that ran their decode GEMV kernel */
static int gemv_wide_runs;   /* ... their second one (plan_gemm.decode_wide_kernel) */
static int half_mac_runs;    /* ... of them multiplying codes and f16 x in f16 pairs */
static int stream_dequants;  /* dequant kernels the small-T route ran (int8 must convert in registers) */
static int stream_runs;      /* stream kernels launched */
static int pipe_runs;        /* ... of them with the shared-memory W ring */
static int fused_runs;       /* persistent kernels launched (each runs two stream steps) */
static int own_norm_runs;    /* small-T route norms run as their own kernel */
static int tall_runs;        /* W ring kernels with warps across tokens (plan_stream.tall_v) */
static int gated_skips;      /* gated steps skipped: the decode GEMV before them applied the gating */
static int act_skips;        /* element-wise activation steps skipped: the decode GEMV before them applied them */
static int norm_skips;       /* norm steps skipped: the decode GEMV after them computed the norm */
static int deq_skips;        /* dequant steps skipped: every GEMM reading their output ran a decode GEMV on the codes */
/* When set, fills a param or input after the random fill (a test's chosen values: every fp8 code). */
static void (*sim_fill)(const plan_buf *B, void *ptr, int64_t n);


/* The generated kernel step s launches at T, or -1 (a cuBLASLt GEMM, computed on the host; an all-reduce). Stream
** steps run the variant asked for, else the first that serves T (the route's bound is the best one's); GEMM steps
** their decode kernel as dsmlp_run picks it. */
static int step_kernel(const plan *p, const plan_step *s, long long T)
{
    if (s->kind == STEP_STREAM) {
        int v = sim_variant < s->stream.nvariants ? sim_variant : s->stream.nvariants - 1;
        for (int i = 0; i < s->stream.nvariants && T > 8 * p->kernels[s->stream.variant[v]].sk_maxnt; i++) v = i;
        ck_assert_int_le(T, 8 * p->kernels[s->stream.variant[v]].sk_maxnt);
        return s->stream.variant[v];
    }
    if (s->kind == STEP_GEMM) return plan_gemm_decode_at(&s->gemm, T);
    return s->kind == STEP_KERNEL ? s->kernel : -1;
}

/* Whether the GEMM step writing activation step gs's input (gated or element-wise) ran a decode GEMV that applied
** the step at T. */
static int decode_applied_act(const plan *p, const plan_step *steps, int n, const plan_step *gs, long long T)
{
    for (int i = 0; i < n; i++)
        if (steps[i].kind == STEP_GEMM && steps[i].gemm.d == gs->op.act.in)
            return steps[i].gemm.decode_act_out == gs->op.act.out && step_kernel(p, &steps[i], T) >= 0;
    return 0;
}

/* Whether the GEMM step reading norm step ns's output runs a decode GEMV that computes the norm itself at T (the
** first one: the wide one never does). */
static int gemv_norm_ran(const plan *p, const plan_step *steps, int n, const plan_step *ns, long long T)
{
    for (int i = 0; i < n; i++)
        if (steps[i].kind == STEP_GEMM && steps[i].gemm.decode_norm >= 0 && steps[i].gemm.x == ns->op.norm.out)
            return steps[i].gemm.decode_kernel >= 0 && step_kernel(p, &steps[i], T) == steps[i].gemm.decode_kernel;
    return 0;
}

/* Whether dequant step ds need not run at T: every GEMM step reading its output runs its decode GEMV on the codes
** (as the runtime, exec_mixed.c dsmlpR_mixed_skips_dequant; the workspace copy then stays poisoned). */
static int deq_skipped(const plan *p, const plan_step *steps, int n, const plan_step *ds, long long T)
{
    int readers = 0;
    for (int i = 0; i < n; i++) {
        const plan_step *s = &steps[i];
        if (s->kind == STEP_GEMM && s->gemm.w == ds->op.deq.out) {
            if (s->gemm.decode_q < 0 || step_kernel(p, s, T) < 0) return 0;
            readers++;
        } else if (s->kind == STEP_STREAM) {
            return 0;   /* the small-T route's kernels read the weight their own way */
        } else if (s->kind == STEP_KERNEL && s != ds) {
            for (int a = 0; a < p->kernels[s->kernel].nargs; a++)
                if (p->kernels[s->kernel].args[a] == ds->op.deq.out) return 0;   /* another reader needs the copy */
        }
    }
    return readers > 0;
}

/* need[i] = 1 for the kernels a run at T launches (the others are neither host-compiled nor loaded). */
static void kernels_needed(const plan *p, int stream, long long T, char *need)
{
    const plan_step *steps = stream ? p->ssteps : p->steps;
    const int n = stream ? p->nssteps : p->nsteps;
    for (int i = 0; i < n; i++) {
        int k = step_kernel(p, &steps[i], T);
        if (k >= 0) need[k] = 1;
    }
}

static void rank_init(rank *r, dsmlp_ctx *ctx, const dsmlp_graph *g, long long T, const rank *shared_from)
{
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.arch = "sm_90", o.defer_compile = 1, o.max_tokens = sim_stream ? 128 : 16, o.decode_max_tokens = sim_decode;
    o.stream_max_tokens = sim_stream, o.stream_pipe = sim_pipe;
    if (sim_no_mixed) o.mixed_gemm = 0;
    TU_OK(ctx, dsmlp_plan_build(ctx, g, &o, &r->h));
    const plan *p = r->h->p;
    r->ptr = calloc((size_t)p->nbufs, sizeof *r->ptr);
    r->ws = malloc(p->ws_bytes + 16);
    tu_poison(r->ws, p->ws_bytes);
    r->bind = calloc((size_t)p->nbufs, sizeof *r->bind);
    r->nbind = 0;
    r->stream = sim_stream && T <= p->stream_max_T;
    if (sim_stream && !r->stream) printf("  (main route: stream_max_T %lld: %s)\n", (long long)p->stream_max_T, p->stream_why);
    for (int b = 0; b < p->nbufs; b++) {
        const plan_buf *B = &p->bufs[b];
        if (B->kind == BUF_WORK) {
            ck_assert_int_le(B->ws_offset + buf_bytes(B, T), p->ws_bytes);
            r->ptr[b] = (char *)r->ws + B->ws_offset;
            continue;
        }
        if (B->kind == BUF_SCRATCH) {   /* as the runtime: partials per grid block, counters zeroed */
            /* for the largest grid a stream kernel of this plan runs (poisoning room for SIM_MAX_GRID blocks on
            ** every run cost most of the suite's time in page faults) */
            int64_t blocks = 1;
            for (int i = 0; i < p->nkernels; i++)
                if (p->kernels[i].kind == KERN_STREAM && stream_blocks(&p->kernels[i]) > blocks)
                    blocks = stream_blocks(&p->kernels[i]);
            size_t n = B->per_block ? B->ws_bytes * (size_t)blocks : B->ws_bytes;
            r->ptr[b] = aligned_alloc(16, (n + 15) / 16 * 16 + 16);
            if (B->per_block) tu_poison(r->ptr[b], n);
            else memset(r->ptr[b], 0, n);
            continue;
        }
        size_t n = buf_bytes(B, T);
        r->ptr[b] = aligned_alloc(16, (n + 15) / 16 * 16 + 16);
        if (B->kind == BUF_OUTPUT) {
            tu_poison(r->ptr[b], n);
            continue;
        }
        int from = shared_from ? dsmlpC_plan_find_buf(shared_from->h->p, B->name) : -1;
        if (B->kind == BUF_INPUT && from >= 0)  /* inputs are the same on every rank */
            memcpy(r->ptr[b], shared_from->ptr[from], n);
        else
        {
            /* weights small, int8 group scales ~ 1/(127*20) so activations stay O(1) */
            double sc = B->kind == BUF_PARAM && !B->tokens && B->rows > 1 ? 0.05 : strstr(B->name, "_scales") ? 4e-4 : 0.5;
            const int64_t cnt = (int64_t)(n / dsmlp_dtype_size(B->dtype));
            tu_fill(B->dtype, r->ptr[b], cnt, sc);
            if (sim_fill) sim_fill(B, r->ptr[b], cnt);
        }
        r->bind[r->nbind++] = (dsmlp_host_tensor){B->name, B->dtype, r->ptr[b]};
    }
    char *need = calloc((size_t)p->nkernels + 1, 1);
    kernels_needed(p, r->stream, T, need);
    compile_all(p, need);
    r->k = calloc((size_t)p->nkernels + 1, sizeof *r->k);
    for (int i = 0; i < p->nkernels; i++)
        if (need[i]) load_host(&p->kernels[i], &r->k[i]);
    free(need);
    r->pc = 0;
}

static void run_kernel(rank *r, int ki, long long T)
{
    const plan *p = r->h->p;
    const plan_kernel *k = &p->kernels[ki];
    void *a[PLAN_MAX_ARGS] = {0};
    for (int i = 0; i < k->nargs; i++) a[i] = r->ptr[k->args[i]];
    ck_assert_msg(r->k[ki].so != NULL, "kernel %s runs but kernels_needed did not load it", k->name);
    launch(&r->k[ki], k, T, a);
}

/* Runs until the next all-reduce (returns its buffer) or the end (-1). */
static int rank_run(rank *r, long long T)
{
    const plan *p = r->h->p;
    const plan_step *steps = r->stream ? p->ssteps : p->steps;
    const int n = r->stream ? p->nssteps : p->nsteps;
    while (r->pc < n) {
        const plan_step *s = &steps[r->pc++];
        const int k = step_kernel(p, s, T);
        if (s->kind == STEP_STREAM) {
            const int fused = p->kernels[k].sk_fused;   /* role 1 runs both steps, role 2 nothing */
            if (!fused || s->stream.fused_role == 1) run_kernel(r, k, T);
            fused_runs += fused && s->stream.fused_role == 1;
            pipe_runs += fused ? 1 : strstr(p->kernels[k].sk_what, "W ring") != NULL;
            tall_runs += s->stream.tall_v >= 0 && k == s->stream.variant[s->stream.tall_v];
            if (fused) ck_assert_int_eq(p->ssteps[s->stream.fused_role == 1 ? r->pc : r->pc - 2].stream.variant[sim_variant], k);
            /* every launch leaves its tile counters at zero for the next one */
            const plan_buf *C = &p->bufs[s->stream.counters];
            for (size_t i = 0; i < C->ws_bytes / 4; i++)
                ck_assert_msg(((unsigned *)r->ptr[s->stream.counters])[i] == 0, "tile counter %zu left at %u", i,
                              ((unsigned *)r->ptr[s->stream.counters])[i]);
            stream_runs++;
        } else if (s->kind == STEP_GEMM && k >= 0) {
            run_kernel(r, k, T);
            gemv_runs++;
            gemv_wide_runs += k == s->gemm.decode_wide_kernel;
            half_mac_runs += p->kernels[k].gemv_half_mac;
        } else if (s->kind == STEP_GEMM) {
            gemm(p, &s->gemm, r->ptr, T);
        } else if (s->kind == STEP_KERNEL && (s->op.kind == KERN_GATED || s->op.kind == KERN_ACT) &&
                   decode_applied_act(p, steps, n, s, T)) {
            /* as the runtime (exec_mixed.c dsmlpR_gemm_applies_act): the GEMV wrote the step's output */
            *(s->op.kind == KERN_GATED ? &gated_skips : &act_skips) += 1;
        } else if (s->kind == STEP_KERNEL && s->op.kind == KERN_NORM && gemv_norm_ran(p, steps, n, s, T)) {
            norm_skips++;   /* as the runtime (exec_mixed.c dsmlpR_gemv_skips_norm) */
        } else if (s->kind == STEP_KERNEL && s->op.kind == KERN_DEQUANT && deq_skipped(p, steps, n, s, T)) {
            deq_skips++;
        } else if (s->kind == STEP_KERNEL) {
            /* a norm kept as its own kernel runs only when its GEMM's kernel does not normalize */
            if (s->norm_for && !dsmlpC_route_step_runs(p, s, step_kernel(p, &steps[s->norm_for - 1], T))) continue;
            own_norm_runs += s->norm_for != 0;
            stream_dequants += r->stream && p->kernels[k].kind == KERN_DEQUANT;
            run_kernel(r, k, T);
        } else {
            return s->buf;
        }
    }
    return -1;
}

static void rank_free(rank *r)
{
    const plan *p = r->h->p;
    for (int b = 0; b < p->nbufs; b++)
        if (p->bufs[b].kind != BUF_WORK) free(r->ptr[b]);
    for (int i = 0; i < p->nkernels; i++)
        if (r->k[i].so) dlclose(r->k[i].so);
    free(r->k), free(r->ptr), free(r->ws), free(r->bind);
    dsmlp_plan_free(r->h);
}

static double tol(dsmlp_dtype t) { return t == DSMLP_F32 ? 1e-5 : t == DSMLP_F16 ? 2e-3 : 1.6e-2; }

/* Simulates P ranks' graphs for T tokens; checks output "out" (or `outname`). */
static void simulate(dsmlp_ctx *ctx, dsmlp_graph **g, int P, long long T, const char *outname, const char *what)
{
    rank r[4];
    for (int i = 0; i < P; i++) rank_init(&r[i], ctx, g[i], T, i ? &r[0] : NULL);
    for (;;) {
        int ar[4], n = 0;
        for (int i = 0; i < P; i++) n += (ar[i] = rank_run(&r[i], T)) >= 0;
        if (!n) break;
        ck_assert_int_eq(n, P);  /* every rank reaches the same all-reduce */
        const plan_buf *B = &r[0].h->p->bufs[ar[0]];
        int64_t cnt = (int64_t)(buf_bytes(B, T) / dsmlp_dtype_size(B->dtype));
        for (int64_t e = 0; e < cnt; e++) {
            double s = 0;
            for (int i = 0; i < P; i++) s += dsmlpB_dtype_load(B->dtype, r[i].ptr[ar[i]], e);
            for (int i = 0; i < P; i++) dsmlpB_dtype_store(B->dtype, r[i].ptr[ar[i]], e, s);
        }
    }
    int ob = dsmlpC_plan_find_buf(r[0].h->p, outname);
    ck_assert_int_ge(ob, 0);
    const plan_buf *O = &r[0].h->p->bufs[ob];
    int64_t cnt = (int64_t)(buf_bytes(O, T) / dsmlp_dtype_size(O->dtype));
    double *ref = malloc((size_t)cnt * sizeof *ref);
    dsmlp_host_tensor *binds[4];
    int nb[4];
    for (int i = 0; i < P; i++) {
        binds[i] = calloc((size_t)r[i].nbind + 1, sizeof **binds);
        memcpy(binds[i], r[i].bind, (size_t)r[i].nbind * sizeof **binds);
        binds[i][r[i].nbind] = (dsmlp_host_tensor){outname, DSMLP_F64, ref};
        nb[i] = r[i].nbind + 1;
    }
    if (P == 1) TU_OK(ctx, dsmlp_reference_run_f64(g[0], T, binds[0], nb[0]));
    else TU_OK(ctx, dsmlp_reference_run_ranks_f64(g, P, T, (const dsmlp_host_tensor *const *)binds, nb));
    for (int i = 0; i < P; i++) {
        const plan_buf *Oi = &r[i].h->p->bufs[dsmlpC_plan_find_buf(r[i].h->p, outname)];
        double e = tu_rel_error(Oi->dtype, r[i].ptr[dsmlpC_plan_find_buf(r[i].h->p, outname)], ref, cnt);
        printf("%-34s rank %d/%d T=%-3lld %-5s rel err %.3g (tol %.3g)\n", what, i, P, T, dsmlp_dtype_name(O->dtype), e,
               tol(O->dtype));
        ck_assert_msg(e <= tol(O->dtype), "%s rank %d: relative error %g > %g", what, i, e, tol(O->dtype));
        free(binds[i]);
    }
    free(ref);
    for (int i = 0; i < P; i++) rank_free(&r[i]);
}

typedef struct fcase {
    const char *name;
    int64_t H, I;
    dsmlp_dtype dt;
    dsmlp_mlp_act act;
    dsmlp_norm norm;
    int pre_ln, after_attn, int8, biases, layout;
} fcase;

static void run_family(const fcase *c, int P, long long T)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g[4];
    for (int i = 0; i < P; i++) {
        dsmlp_mlp_config m;
        dsmlp_mlp_config_default(&m);
        m.hidden = c->H, m.intermediate = c->I, m.dtype = c->dt, m.activation = c->act, m.norm = c->norm;
        m.pre_layer_norm = c->pre_ln, m.mlp_after_attn = c->after_attn, m.epsilon = 1e-5;
        m.int8_weights = c->int8, m.int8_groups = c->int8 ? (c->H == 1232 ? 16 : 4) : 1;
        m.layout = c->layout ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT;
        m.tp_size = P, m.tp_rank = i;
        m.attn_bias = m.bias1 = m.bias2 = c->biases;
        m.norm_bias = c->biases && c->norm == DSMLP_NORM_LAYERNORM;
        TU_OK(ctx, dsmlp_graph_create(ctx, c->name, &g[i]));
        TU_OK(ctx, dsmlp_mlp_build(g[i], &m));
    }
    simulate(ctx, g, P, T, "out", c->name);
    for (int i = 0; i < P; i++) dsmlp_graph_free(g[i]);
    dsmlp_ctx_free(ctx);
}

static const fcase cases[] = {
    {"gpt2 f32 H=1040 (block norm)", 1040, 256, DSMLP_F32, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 0},
    {"gpt2 f16 H=256", 256, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 0},
    {"opt relu bf16 [out,in]", 96, 200, DSMLP_BF16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
    {"neox f16 (side sum)", 128, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 0, 1, 0},
    {"gptj bf16 (residual kernel)", 192, 0, DSMLP_BF16, DSMLP_MLP_GELU, DSMLP_NORM_NONE, 1, 0, 0, 1, 0},
    {"bert post-LN f32", 64, 0, DSMLP_F32, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 0, 1, 0, 1, 0},
    {"llama bf16 (rms, gated silu)", 128, 344, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 0},
    {"gated gelu LN f16 (bias)", 96, 200, DSMLP_F16, DSMLP_MLP_GATED_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 0},
    {"int8 gpt2 f16", 128, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 0},
    {"rms f32 odd H=100 (vec 4)", 100, 60, DSMLP_F32, DSMLP_MLP_RELU, DSMLP_NORM_RMSNORM, 1, 1, 0, 1, 0},
    {"gpt2 no biases f32 (GELU epi)", 64, 0, DSMLP_F32, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 0, 0},
    {"opt no biases bf16 (RELU epi)", 64, 0, DSMLP_BF16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 0, 1},
    {"neox int8 bf16 [gelu act]", 64, 0, DSMLP_BF16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 1, 1, 0},
};

START_TEST(families_p1)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_family(&cases[i], 1, i % 2 ? 7 : 1);
}
END_TEST

START_TEST(families_p2)
{
    run_family(&cases[1], 2, 5);  /* gpt2 */
    run_family(&cases[3], 2, 3);  /* neox */
    run_family(&cases[4], 2, 2);  /* gptj */
    run_family(&cases[5], 2, 4);  /* bert */
    run_family(&cases[6], 2, 3);  /* llama */
}
END_TEST

/* A hand-built graph: odd width 1001 (scalar tails), scale, silu, a
** relu of a shared sum, an input copied to an output. */
START_TEST(general_graph)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value a, b, c, s1, s2, sc, si, w, m, o2, bb, y2;
    TU_OK(ctx, dsmlp_graph_create(ctx, "general", &g));
    TU_OK(ctx, dsmlp_input(g, "a", DSMLP_F16, 1001, &a));
    TU_OK(ctx, dsmlp_input(g, "b", DSMLP_F16, 1001, &b));
    TU_OK(ctx, dsmlp_input(g, "c", DSMLP_F16, 1001, &c));
    TU_OK(ctx, dsmlp_param_vector(g, "bb", DSMLP_F16, 1001, &bb));
    TU_OK(ctx, dsmlp_add(g, a, b, &s1));
    TU_OK(ctx, dsmlp_add(g, s1, c, &s2));
    TU_OK(ctx, dsmlp_scale(g, s2, 0.125, &sc));
    TU_OK(ctx, dsmlp_silu(g, sc, &si));
    TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, 64, 1001, DSMLP_LAYOUT_OUT_IN, &w));
    TU_OK(ctx, dsmlp_matmul(g, si, w, &m));
    TU_OK(ctx, dsmlp_bias(g, s2, bb, &y2));
    TU_OK(ctx, dsmlp_gelu_erf(g, y2, &o2));
    TU_OK(ctx, dsmlp_output(g, "out", m));
    TU_OK(ctx, dsmlp_output(g, "z", o2));
    simulate(ctx, &g, 1, 3, "out", "general graph: gemm output");
    simulate(ctx, &g, 1, 3, "z", "general graph: odd-width act");
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Fusion edge cases: a norm after the residual GEMM, a GEMM output with two
** readers (no epilogue activation), a gated op whose biased input is shared,
** a residual sum with a scaled term and two bias vectors. */
START_TEST(edge_cases)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x, r, w1, w2, w3, b1, b2, b3, gm, m1, m1b, a1, m2, s, s2, h, m3, m3b, gt, sc, t, y, z;
    TU_OK(ctx, dsmlp_graph_create(ctx, "edges", &g));
    TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, 64, &x));
    TU_OK(ctx, dsmlp_input(g, "r", DSMLP_F16, 64, &r));
    TU_OK(ctx, dsmlp_param_matrix(g, "w1", DSMLP_F16, 64, 96, DSMLP_LAYOUT_IN_OUT, &w1));
    TU_OK(ctx, dsmlp_param_matrix(g, "w2", DSMLP_F16, 64, 96, DSMLP_LAYOUT_OUT_IN, &w2));
    TU_OK(ctx, dsmlp_param_matrix(g, "w3", DSMLP_F16, 64, 128, DSMLP_LAYOUT_IN_OUT, &w3));
    TU_OK(ctx, dsmlp_param_vector(g, "b1", DSMLP_F16, 96, &b1));
    TU_OK(ctx, dsmlp_param_vector(g, "b2", DSMLP_F16, 64, &b2));
    TU_OK(ctx, dsmlp_param_vector(g, "b3", DSMLP_F16, 128, &b3));
    TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_F16, 64, &gm));
    /* m1 = x·w1 read twice: relu(m1 + b1) and m1 itself into w2 */
    TU_OK(ctx, dsmlp_matmul(g, x, w1, &m1));
    TU_OK(ctx, dsmlp_bias(g, m1, b1, &m1b));
    TU_OK(ctx, dsmlp_relu(g, m1b, &a1));
    TU_OK(ctx, dsmlp_add(g, a1, m1, &a1));
    /* residual with a scaled term and two bias vectors, then a norm of it */
    TU_OK(ctx, dsmlp_matmul(g, a1, w2, &m2));
    TU_OK(ctx, dsmlp_scale(g, r, -0.5, &sc));
    TU_OK(ctx, dsmlp_add(g, m2, sc, &s));
    TU_OK(ctx, dsmlp_bias(g, s, b2, &s));
    TU_OK(ctx, dsmlp_add(g, s, x, &s));
    TU_OK(ctx, dsmlp_bias(g, s, gm, &s2));
    TU_OK(ctx, dsmlp_rmsnorm(g, s2, gm, 1e-6, &h));
    /* gated whose biased input is also an output */
    TU_OK(ctx, dsmlp_matmul(g, h, w3, &m3));
    TU_OK(ctx, dsmlp_bias(g, m3, b3, &m3b));
    TU_OK(ctx, dsmlp_gated(g, m3b, DSMLP_ACT_GELU_TANH, &gt));
    TU_OK(ctx, dsmlp_add(g, gt, s2, &t));
    TU_OK(ctx, dsmlp_relu(g, t, &y));
    TU_OK(ctx, dsmlp_output(g, "out", y));
    TU_OK(ctx, dsmlp_output(g, "pre", m3b));
    (void)z;
    simulate(ctx, &g, 1, 5, "out", "edge cases: out");
    simulate(ctx, &g, 1, 5, "pre", "edge cases: shared gated input");
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* A sum of 14 inputs: more than one kernel's arguments, so it is split. */
START_TEST(many_inputs)
{
    dsmlp_ctx *ctx = tu_ctx();
    dsmlp_graph *g;
    dsmlp_value x[14], s;
    TU_OK(ctx, dsmlp_graph_create(ctx, "many", &g));
    for (int i = 0; i < 14; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        TU_OK(ctx, dsmlp_input(g, name, DSMLP_F32, 40, &x[i]));
    }
    s = x[0];
    for (int i = 1; i < 14; i++) TU_OK(ctx, dsmlp_add(g, s, x[i], &s));
    TU_OK(ctx, dsmlp_scale(g, s, 0.5, &s));
    TU_OK(ctx, dsmlp_output(g, "out", s));
    simulate(ctx, &g, 1, 3, "out", "sum of 14 inputs (split)");
    dsmlp_graph_free(g);
    dsmlp_ctx_free(ctx);
}
END_TEST

/* Norms wider than DeepSpeed's 16384 limit: one block of 1024 threads per row. */
START_TEST(wide_norm)
{
    dsmlp_ctx *ctx = tu_ctx();
    for (int rms = 0; rms < 2; rms++) {
        dsmlp_graph *g;
        dsmlp_value x, r, gm, bt, s, y;
        TU_OK(ctx, dsmlp_graph_create(ctx, "wide", &g));
        TU_OK(ctx, dsmlp_input(g, "x", DSMLP_BF16, 20000, &x));
        TU_OK(ctx, dsmlp_input(g, "r", DSMLP_BF16, 20000, &r));
        TU_OK(ctx, dsmlp_param_vector(g, "g", DSMLP_BF16, 20000, &gm));
        TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_BF16, 20000, &bt));
        TU_OK(ctx, dsmlp_add(g, x, r, &s));
        if (rms) TU_OK(ctx, dsmlp_rmsnorm(g, s, gm, 1e-6, &y));
        else TU_OK(ctx, dsmlp_layernorm(g, s, gm, bt, 1e-5, &y));
        TU_OK(ctx, dsmlp_output(g, "out", y));
        TU_OK(ctx, dsmlp_output(g, "sum", s));
        simulate(ctx, &g, 1, 2, "out", rms ? "rmsnorm H=20000" : "layernorm H=20000");
        simulate(ctx, &g, 1, 2, "sum", "  its side output");
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
}
END_TEST

/* The decode GEMV variant in whole plans: [in,out] and [out,in] weights, every
** dtype, bias/GELU/ReLU epilogues, residual C in place, odd widths (scalar
** vectors), T at and below the bound (one specialized body per token count),
** a chunked x stage, and T above the bound (cuBLASLt's path). */
START_TEST(decode_gemv)
{
    static const struct { int fc, decode; long long T; } runs[] = {
        {1, 8, 1},    /* gpt2 f16 [in,out], bias_gelu, bias + C */
        {1, 8, 7},
        {1, 2, 7},    /* above the bound: no GEMV runs */
        {2, 4, 3},    /* opt bf16 [out,in], bias_relu */
        {6, 8, 6},    /* llama bf16, no bias, C (rms, gated) */
        {9, 3, 2},    /* f32, H=100 (vec 4), I=60 */
        {10, 1, 1},   /* f32 GELU epilogue without bias */
        {11, 5, 5},   /* bf16 [out,in] RELU epilogue, no bias */
        {5, 8, 4},    /* bert f32, C = the norm output: the GEMV computes it and block 0 writes it for the second */
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        sim_decode = runs[i].decode;
        int before = gemv_runs, skipped = norm_skips;
        run_family(&cases[runs[i].fc], 1, runs[i].T);
        ck_assert_int_eq(gemv_runs - before, runs[i].T <= runs[i].decode ? 2 : 0);
        printf("  (%d norm step(s) computed by the GEMV)\n", norm_skips - skipped);
        if (runs[i].fc == 5) ck_assert_int_eq(norm_skips - skipped, 1);   /* post-LN: x read again later, still folded */
    }
    /* gated blocks with [out,in] weights: the GEMV applies the gating (and the gated step is skipped) at T <= the
    ** bound, the gated kernel runs above it; odd I (the last warp's outputs clamped) and the GELU family's biases */
    static const fcase gated[] = {
        {"llama bf16 [out,in] (rms, gated silu)", 128, 344, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 1},
        {"gated gelu f16 [out,in] (bias), I=101", 96, 101, DSMLP_F16, DSMLP_MLP_GATED_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
        {"gated silu f32 [out,in] (bias)", 64, 200, DSMLP_F32, DSMLP_MLP_GATED_SILU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
        /* 2I = 9000 rows: 563 blocks of one round (a pair per warp, the last block's pairs partly clamped), launched
        ** as 7 blocks of 81 rounds (SIM_GEMV_RESIDENT) */
        {"llama bf16 [out,in] I=4500 (pairs in rounds)", 64, 4500, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 1},
    };
    static const struct { int decode; long long T; } gruns[] = {{1, 1}, {4, 3}, {8, 8}, {2, 5}};
    for (size_t i = 0; i < sizeof gated / sizeof *gated; i++)
        for (size_t r = 0; r < sizeof gruns / sizeof *gruns; r++) {
            sim_decode = gruns[r].decode;
            const int before = gemv_runs, skipped = gated_skips, runs = gruns[r].T <= gruns[r].decode;
            run_family(&gated[i], 1, gruns[r].T);
            ck_assert_int_eq(gemv_runs - before, runs ? 2 : 0);
            ck_assert_int_eq(gated_skips - skipped, runs);
        }
    ck_assert_int_ge(norm_skips, 5);   /* the blocks whose x fits the stage, bert's post-LN included */
    /* activations cuBLASLt has no epilogue for (erf-GELU, SiLU): the GEMV applies the bias and activation step itself
    ** (the step is skipped) at T <= the bound, the activation kernel runs above it; both layouts, with and without
    ** biases, BERT's post-LN (norm folded and written too), int8 codes; f32 cases tell erf from tanh-GELU (3e-4 apart) */
    static const fcase acts[] = {
        {"bert erf f32 post-LN [in,out]", 64, 0, DSMLP_F32, DSMLP_MLP_GELU_ERF, DSMLP_NORM_LAYERNORM, 0, 1, 0, 1, 0},
        {"neox erf f16 [out,in] I=200", 96, 200, DSMLP_F16, DSMLP_MLP_GELU_ERF, DSMLP_NORM_LAYERNORM, 1, 0, 0, 1, 1},
        {"silu f32 no biases [out,in]", 64, 104, DSMLP_F32, DSMLP_MLP_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 1},
        {"int8 erf bf16", 128, 0, DSMLP_BF16, DSMLP_MLP_GELU_ERF, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 0},
    };
    static const struct { int decode; long long T; } aruns[] = {{1, 1}, {4, 3}, {2, 5}};
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
        for (size_t r = 0; r < sizeof aruns / sizeof *aruns; r++) {
            sim_decode = aruns[r].decode;
            const int before = gemv_runs, skipped = act_skips, runs = aruns[r].T <= aruns[r].decode;
            run_family(&acts[i], 1, aruns[r].T);
            const int gemv = runs && (!acts[i].int8 || aruns[r].T == 1);   /* codes: T = 1 (lower.c: mixed kernels above) */
            ck_assert_int_eq(gemv_runs - before, gemv ? 2 : 0);
            ck_assert_int_eq(act_skips - skipped, gemv);
        }
    /* I = 8456 [out,in]: the first GEMV (with the LayerNorm) covers the columns one per warp in 1057 blocks (the last
    ** partly clamped), launched as 7 blocks of 151 rounds; every [out,in] GEMV here runs in rounds */
    static const fcase wide = {"opt relu f16 [out,in] I=8456 (columns in rounds)", 64, 8456, DSMLP_F16, DSMLP_MLP_RELU,
                               DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1};
    for (int r = 0; r < 2; r++) {
        sim_decode = 4;
        const int before = gemv_runs, rounds = gemv_round_runs;
        run_family(&wide, 1, r ? 4 : 1);
        ck_assert_int_eq(gemv_runs - before, 2);
        ck_assert_int_eq(gemv_round_runs - rounds, 2);
    }
    /* odd k = 1001 with [out,in] weights (1 element per load), k = 20000 [in,out]: the x stage in chunks; k = 4200
    ** [out,in] with n = 8456: chunks (x staged again each round) and rounds */
    sim_decode = 4;
    dsmlp_ctx *ctx = tu_ctx();
    for (int l = 0; l < 3; l++) {
        dsmlp_graph *g;
        dsmlp_value x, w, b, m, y;
        int64_t k = l == 2 ? 4200 : l ? 1001 : 20000, n = l == 2 ? 8456 : l ? 37 : 24;
        TU_OK(ctx, dsmlp_graph_create(ctx, "gemv", &g));
        TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, k, &x));
        TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, l ? n : k, l ? k : n, l ? DSMLP_LAYOUT_OUT_IN : DSMLP_LAYOUT_IN_OUT, &w));
        TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F16, n, &b));
        TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
        TU_OK(ctx, dsmlp_bias(g, m, b, &m));
        TU_OK(ctx, dsmlp_gelu_tanh(g, m, &y));
        TU_OK(ctx, dsmlp_output(g, "out", y));
        int before = gemv_runs;
        simulate(ctx, &g, 1, 3, "out", l == 2 ? "gemv [out,in] k=4200 n=8456 (chunks, rounds)" : l ? "gemv [out,in] k=1001 n=37"
                                                                                       : "gemv [in,out] k=20000 (chunks)");
        ck_assert_int_eq(gemv_runs - before, 1);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
    sim_decode = 0;
}
END_TEST

/* With the auto bound, an int8 GEMM of at least 96 mixed-input row tiles (2I = 12288 outputs: a first GEMM) gets its
** decode GEMV for T = 1 only (lower.c GEMV_CODES_T1_MIN_TILES), and so does the narrow second GEMM behind it (its
** mixed kernel chains behind the first's): at T = 2 the norm step runs and both GEMMs read the dequantized weights
** (the mixed kernels' place); a narrow block (I = 2048: 16 tiles) keeps both GEMVs at T = 2. Plain and gated. */
START_TEST(decode_gemv_codes_wide)
{
    static const fcase wide[] = {
        {"int8 gelu f16 [out,in] I=12288", 128, 12288, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 1},
        {"int8 swiglu bf16 [out,in] I=6144", 128, 6144, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1, 0, 1},
        {"int8 gelu f16 [out,in] I=2048", 128, 2048, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 1},
    };
    sim_decode = -1;
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
        for (long long T = 1; T <= 3; T++) {
            const int narrow = wide[i].I == 2048;
            const int before = gemv_runs, nskip = norm_skips;
            run_family(&wide[i], 1, T);
            const int want = T == 1 || (T == 2 && narrow) ? 2 : 0;
            ck_assert_msg(gemv_runs - before == want, "%s T=%lld: %d GEMVs ran, want %d", wide[i].name, T,
                          gemv_runs - before, want);
            ck_assert_int_eq(norm_skips - nskip, T == 1 || (T == 2 && narrow));   /* the norm in the first GEMV */
        }
    sim_decode = 0;
}
END_TEST

/* With the auto bound, a float GEMM of at least 32 MiB gets a second decode GEMV built for PLAN_DECODE_WIDE_BUILD_T
** tokens serving T = 3..4 (lower.c: PLAN_DECODE_WIDE_MAX_T) beside the one for T <= 2, without the norm (the norm step
** runs there) but with the activation step. f32 weights reach 32 MiB with half the elements of f16 ones (the
** simulation's time; the GPU suite's gemv_wide runs f16 and bf16): GELU [out,in] H = 1024, I = 8192 at T = 3 (both
** weights 32 MiB: two wide GEMVs); SwiGLU [out,in] I = 4096 at T = 4 (W1 32 MiB: its wide GEMV applies the gating; W2
** 16 MiB: cuBLASLt); SwiGLU [in,out] at T = 3 (W1's wide GEMV, the gated step after it). */
START_TEST(decode_gemv_wide)
{
    static const struct { fcase c; long long T; int gemvs, gated; } runs[] = {
        {{"gelu f32 [out,in] H=1024 I=8192", 1024, 8192, DSMLP_F32, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1}, 3, 2, 0},
        {{"swiglu f32 [out,in] H=1024 I=4096", 1024, 4096, DSMLP_F32, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 1}, 4, 1, 1},
        {{"swiglu f32 [in,out] H=1024 I=4096", 1024, 4096, DSMLP_F32, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 0}, 3, 1, 0},
    };
    sim_decode = -1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        const int before = gemv_runs, wide = gemv_wide_runs, nskip = norm_skips, gskip = gated_skips;
        run_family(&runs[i].c, 1, runs[i].T);
        ck_assert_msg(gemv_runs - before == runs[i].gemvs && gemv_wide_runs - wide == runs[i].gemvs,
                      "%s T=%lld: %d GEMVs ran, %d wide, want %d wide", runs[i].c.name, runs[i].T, gemv_runs - before,
                      gemv_wide_runs - wide, runs[i].gemvs);
        ck_assert_int_eq(norm_skips - nskip, 0);   /* the norm step ran: the wide GEMV leaves it */
        ck_assert_int_eq(gated_skips - gskip, runs[i].gated);
    }
    sim_decode = 0;
}
END_TEST

/* An [in,out] GEMV of a large, narrow weight splits k over blocks along y (emit.c gemv_io_shape): n = 1100 f16
** (8-byte slices: 256-byte pieces of 32, the last column block 19 of 32 valid), k = 16040 (35 MB; 8 splits of whole
** 64-row pieces, the last with k's tail of 40), bias + residual C added in place by the last block of each column
** block; T = 1 and 4 (x staged in chunks within a split). */
START_TEST(decode_gemv_split)
{
    sim_decode = 4;
    dsmlp_ctx *ctx = tu_ctx();
    for (int r = 0; r < 2; r++) {
        const int64_t k = 16040, n = 1100;
        dsmlp_graph *g;
        dsmlp_value x, c, w, b, m;
        TU_OK(ctx, dsmlp_graph_create(ctx, "gemv_split", &g));
        TU_OK(ctx, dsmlp_input(g, "x", DSMLP_F16, k, &x));
        TU_OK(ctx, dsmlp_input(g, "c", DSMLP_F16, n, &c));
        TU_OK(ctx, dsmlp_param_matrix(g, "w", DSMLP_F16, k, n, DSMLP_LAYOUT_IN_OUT, &w));
        TU_OK(ctx, dsmlp_param_vector(g, "b", DSMLP_F16, n, &b));
        TU_OK(ctx, dsmlp_matmul(g, x, w, &m));
        TU_OK(ctx, dsmlp_bias(g, m, b, &m));
        TU_OK(ctx, dsmlp_add(g, m, c, &m));
        TU_OK(ctx, dsmlp_output(g, "out", m));
        const int before = gemv_runs, split = gemv_split_runs;
        simulate(ctx, &g, 1, r ? 4 : 1, "out", r ? "gemv [in,out] k=16040 n=1100 split, T=4" : "gemv [in,out] k=16040 n=1100 split, T=1");
        ck_assert_int_eq(gemv_runs - before, 1);
        ck_assert_int_eq(gemv_split_runs - split, 1);
        dsmlp_graph_free(g);
    }
    dsmlp_ctx_free(ctx);
    sim_decode = 0;
}
END_TEST

/* The small-T route: weight-streaming kernels with the norm in the prologue, activation/gating/residual in the
** epilogue, int8 converted in registers; every tile variant, grids from one block (one block walks every tile) to
** one block per load group (every tile split), T in every token bucket with odd counts. */
static const fcase stream_cases[] = {
    {"ws gpt2 f16 [in,out] LN gelu", 256, 512, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 0},
    {"ws llama bf16 [in,out] rms gated silu", 128, 344, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 0},
    {"ws opt bf16 [out,in] relu", 96, 200, DSMLP_BF16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
    {"ws neox f16 (side sum + extras)", 128, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 0, 1, 0},
    {"ws gptj bf16 (no norm)", 104, 0, DSMLP_BF16, DSMLP_MLP_GELU, DSMLP_NORM_NONE, 1, 0, 0, 1, 0},
    {"ws gated gelu f16 [out,in] (bias)", 104, 200, DSMLP_F16, DSMLP_MLP_GATED_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
    {"ws bert post-LN f16", 64, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 0, 1, 0, 1, 0},
    {"ws int8 gpt2 f16", 128, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 0},
    {"ws int8 llama bf16 gated", 96, 208, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1, 0, 0},
    {"ws int8 llama bf16 gated H=1232 (k tail)", 1232, 3328, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1, 0, 0},
};

/* One run of the route: case c at T with a pinned variant and grid; every stream step must run its kernel (no
** dequant kernel: int8 converts in registers) and `ring` of the GEMMs a W ring kernel (0: not checked). */
typedef struct stream_run { int c, variant, grid; long long T; } stream_run;
static void run_stream(const fcase *cases, const stream_run *r, int ring)
{
    sim_variant = r->variant, sim_grid = r->grid;
    int before = stream_runs, deq = stream_dequants, rings = pipe_runs;
    run_family(&cases[r->c], 1, r->T);
    ck_assert_msg(stream_dequants == deq, "%s: the small-T route ran a dequant kernel", cases[r->c].name);
    ck_assert_msg(stream_runs - before >= 2, "%s T=%lld: %d stream kernels ran", cases[r->c].name, r->T,
                  stream_runs - before);
    if (ring)
        ck_assert_msg(pipe_runs - rings == ring, "%s T=%lld: %d of the GEMMs ran a W ring kernel (want %d)", cases[r->c].name,
                      r->T, pipe_runs - rings, ring);
}

START_TEST(stream_route)
{
    static const stream_run runs[] = {
        {0, 0, 0, 1}, {0, 3, 1, 9}, {0, 4, 7, 33}, {0, 4, 0, 100}, {0, 1, 3, 6}, {0, 5, 5, 30}, {0, 2, 2, 7},
        {1, 0, 3, 1}, {1, 3, 0, 17}, {1, 1, 4096, 8}, {1, 4, 5, 64}, {1, 5, 2, 12},
        {2, 0, 0, 3}, {2, 3, 2, 16}, {2, 4, 4096, 40}, {2, 4, 9, 128}, {2, 1, 2, 8}, {2, 5, 3, 20}, {2, 2, 7, 5},
        {3, 0, 0, 5}, {3, 2, 3, 24},
        {4, 1, 1, 2}, {4, 3, 4096, 12},
        {5, 0, 0, 7}, {5, 3, 6, 65},
        {6, 0, 5, 4},
        {7, 0, 0, 1}, {7, 2, 3, 20},
        {8, 2, 2, 9}, {8, 1, 0, 3},
        {9, 3, 132, 16}, {9, 1, 264, 6}, {9, 5, 100, 24},
        /* T <= 32 with two blocks per SM */
        {0, 4, 7, 17}, {8, 4, 2, 32},
    };
    sim_stream = 128;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) run_stream(stream_cases, &runs[i], 0);
    sim_stream = 0, sim_variant = 0, sim_grid = 0;
}
END_TEST

/* stream_pipe: the W ring variants ([out,in], k a multiple of the load group), which follow the register-fed six in
** each step's list (T <= 8 and T <= 16 bodies): 16 (variant 6) and 8 (7) consumer warps, the 8-warp ring for T <= 64 (9), f16/bf16/int8, gated, a side sum, partial chunks
** (k not a multiple of the stage) and several chunks per tile, grids from one block to one per load group. */
static const fcase pipe_cases[] = {
    {"ring opt bf16 [out,in] LN relu", 128, 1088, DSMLP_BF16, DSMLP_MLP_RELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
    {"ring llama f16 [out,in] rms gated silu", 192, 256, DSMLP_F16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 0, 0, 1},
    {"ring neox f16 [out,in] (side sum + extras)", 128, 0, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 0, 0, 1, 1},
    {"ring int8 gpt2 f16 [out,in]", 128, 1024, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 1, 1, 1},
    {"ring int8 llama bf16 [out,in] gated", 128, 320, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1, 0, 1},
    /* I = 200: GEMM1's last tile is partial (rows past N never copied); GEMM2 (k = 200) keeps the register path */
    {"ring f16 [out,in] LN gelu I=200 (partial tile)", 128, 200, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_LAYERNORM, 1, 1, 0, 1, 1},
    {"ring int8 bf16 [out,in] gated I=200 (partial tile)", 128, 200, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_RMSNORM, 1, 1, 1, 0, 1},
    /* no fused norm: x rides in the stages of both GEMMs */
    {"ring int8 f16 [out,in] no norm", 256, 768, DSMLP_F16, DSMLP_MLP_GELU, DSMLP_NORM_NONE, 1, 0, 1, 1, 1},
    {"ring bf16 [out,in] no norm gated I=224 (partial tile)", 128, 224, DSMLP_BF16, DSMLP_MLP_GATED_SILU, DSMLP_NORM_NONE, 1, 0, 0, 1, 1},
};

START_TEST(stream_pipe)
{
    static const stream_run runs[] = {
        {0, 6, 0, 1}, {0, 7, 1, 8}, {0, 6, 4096, 5}, {0, 7, 3, 7},
        {1, 6, 2, 3}, {1, 7, 0, 8},
        {2, 6, 5, 2}, {2, 7, 4096, 4},
        {3, 6, 0, 1}, {3, 7, 7, 6},
        {4, 6, 1, 6}, {4, 7, 4096, 2},
        /* the T <= 16 bodies (two n8 token tiles, fewer stages): norm, side sum, int8 gated */
        {1, 6, 0, 11}, {2, 7, 5, 16}, {3, 6, 3, 9}, {4, 7, 1, 13},
    };
    static const stream_run partial[] = {{5, 6, 0, 3}, {5, 6, 5, 8}, {6, 6, 2, 5}, {6, 6, 4096, 1}, {6, 6, 0, 16}};
    sim_stream = 128, sim_pipe = 1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) run_stream(pipe_cases, &runs[i], 2);
    for (size_t i = 0; i < sizeof partial / sizeof *partial; i++) run_stream(pipe_cases, &partial[i], 1);
    /* no norm: int8 with one block walking every tile (T <= 16 body), bf16 gated with a partial tile; the T <= 64
    ** ring (variant 9; its T <= 32 body reads x from the stage and releases it after the MMAs), int8 and bf16 */
    static const stream_run nonorm[] = {{7, 7, 1, 16}, {8, 6, 3, 5}, {7, 9, 0, 32}, {7, 9, 3, 17},
                                        {7, 9, 4096, 25}, {8, 9, 2, 24}, {8, 9, 0, 30}, {7, 9, 2, 3},
                                        /* T <= 64 (half-length row segments) */
                                        {7, 9, 0, 64}, {7, 9, 3, 40}, {8, 9, 4096, 57}};
    for (size_t i = 0; i < sizeof nonorm / sizeof *nonorm; i++) run_stream(pipe_cases, &nonorm[i], 2);
    /* the T <= 64 ring with the norm as its own kernel (variant 9: GEMM1's 8-warp ring without its prologue norm,
    ** the norm step before it): LN, RMS, a side sum feeding the residual, int8, every body; variant 7 keeps the
    ** norm in the prologue, so the norm step must not run */
    static const stream_run own[] = {{0, 9, 0, 1}, {3, 9, 3, 8}, {4, 9, 1, 13}, {2, 9, 4096, 20}, {3, 9, 0, 32},
                                     {1, 9, 2, 27}, {3, 9, 2, 64}, {4, 9, 0, 41}, {2, 9, 5, 50}};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
        const int before = own_norm_runs;
        run_stream(pipe_cases, &own[i], 2);
        ck_assert_msg(own_norm_runs == before + 1, "%s T=%lld: variant 9 ran the norm step %d times",
                      pipe_cases[own[i].c].name, own[i].T, own_norm_runs - before);
    }
    const int before = own_norm_runs;
    run_stream(pipe_cases, &(stream_run){3, 7, 0, 5}, 2);
    ck_assert_msg(own_norm_runs == before, "variant 7 (the norm in its prologue) also ran the norm step");
    /* the T <= 128 ring (variant 10: warps across tokens, sums in registers, x through the stages, the norm as its
    ** own kernel): both bodies, T with partial token tiles and a second token warp with none or one live tile, whole
    ** and split tiles (grids from one block to one per load group), LN (with a side sum and extras) and RMS, int8
    ** f16 and bf16 and f16 weights, gated, a partial column tile, no norm (three cases: each case's kernels cost
    ** host-compile time; test_quant_sim runs it on the gated scale layouts) */
    static const stream_run tall[] = {{6, 10, 0, 128}, {6, 10, 5, 65}, {6, 10, 2, 9},  {2, 10, 7, 90},
                                      {2, 10, 0, 33},  {6, 10, 3, 127}, {6, 10, 0, 40}, {7, 10, 1, 66},
                                      {7, 10, 4096, 64}, {7, 10, 3, 100}, {7, 10, 0, 1}};
    for (size_t i = 0; i < sizeof tall / sizeof *tall; i++) {
        const int b_tall = tall_runs, b_norm = own_norm_runs;
        const int want = tall[i].c == 5 || tall[i].c == 6 ? 1 : 2;   /* I = 200: GEMM2's k is no whole load group */
        run_stream(pipe_cases, &tall[i], want);
        ck_assert_msg(tall_runs == b_tall + want, "%s T=%lld: %d GEMMs ran the T <= 128 ring", pipe_cases[tall[i].c].name,
                      tall[i].T, tall_runs - b_tall);
        ck_assert_int_eq(own_norm_runs, b_norm + (pipe_cases[tall[i].c].norm != DSMLP_NORM_NONE));
    }
    sim_stream = 0, sim_pipe = 0, sim_variant = 0, sim_grid = 0;
}
END_TEST

/* The persistent kernel (variant 8: both GEMMs on the 8-warp ring, a grid barrier between them),
** every block resident at once: LN/RMS, int8 and f16, gated, a side sum feeding the residual, no norm, both bodies,
** grids from one block to the simulation's resident maximum (DSMLP_SIM_ORDER varies the blocks' order). */
START_TEST(stream_fused)
{
    static const stream_run runs[] = {
        {3, 8, 0, 1}, {3, 8, 3, 12}, {4, 8, 1, 6}, {4, 8, 5, 16}, {2, 8, 4096, 3}, {7, 8, 2, 8}, {0, 8, 7, 13},
    };
    sim_stream = 128, sim_pipe = 1;
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        const int before = fused_runs;
        run_stream(pipe_cases, &runs[i], 2);
        ck_assert_msg(fused_runs == before + 1, "%s T=%lld: variant %d did not run a persistent kernel",
                      pipe_cases[runs[i].c].name, runs[i].T, runs[i].variant);
    }
    sim_stream = 0, sim_pipe = 0, sim_variant = 0, sim_grid = 0;
}
END_TEST

int main(void)
{
    if (system("g++ --version > /dev/null 2>&1") != 0) {
        printf("g++ not found: host simulation skipped\n");
        return TU_SKIP;
    }
    Suite *s = suite_create("plan_sim");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 900);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, families_p1);
    tcase_add_test(tc, families_p2);
    tcase_add_test(tc, general_graph);
    tcase_add_test(tc, wide_norm);
    tcase_add_test(tc, many_inputs);
    tcase_add_test(tc, edge_cases);
    tcase_add_test(tc, decode_gemv);
    tcase_add_test(tc, decode_gemv_split);
    tcase_add_test(tc, decode_gemv_codes_wide);
    tcase_add_test(tc, decode_gemv_wide);
    suite_add_tcase(s, tc);
    /* Its own case, so CTest can run it beside the rest (CK_RUN_CASE=stream; CMakeLists.txt). */
    TCase *ts = tcase_create("stream");
    tcase_set_timeout(ts, 900);
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, stream_route);
    suite_add_tcase(s, ts);
    TCase *tp = tcase_create("pipe");
    tcase_set_timeout(tp, 900);
    tcase_add_checked_fixture(tp, setup, teardown);
    tcase_add_test(tp, stream_pipe);
    suite_add_tcase(s, tp);
    TCase *tf = tcase_create("fused");
    tcase_set_timeout(tf, 900);
    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, stream_fused);
    suite_add_tcase(s, tf);
    return tu_run_suite(s);
}
