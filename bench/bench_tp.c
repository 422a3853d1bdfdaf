/*
** bench_tp.c — dsmlp-bench --tp: tensor parallelism, one process per GPU.
**
**   tools/tp-launch.sh -n 2 build/bin/dsmlp-bench --tp [--tokens ...] [--md FILE]
**
** In one run, every number a CUDA-graph replay (median of --reps after
** warm-up; the slowest rank's median):
**   1. the all-reduce alone, bf16, 2 KiB .. 32 MiB: dsmlp's peer-memory path
**      (one-shot; two-shot from two_shot_min_bytes at P >= 4) and NCCL, each
**      timed as 16 back-to-back all-reduces in one graph (per-op time), and
**      the largest size where the peer-memory path still wins: the measured
**      switch point for custom_max_bytes (DSMLP_TP_CUSTOM_MAX_BYTES);
**   2. per block and T: the all-reduce of the block's output (T·H) by dsmlp's
**      choice and by NCCL, the whole TP block (rank r's plan, attached to the
**      group) and the one-GPU block (the P = 1 plan on rank 0's GPU alone);
**      ratio TP ÷ one GPU.
** The PyTorch + NCCL peer of the same table is bench/tp_peers.py; bench/tp-run.sh
** runs both.
*/
#include <math.h>
#include <nccl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cuda.h"
#include "dsmlp.h"

#define TP_OPS 16   /* all-reduces per graph when timing them alone */

static int tp_rank;

static void tp_die(dsmlp_ctx *ctx, dsmlp_status s, const char *what)
{
    if (s == DSMLP_OK) return;
    fprintf(stderr, "dsmlp-bench --tp rank %d: %s: %s: %s\n", tp_rank, what, dsmlp_status_name(s),
            dsmlp_last_error(ctx));
    exit(1);
}

/* The slowest rank's value (every rank calls it). */
static double tp_max(dsmlp_ctx *ctx, dsmlp_tp *tp, double v)
{
    double all[64];
    int P = dsmlp_tp_size(tp);
    tp_die(ctx, dsmlp_tp_allgather(tp, &v, sizeof v, all), "allgather");
    for (int r = 0; r < P; r++) v = all[r] > v ? all[r] : v;
    return v;
}

static void tp_barrier(dsmlp_ctx *ctx, dsmlp_tp *tp) { (void)tp_max(ctx, tp, 0); }

/* Per-op µs of TP_OPS all-reduces of `count` elements captured in one graph:
** dsmlp's choice (nccl = 0) or ncclAllReduce (nccl = 1). */
static double time_ar(dsmlp_ctx *ctx, dsmlp_tp *tp, CUdeviceptr buf, size_t count, dsmlp_dtype dt, int nccl, int reps)
{
    ncclDataType_t nt = dt == DSMLP_F16 ? ncclFloat16 : dt == DSMLP_BF16 ? ncclBfloat16 : ncclFloat32;
    CUgraph graph;
    CUgraphExec exec;
    tp_barrier(ctx, tp);
    bench_cuda_check(bench_cu.StreamBeginCapture(bench_cu.stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "capture");
    for (int i = 0; i < TP_OPS; i++) {
        if (nccl) {
            ncclResult_t r = ncclAllReduce((void *)buf, (void *)buf, count, nt, ncclSum,
                                           (ncclComm_t)dsmlp_tp_nccl_comm(tp), (cudaStream_t)bench_cu.stream);
            if (r != ncclSuccess) {
                fprintf(stderr, "dsmlp-bench --tp: ncclAllReduce: %s\n", ncclGetErrorString(r));
                exit(1);
            }
        } else {
            tp_die(ctx, dsmlp_tp_all_reduce(tp, (void *)buf, count, dt, (void *)bench_cu.stream), "all_reduce");
        }
    }
    bench_cuda_check(bench_cu.StreamEndCapture(bench_cu.stream, &graph), "end capture");
    bench_cuda_check(bench_cu.GraphInstantiate(&exec, graph, 0), "instantiate");
    double us = time_graph(exec, reps) / TP_OPS;
    bench_cu.GraphExecDestroy(exec);
    bench_cu.GraphDestroy(graph);
    return tp_max(ctx, tp, us);
}

static double time_plan(dsmlp_ctx *ctx, dsmlp_plan *plan, int64_t T, int reps)
{
    dsmlp_status s;
    double us = time_plan_graph(plan, T, reps, &s);
    tp_die(ctx, s, "dsmlp_run (captured)");
    return us;
}

/* Compiles a deferred plan's kernels on several threads (each with its own
** context on the same store), as dsmlp-compile does: NVRTC would otherwise
** compile them one after the other inside dsmlp_plan_load. */
typedef struct compile_job {
    const dsmlp_plan *plan;
    int               next, n, failed;
    pthread_mutex_t   mu;
} compile_job;

static void *compile_worker(void *arg)
{
    compile_job *j = arg;
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return NULL;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int k = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (k >= j->n) break;
        if (dsmlp_plan_compile_kernel(ctx, j->plan, k, NULL) != DSMLP_OK) {
            fprintf(stderr, "dsmlp-bench --tp: kernel %d: %s\n", k, dsmlp_last_error(ctx));
            j->failed = 1;
        }
    }
    dsmlp_ctx_free(ctx);
    return NULL;
}

static void compile_parallel(dsmlp_ctx *ctx, const dsmlp_graph *g, dsmlp_compile_options *o, int ranks_here,
                             dsmlp_plan **out)
{
    o->arch = dsmlp_device_arch(ctx);
    o->defer_compile = 1;
    tp_die(ctx, dsmlp_plan_build(ctx, g, o, out), "plan_build");
    compile_job j = {.plan = *out, .n = dsmlp_plan_kernels(*out)};
    pthread_mutex_init(&j.mu, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN) / (ranks_here > 0 ? ranks_here : 1);
    int nt = cores < 1 ? 1 : cores > 32 ? 32 : (int)cores;
    pthread_t th[32];
    for (int t = 0; t < nt; t++) pthread_create(&th[t], NULL, compile_worker, &j);
    for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
    if (j.failed) exit(1);
    tp_die(ctx, dsmlp_plan_load(*out), "plan_load");   /* every kernel is a store hit now */
}

/* A plan of cfg with random parameters and buffers for maxT tokens. */
typedef struct tp_plan_buf {
    dsmlp_plan *plan;
    CUdeviceptr mem[16];
    int         n;
} tp_plan_buf;

static void plan_open(dsmlp_ctx *ctx, dsmlp_tp *tp, const dsmlp_mlp_config *cfg, int64_t maxT, tp_plan_buf *pb)
{
    dsmlp_graph *g;
    memset(pb, 0, sizeof *pb);
    tp_die(ctx, dsmlp_graph_create(ctx, "bench_tp", &g), "graph_create");
    tp_die(ctx, dsmlp_mlp_build(g, cfg), "mlp_build");
    dsmlp_compile_options o;
    dsmlp_compile_options_default(&o);
    o.max_tokens = maxT;
    compile_parallel(ctx, g, &o, tp ? dsmlp_tp_size(tp) : 1, &pb->plan);
    if (tp) tp_die(ctx, dsmlp_plan_set_tp(pb->plan, tp), "plan_set_tp");
    for (int v = 0; v < dsmlp_graph_size(g) && pb->n < 16; v++) {
        dsmlp_value_info vi;
        tp_die(ctx, dsmlp_value_get(g, v, &vi), "value_get");
        if (vi.op != DSMLP_OP_INPUT && vi.op != DSMLP_OP_PARAM && vi.op != DSMLP_OP_OUTPUT) continue;
        size_t n = vi.op == DSMLP_OP_PARAM ? (size_t)(vi.rank == 2 ? vi.dims[0] * vi.dims[1] : vi.dims[0])
                                           : (size_t)maxT * (size_t)vi.dims[1];
        double scale = vi.op == DSMLP_OP_PARAM && vi.rank == 2 ? 1 / sqrt((double)vi.dims[1]) : 1;
        CUdeviceptr *m = &pb->mem[pb->n++];
        bench_cuda_check(bench_cu.MemAlloc(m, n * dsmlp_dtype_size(vi.dtype)), "cuMemAlloc");
        fill_device(vi.dtype, *m, n, scale, 31u + (unsigned)v);
        dsmlp_status s = dsmlp_bind(pb->plan, vi.name, (void *)*m);
        if (s != DSMLP_ERR_NOT_FOUND) tp_die(ctx, s, vi.name);
    }
    dsmlp_graph_free(g);
}

static void plan_close(tp_plan_buf *pb)
{
    if (pb->plan) dsmlp_plan_free(pb->plan);
    for (int i = 0; i < pb->n; i++) bench_cu.MemFree(pb->mem[i]);
    memset(pb, 0, sizeof *pb);
}

static void usage(void)
{
    printf("usage: tools/tp-launch.sh -n P build/bin/dsmlp-bench --tp [--tokens 1,16,128,1024,8192] [--reps N]\n"
           "                        [--block gelu_f16_h4096|swiglu_bf16_h4096] [--no-sweep | --sweep-only] [--md FILE]\n"
           "One process per GPU (RANK, WORLD_SIZE, LOCAL_RANK, DSMLP_TP_RENDEZVOUS or MASTER_ADDR/PORT).\n"
           "Rank 0 prints: the all-reduce alone per size (peer memory vs NCCL, the switch point) and per\n"
           "block and T the all-reduce, the TP block, the one-GPU block and TP / one-GPU.\n");
}

int bench_tp_main(int argc, char **argv)
{
    int tokens[16] = {1, 16, 128, 1024, 8192}, ntok = 5, reps = 200, sweep = 1, blocks_too = 1;
    const char *only = NULL, *md_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            ntok = 0;
            for (char *t = strtok(argv[++i], ","); t && ntok < 16; t = strtok(NULL, ",")) tokens[ntok++] = atoi(t);
        } else if (!strcmp(argv[i], "--block") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--md") && i + 1 < argc) md_path = argv[++i];
        else if (!strcmp(argv[i], "--no-sweep")) sweep = 0;
        else if (!strcmp(argv[i], "--sweep-only")) blocks_too = 0;
        else { fprintf(stderr, "dsmlp-bench --tp: unknown argument '%s'\n", argv[i]); usage(); return 2; }
    }
    if (reps < 1 || ntok < 1) { usage(); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);   /* lines reach a pipe or log as they are printed */
    dsmlp_ctx *ctx;
    if (dsmlp_ctx_create(&ctx) != DSMLP_OK) return 1;
    dsmlp_tp_options o;
    dsmlp_tp_options_default(&o);
    if (dsmlp_tp_options_from_env(ctx, &o) != DSMLP_OK) {
        fprintf(stderr, "dsmlp-bench --tp: %s\n", dsmlp_last_error(ctx));
        return 2;
    }
    tp_rank = o.rank;
    if (bench_cuda_init_device(&bench_cu, o.device >= 0 ? o.device : o.local_rank >= 0 ? o.local_rank : 0)) return 77;
    FILE *md = tp_rank == 0 && md_path ? fopen(md_path, "w") : NULL;
    dsmlp_tp *tp;

    /* 1. The all-reduce alone: a group whose peer-memory path takes every size. */
    if (sweep) {
        dsmlp_tp_options wide = o;
        wide.custom_max_bytes = (size_t)32 << 20;
        tp_die(ctx, dsmlp_tp_create(ctx, &wide, &tp), "tp_create");
        int P = dsmlp_tp_size(tp);
        if (tp_rank == 0) printf("card: %s\ngroup: %s\n", bench_cu.name, dsmlp_tp_describe(tp));
        tp_die(ctx, dsmlp_tp_reserve(tp, wide.custom_max_bytes), "reserve");
        CUdeviceptr buf;
        bench_cuda_check(bench_cu.MemAlloc(&buf, wide.custom_max_bytes), "cuMemAlloc");
        fill_device(DSMLP_BF16, buf, wide.custom_max_bytes / 2, 1e-3, 7);
        size_t switch_at = 0;
        int leading = 1;   /* the peer-memory path won at every size so far */
        if (tp_rank == 0) {
            printf("\nall-reduce alone, bf16, P=%d, per op inside a CUDA graph of %d (us):\n", P, TP_OPS);
            printf("%10s %14s %10s %8s\n", "bytes", "peer memory", "NCCL", "winner");
        }
        if (md) fprintf(md, "| card | P | bytes | peer memory µs | NCCL µs |\n|---|---|---|---|---|\n");
        for (size_t bytes = 2048; bytes <= wide.custom_max_bytes; bytes *= 2) {
            double c = dsmlp_tp_custom(tp) ? time_ar(ctx, tp, buf, bytes / 2, DSMLP_BF16, 0, reps) : NAN;
            double n = dsmlp_tp_nccl_comm(tp) ? time_ar(ctx, tp, buf, bytes / 2, DSMLP_BF16, 1, reps) : NAN;
            if (leading && c < n) switch_at = bytes;
            else leading = 0;
            if (tp_rank == 0) {
                printf("%10zu %14.2f %10.2f %8s%s\n", bytes, c, n, isnan(c) || isnan(n) ? "-" : c < n ? "peer" : "NCCL",
                       P >= 4 && bytes >= o.two_shot_min_bytes ? "  (two-shot)" : "");
                if (md) fprintf(md, "| %s | %d | %zu | %.2f | %.2f |\n", bench_cu.name, P, bytes, c, n);
            }
        }
        if (tp_rank == 0 && dsmlp_tp_custom(tp) && dsmlp_tp_nccl_comm(tp))
            printf("measured switch point: the peer-memory path wins up to %zu bytes (custom_max_bytes now %zu)\n",
                   switch_at, o.custom_max_bytes);
        else if (tp_rank == 0)
            printf("no switch point: this group has %s\n", dsmlp_tp_custom(tp) ? "no NCCL" : "no peer-memory path");
        bench_cu.MemFree(buf);
        dsmlp_tp_free(tp);
    }

    if (!blocks_too) {
        dsmlp_ctx_free(ctx);
        return 0;
    }
    /* 2. The blocks, with the group as configured (env). */
    tp_die(ctx, dsmlp_tp_create(ctx, &o, &tp), "tp_create");
    int P = dsmlp_tp_size(tp);
    if (tp_rank == 0 && !sweep) printf("card: %s\ngroup: %s\n", bench_cu.name, dsmlp_tp_describe(tp));
    int64_t maxT = 0;
    for (int i = 0; i < ntok; i++) maxT = tokens[i] > maxT ? tokens[i] : maxT;
    dsmlp_mlp_config blocks[2];
    const char *names[2] = {"gelu_f16_h4096", "swiglu_bf16_h4096"};
    for (int i = 0; i < 2; i++) dsmlp_mlp_config_default(&blocks[i]);
    blocks[0].hidden = 4096, blocks[0].intermediate = 16384, blocks[0].dtype = DSMLP_F16, blocks[0].epsilon = 1e-5;
    blocks[1].hidden = 4096, blocks[1].intermediate = 14336, blocks[1].dtype = DSMLP_BF16;
    blocks[1].activation = DSMLP_MLP_GATED_SILU, blocks[1].norm = DSMLP_NORM_RMSNORM, blocks[1].epsilon = 1e-5;
    blocks[1].attn_bias = blocks[1].norm_bias = blocks[1].bias1 = blocks[1].bias2 = 0;
    tp_die(ctx, dsmlp_tp_reserve(tp, (size_t)maxT * 4096 * 2), "reserve");
    if (tp_rank == 0)
        printf("\nblocks, P=%d (overlap_chunks %d from T >= %lld), us per block (CUDA-graph replays):\n"
               "%-18s %5s %10s %13s %9s %10s %10s %9s\n", P, o.overlap_chunks, (long long)o.overlap_min_tokens, "block",
               "T", "AR bytes", "AR dsmlp", "AR NCCL", "TP block", "one GPU", "TP/1GPU");
    if (md) fprintf(md, "\n| card | P | block | T | all-reduce dsmlp µs | all-reduce NCCL µs | TP block µs | one-GPU µs | "
                        "TP ÷ one GPU |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int b = 0; b < 2; b++) {
        if (only && strcmp(only, names[b])) continue;
        dsmlp_mlp_config rc = blocks[b], one = blocks[b];
        rc.tp_size = P, rc.tp_rank = tp_rank;
        tp_plan_buf tpb, onep;
        plan_open(ctx, tp, &rc, maxT, &tpb);
        memset(&onep, 0, sizeof onep);
        if (tp_rank == 0) plan_open(ctx, NULL, &one, maxT, &onep);
        CUdeviceptr arbuf;
        size_t esz = dsmlp_dtype_size(rc.dtype);
        bench_cuda_check(bench_cu.MemAlloc(&arbuf, (size_t)maxT * 4096 * esz), "cuMemAlloc");
        fill_device(rc.dtype, arbuf, (size_t)maxT * 4096, 1e-3, 9);
        for (int i = 0; i < ntok; i++) {
            int64_t T = tokens[i];
            size_t count = (size_t)T * 4096;
            double ar = time_ar(ctx, tp, arbuf, count, rc.dtype, 0, reps);
            double arn = dsmlp_tp_nccl_comm(tp) ? time_ar(ctx, tp, arbuf, count, rc.dtype, 1, reps) : NAN;
            int custom = dsmlp_tp_custom(tp) && (!dsmlp_tp_nccl_comm(tp) || count * esz <= o.custom_max_bytes);
            tp_barrier(ctx, tp);
            double tpus = tp_max(ctx, tp, time_plan(ctx, tpb.plan, T, reps));
            double one_us = tp_rank == 0 ? time_plan(ctx, onep.plan, T, reps) : 0;
            one_us = tp_max(ctx, tp, one_us);   /* the others wait here */
            if (tp_rank == 0) {
                printf("%-18s %5lld %10zu %8.2f (%s) %9.2f %10.1f %10.1f %9.3f\n", names[b], (long long)T, count * esz,
                       ar, custom ? "peer" : "NCCL", arn, tpus, one_us, tpus / one_us);
                if (md)
                    fprintf(md, "| %s | %d | %s | %lld | %.2f (%s) | %.2f | %.1f | %.1f | %.3f |\n", bench_cu.name, P,
                            names[b], (long long)T, ar, custom ? "peer" : "NCCL", arn, tpus, one_us, tpus / one_us);
                fflush(stdout);
            }
        }
        bench_cu.MemFree(arbuf);
        plan_close(&tpb);
        if (tp_rank == 0) plan_close(&onep);
    }
    if (md) fclose(md);
    dsmlp_tp_free(tp);
    dsmlp_ctx_free(ctx);
    return 0;
}
