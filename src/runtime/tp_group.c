/*
** tp_group.c — struct dsmlp_tp: joining the group, the GPU, the NCCL
** communicator and the decision for the peer-memory all-reduce.
**
** Every step that can fail on one rank ends with dsmlpR_tp_agree, so a rank that
** stops (no such GPU, NCCL id failed, odd settings) stops the others with a
** message naming it instead of leaving them waiting. Decisions every rank
** must share (custom path on or off, launch geometry) are computed from the
** same gathered data on every rank.
*/
#define _GNU_SOURCE
#include "tp.h"
#include "context.h"
#include "device.h"

#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- exchanges */

/* All-gather through NCCL for groups made from a caller's communicator:
** frame + blob per rank, checked like the rendezvous's. */
static dsmlp_status nccl_allgather(dsmlp_tp *tp, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes,
                                   void *all)
{
    const cuda_api *cu = tp->dev->cu;
    size_t one = sizeof(tp_rdv_frame) + bytes, P = (size_t)tp->size;
    char *host = malloc(one * (P + 1));
    if (!host) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel group: out of host memory");
    tp_rdv_frame *f = (tp_rdv_frame *)host;
    dsmlpR_tp_rdv_frame_init(f, tp->rank, tp->size, tp->xround++, tag, bytes);
    if (bytes) memcpy(host + sizeof *f, mine, bytes);
    CUdeviceptr d = 0;
    CUstream st = NULL;
    dsmlp_status s = DSMLP_OK;
    CUresult r = cu->cuMemAlloc(&d, one * (P + 1));
    if (r == CUDA_SUCCESS) r = cu->cuStreamCreate(&st, CU_STREAM_NON_BLOCKING);
    if (r == CUDA_SUCCESS) r = cu->cuMemcpyHtoD(d, host, one);
    if (r == CUDA_SUCCESS) r = cu->cuCtxSynchronize();   /* st is non-blocking: it would not wait for the copy */
    if (r != CUDA_SUCCESS) s = dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "tensor-parallel group: exchange '%s': %s", tag,
                                       dsmlpR_cuda_api_errstr(r));
    if (s == DSMLP_OK) {
        ncclResult_t nr = ncclAllGather((void *)(uintptr_t)d, (void *)(uintptr_t)(d + one), one, ncclUint8,
                                        (ncclComm_t)tp->comm, (cudaStream_t)st);
        if (nr != ncclSuccess)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_NCCL, "tensor-parallel group: exchange '%s': ncclAllGather failed: %s", tag,
                        ncclGetErrorString(nr));
    }
    if (s == DSMLP_OK && ((r = cu->cuStreamSynchronize(st)) != CUDA_SUCCESS ||
                          (r = cu->cuMemcpyDtoH(host + one, d + one, one * P)) != CUDA_SUCCESS))
        s = dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "tensor-parallel group: exchange '%s': %s", tag, dsmlpR_cuda_api_errstr(r));
    for (int j = 0; s == DSMLP_OK && j < tp->size; j++) {
        const tp_rdv_frame *g = (const tp_rdv_frame *)(host + one * (size_t)(j + 1));
        char where[64];
        snprintf(where, sizeof where, "rank %d's message", j);
        if ((s = dsmlpR_tp_rdv_frame_check(ctx, f, g, j, where)) == DSMLP_OK && bytes)
            memcpy((char *)all + (size_t)j * bytes, (const char *)g + sizeof *g, bytes);
    }
    if (st) cu->cuStreamDestroy(st);
    if (d) cu->cuMemFree(d);
    free(host);
    return s;
}

dsmlp_status dsmlpR_tp_allgather(dsmlp_tp *tp, dsmlp_ctx *ctx, const char *tag, const void *mine, size_t bytes, void *all)
{
    if (tp->size == 1) {
        if (bytes) memcpy(all, mine, bytes);
        return DSMLP_OK;
    }
    if (tp->rdv) return dsmlpR_tp_rdv_allgather(tp->rdv, ctx, tag, mine, bytes, all);
    return nccl_allgather(tp, ctx, tag, mine, bytes, all);
}

typedef struct agree_msg {
    int32_t status;
    char    msg[1000];
} agree_msg;

dsmlp_status dsmlpR_tp_agree(dsmlp_tp *tp, dsmlp_ctx *ctx, const char *tag, dsmlp_status s)
{
    agree_msg mine = {(int32_t)s, ""}, *all = calloc((size_t)tp->size, sizeof *all);
    if (!all) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel group: out of host memory");
    if (s != DSMLP_OK) snprintf(mine.msg, sizeof mine.msg, "%s", dsmlp_last_error(ctx));
    dsmlp_status g = dsmlpR_tp_allgather(tp, ctx, tag, &mine, sizeof mine, all);
    if (g == DSMLP_OK && s != DSMLP_OK) g = s;   /* keep our own message */
    for (int j = 0; g == DSMLP_OK && j < tp->size; j++)
        if (all[j].status != DSMLP_OK)
            g = dsmlpB_err_set(ctx, (dsmlp_status)all[j].status, "tensor-parallel group: rank %d failed: %s", j, all[j].msg);
    free(all);
    return g;
}

/* ------------------------------------------------------------ the GPU */

/* Makes GPU `ordinal` ctx's device (or checks that it already is). */
static dsmlp_status pick_gpu(dsmlp_ctx *ctx, int rank, int ordinal, const char *source, struct device **out)
{
    const cuda_api *cu;
    dsmlp_status s = dsmlpR_cuda_api_load(ctx, &cu);
    if (s != DSMLP_OK) return s;
    int count = 0;
    CUresult r = cu->cuDeviceGetCount(&count);
    if (r != CUDA_SUCCESS || count < 1)
        return dsmlpB_err_set(ctx, DSMLP_ERR_NO_DEVICE, "rank %d: no GPU (%s)", rank,
                       r != CUDA_SUCCESS ? dsmlpR_cuda_api_errstr(r) : "cuDeviceGetCount returned 0");
    if (ordinal >= count) {
        const char *vis = getenv("CUDA_VISIBLE_DEVICES");
        return dsmlpB_err_set(ctx, DSMLP_ERR_NO_DEVICE, "rank %d: %s asks for GPU %d, but %d GPU%s visible%s%s%s", rank,
                       source, ordinal, count, count == 1 ? " is" : "s are", vis ? " (CUDA_VISIBLE_DEVICES=" : "",
                       vis ? vis : "", vis ? ")" : "");
    }
    CUdevice want;
    if ((r = cu->cuDeviceGet(&want, ordinal)) != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "rank %d: cuDeviceGet(%d): %s", rank, ordinal, dsmlpR_cuda_api_errstr(r));
    if (ctx->rt->device) {
        if (ctx->rt->device->dev != want)
            return dsmlpB_err_set(ctx, DSMLP_ERR_STATE,
                           "rank %d: this context already uses GPU %d, not GPU %d (%s): create the group before "
                           "compiling, or give its device",
                           rank, (int)ctx->rt->device->dev, ordinal, source);
        return dsmlpR_device_get(ctx, out);
    }
    /* dsmlpR_device_get adopts the thread's current context: make it GPU `ordinal`'s. */
    CUcontext pc;
    if ((r = cu->cuDevicePrimaryCtxRetain(&pc, want)) != CUDA_SUCCESS)
        return dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "rank %d: GPU %d: cuDevicePrimaryCtxRetain: %s", rank, ordinal,
                       dsmlpR_cuda_api_errstr(r));
    if ((r = cu->cuCtxSetCurrent(pc)) != CUDA_SUCCESS) s = dsmlpB_err_set(ctx, DSMLP_ERR_CUDA, "rank %d: cuCtxSetCurrent: %s",
                                                                      rank, dsmlpR_cuda_api_errstr(r));
    else s = dsmlpR_device_get(ctx, out);
    cu->cuDevicePrimaryCtxRelease(want);   /* dsmlpR_device_get holds its own reference */
    return s;
}

/* ------------------------------------------------------ who is where */

/* What each rank tells the others once: where it runs and its settings
** (which must be equal, or the ranks would choose paths differently). */
typedef struct peer_info {
    char     host[128];         /* hostname + boot id                */
    char     bus[32];           /* PCI bus id of its GPU             */
    int32_t  sm_count;
    int32_t  nccl, custom, overlap_chunks;
    uint64_t custom_max_bytes, two_shot_min_bytes, overlap_min_tokens;
    int32_t  ipc;               /* the driver has the IPC entry points */
} peer_info;

static void host_id(char *buf, size_t cap)
{
    char name[64] = "", boot[48] = "";
    gethostname(name, sizeof name - 1);
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f)) boot[0] = 0;
        fclose(f);
    }
    boot[strcspn(boot, "\n")] = 0;
    snprintf(buf, cap, "%s/%s", name, boot);
}

static dsmlp_status check_settings(dsmlp_tp *tp, dsmlp_ctx *ctx, const peer_info *all)
{
    const peer_info *a = &all[0];
    for (int j = 1; j < tp->size; j++) {
        const peer_info *b = &all[j];
        const char *what = NULL;
        unsigned long long x = 0, y = 0;
#define SAME(field, name)                                                            \
        if (!what && a->field != b->field)                                           \
            what = name, x = (unsigned long long)a->field, y = (unsigned long long)b->field;
        SAME(nccl, "nccl (DSMLP_TP_NCCL)")
        SAME(custom, "custom (DSMLP_TP_CUSTOM; -1 = auto)")
        SAME(custom_max_bytes, "custom_max_bytes (DSMLP_TP_CUSTOM_MAX_BYTES)")
        SAME(two_shot_min_bytes, "two_shot_min_bytes (DSMLP_TP_TWO_SHOT_MIN_BYTES)")
        SAME(overlap_chunks, "overlap_chunks (DSMLP_TP_OVERLAP_CHUNKS)")
        SAME(overlap_min_tokens, "overlap_min_tokens (DSMLP_TP_OVERLAP_MIN_TOKENS)")
#undef SAME
        if (what)
            return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG,
                           "tensor-parallel group: %s is %lld on rank 0 but %lld on rank %d (every rank needs the "
                           "same settings)",
                           what, (long long)x, (long long)y, j);
    }
    return DSMLP_OK;
}

/* This rank's view: can it map every peer's memory? */
static int p2p_ok(dsmlp_tp *tp, const peer_info *all, char *why, size_t cap)
{
    const cuda_api *cu = tp->dev->cu;
    const peer_info *me = &all[tp->rank];
    if (!me->ipc) return snprintf(why, cap, "the CUDA driver lacks the IPC entry points"), 0;
    for (int j = 0; j < tp->size; j++) {
        if (j == tp->rank || !strcmp(all[j].bus, me->bus)) continue;   /* one device: fine */
        CUdevice d;
        int can = 0;
        if (cu->cuDeviceGetByPCIBusId(&d, all[j].bus) != CUDA_SUCCESS)
            return snprintf(why, cap, "rank %d cannot see rank %d's GPU %s (CUDA_VISIBLE_DEVICES hides it)",
                            tp->rank, j, all[j].bus), 0;
        if (cu->cuDeviceCanAccessPeer(&can, tp->dev->dev, d) != CUDA_SUCCESS || !can)
            return snprintf(why, cap, "no peer access from GPU %s (rank %d) to GPU %s (rank %d)", me->bus, tp->rank,
                            all[j].bus, j), 0;
    }
    return 1;
}

typedef struct p2p_verdict {
    int32_t ok;
    char    why[256];
} p2p_verdict;

/* Sets tp->custom, tp->blocks and tp->why the same way on every rank. */
static dsmlp_status decide_custom(dsmlp_tp *tp, dsmlp_ctx *ctx)
{
    const cuda_api *cu = tp->dev->cu;
    int P = tp->size;
    peer_info mine;
    memset(&mine, 0, sizeof mine);
    host_id(mine.host, sizeof mine.host);
    mine.ipc = cu->cuIpcGetMemHandle && cu->cuIpcOpenMemHandle && cu->cuIpcCloseMemHandle &&
               cu->cuDeviceGetPCIBusId && cu->cuDeviceGetByPCIBusId && cu->cuDeviceCanAccessPeer;
    if (cu->cuDeviceGetPCIBusId) cu->cuDeviceGetPCIBusId(mine.bus, (int)sizeof mine.bus, tp->dev->dev);
    mine.sm_count = tp->dev->sm_count;
    mine.nccl = tp->o.nccl;
    mine.custom = tp->o.custom;
    mine.overlap_chunks = tp->o.overlap_chunks;
    mine.custom_max_bytes = tp->o.custom_max_bytes;
    mine.two_shot_min_bytes = tp->o.two_shot_min_bytes;
    mine.overlap_min_tokens = (uint64_t)tp->o.overlap_min_tokens;
    peer_info *all = calloc((size_t)P, sizeof *all);
    p2p_verdict v = {0, ""}, *vs = calloc((size_t)P, sizeof *vs);
    if (!all || !vs) {
        free(all), free(vs);
        return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel group: out of host memory");
    }
    dsmlp_status s = dsmlpR_tp_allgather(tp, ctx, "peers", &mine, sizeof mine, all);
    if (s == DSMLP_OK) s = check_settings(tp, ctx, all);
    int hosts = 1, min_sm = mine.sm_count;
    for (int j = 0; s == DSMLP_OK && j < P; j++) {
        int seen = 0;
        for (int i = 0; i < j; i++) seen |= !strcmp(all[i].host, all[j].host);
        hosts += j > 0 && !seen;
        if (all[j].sm_count < min_sm) min_sm = all[j].sm_count;
    }
    if (s == DSMLP_OK) {
        if (tp->o.custom == 0) snprintf(v.why, sizeof v.why, "off by option");
        else if (P == 1) snprintf(v.why, sizeof v.why, "one rank: nothing to exchange");
        else if (P > TP_MAX_RANKS) snprintf(v.why, sizeof v.why, "%d ranks (the peer-memory path takes at most %d)", P,
                                            TP_MAX_RANKS);
        else if (hosts > 1) snprintf(v.why, sizeof v.why, "the ranks run on %d hosts", hosts);
        else v.ok = p2p_ok(tp, all, v.why, sizeof v.why);
        s = dsmlpR_tp_allgather(tp, ctx, "p2p", &v, sizeof v, vs);
    }
    if (s == DSMLP_OK) {
        int ok = 1;
        const char *why = v.why;
        for (int j = 0; j < P; j++)
            if (!vs[j].ok) {
                if (ok) why = vs[j].why;
                ok = 0;
            }
        tp->custom = ok;
        tp->blocks = min_sm < TP_MAX_BLOCKS / 2 ? min_sm : TP_MAX_BLOCKS / 2;
        tp->threads = 512;
        char upto[64];
        if (tp->o.nccl) snprintf(upto, sizeof upto, "messages up to %zu bytes (NCCL above)", tp->o.custom_max_bytes);
        else snprintf(upto, sizeof upto, "every message (no NCCL)");
        if (ok)
            snprintf(tp->why, sizeof tp->why, "on: %d ranks on one host with peer access, %s%s", P, upto,
                     P >= 4 ? ", two-shot from two_shot_min_bytes" : "");
        else snprintf(tp->why, sizeof tp->why, "off: %s", why);
        if (!ok && tp->o.custom == 1)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "tensor-parallel group: the peer-memory all-reduce is required "
                        "(custom = 1, DSMLP_TP_CUSTOM=on) but unavailable: %s", why);
        else if (!ok && !tp->o.nccl)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_UNSUPPORTED, "tensor-parallel group: no NCCL (nccl = 0) and no peer-memory "
                        "all-reduce (%s): no way to all-reduce", why);
    }
    free(all);
    free(vs);
    return s;
}

/* --------------------------------------------------------------- NCCL */

static dsmlp_status make_comm(dsmlp_tp *tp, dsmlp_ctx *ctx)
{
    struct { int32_t status; char why[200]; ncclUniqueId id; } mine, *all = calloc((size_t)tp->size, sizeof mine);
    if (!all) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "tensor-parallel group: out of host memory");
    memset(&mine, 0, sizeof mine);
    if (tp->rank == 0) {
        ncclResult_t r = ncclGetUniqueId(&mine.id);
        if (r != ncclSuccess)
            mine.status = 1, snprintf(mine.why, sizeof mine.why, "ncclGetUniqueId: %s", ncclGetErrorString(r));
    }
    dsmlp_status s = dsmlpR_tp_allgather(tp, ctx, "nccl-id", &mine, sizeof mine, all);
    if (s == DSMLP_OK && all[0].status)
        s = dsmlpB_err_set(ctx, DSMLP_ERR_NCCL, "tensor-parallel group: rank 0 failed: %s", all[0].why);
    if (s == DSMLP_OK) {
        ncclComm_t comm;
        ncclResult_t r = ncclCommInitRank(&comm, tp->size, all[0].id, tp->rank);
        if (r != ncclSuccess)
            s = dsmlpB_err_set(ctx, DSMLP_ERR_NCCL,
                        "tensor-parallel group: rank %d: ncclCommInitRank failed: %s (%s)%s", tp->rank,
                        ncclGetErrorString(r), ncclGetLastError(NULL),
                        r == ncclInvalidUsage ? "; NCCL needs one GPU per rank: for ranks sharing a GPU set "
                                                "nccl = 0 (DSMLP_TP_NCCL=0)" : "");
        else tp->comm = comm, tp->own_comm = 1;
        s = dsmlpR_tp_agree(tp, ctx, "nccl-init", s);
    }
    free(all);
    return s;
}

/* ---------------------------------------------------------------- API */

static void describe(dsmlp_tp *tp)
{
    int v = 0;
    ncclGetVersion(&v);
    snprintf(tp->desc, sizeof tp->desc,
             "rank %d of %d on GPU %d (%s); NCCL %d.%d.%d: %s; exchange: %s; peer-memory all-reduce %s", tp->rank,
             tp->size, (int)tp->dev->dev, tp->dev->name, v / 10000, v / 100 % 100, v % 100,
             tp->comm ? (tp->own_comm ? "communicator made by dsmlp" : "the caller's communicator") : "off",
             tp->rdv ? dsmlpR_tp_rdv_spec(tp->rdv) : tp->size == 1 ? "none (one rank)" : "through NCCL", tp->why);
}

static dsmlp_tp *tp_new(dsmlp_ctx *ctx, const dsmlp_tp_options *o)
{
    dsmlp_tp *tp = calloc(1, sizeof *tp);
    if (!tp) return NULL;
    tp->ctx = ctx;
    if (o) tp->o = *o;
    else dsmlp_tp_options_default(&tp->o);
    if (tp->o.rendezvous && !(tp->rendezvous = strdup(tp->o.rendezvous))) {
        free(tp);
        return NULL;
    }
    tp->o.rendezvous = tp->rendezvous;
    return tp;
}

/* The end of both constructors: on failure the group is freed and the error that caused it kept (freeing must not
** overwrite it); on success the group is described and handed out. */
static dsmlp_status finish(dsmlp_tp *tp, dsmlp_ctx *ctx, dsmlp_status s, dsmlp_tp **out)
{
    if (s != DSMLP_OK) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", dsmlp_last_error(ctx));
        dsmlp_tp_free(tp);
        return dsmlpB_err_set(ctx, s, "%s", msg);
    }
    describe(tp);
    *out = tp;
    dsmlpB_err_clear(ctx);
    return DSMLP_OK;
}

dsmlp_status dsmlp_tp_create(dsmlp_ctx *ctx, const dsmlp_tp_options *o, dsmlp_tp **out)
{
    if (!out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_create: out is NULL");
    *out = NULL;
    if (!ctx || !o) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_create: %s is NULL", ctx ? "options" : "ctx");
    dsmlp_status s = dsmlpR_tp_options_check(ctx, o, 1);
    if (s != DSMLP_OK) return s;
    dsmlp_tp *tp = tp_new(ctx, o);
    if (!tp) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_tp_create: out of host memory");
    tp->rank = o->rank;
    tp->size = o->size;
    if (tp->size > 1) s = dsmlpR_tp_rdv_open(ctx, o->rendezvous, o->rank, o->size, o->timeout_s, &tp->rdv);
    if (s == DSMLP_OK) {
        int ordinal = o->device >= 0 ? o->device : o->local_rank >= 0 ? o->local_rank : 0;
        const char *source = o->device >= 0 ? "the device option (DSMLP_TP_DEVICE)" : "LOCAL_RANK";
        s = dsmlpR_tp_agree(tp, ctx, "device", pick_gpu(ctx, tp->rank, ordinal, source, &tp->dev));
    }
    if (s == DSMLP_OK) s = decide_custom(tp, ctx);
    if (s == DSMLP_OK && o->nccl) s = make_comm(tp, ctx);
    return finish(tp, ctx, s, out);
}

dsmlp_status dsmlp_tp_from_nccl(dsmlp_ctx *ctx, void *nccl_comm, const dsmlp_tp_options *o, dsmlp_tp **out)
{
    if (!out) return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_from_nccl: out is NULL");
    *out = NULL;
    if (!ctx || !nccl_comm)
        return dsmlpB_err_set(ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_from_nccl: %s is NULL", ctx ? "the communicator" : "ctx");
    dsmlp_tp *tp = tp_new(ctx, o);
    if (!tp) return dsmlpB_err_set(ctx, DSMLP_ERR_NOMEM, "dsmlp_tp_from_nccl: out of host memory");
    tp->o.nccl = 1;
    tp->comm = nccl_comm;
    int rank = 0, size = 0, cudev = 0;
    ncclResult_t r;
    dsmlp_status s = DSMLP_OK;
    if ((r = ncclCommUserRank((ncclComm_t)nccl_comm, &rank)) != ncclSuccess ||
        (r = ncclCommCount((ncclComm_t)nccl_comm, &size)) != ncclSuccess ||
        (r = ncclCommCuDevice((ncclComm_t)nccl_comm, &cudev)) != ncclSuccess)
        s = dsmlpB_err_set(ctx, DSMLP_ERR_NCCL, "dsmlp_tp_from_nccl: not a usable communicator: %s", ncclGetErrorString(r));
    tp->rank = tp->o.rank = rank;
    tp->size = tp->o.size = size;
    if (s == DSMLP_OK) s = dsmlpR_tp_options_check(ctx, &tp->o, 0);
    if (s == DSMLP_OK) s = pick_gpu(ctx, rank, cudev, "the communicator", &tp->dev);
    /* Every rank reaches the exchanges below, so a local failure is shared. */
    if (tp->dev) {
        s = dsmlpR_tp_agree(tp, ctx, "device", s);
        if (s == DSMLP_OK) s = decide_custom(tp, ctx);
    }
    return finish(tp, ctx, s, out);
}

void dsmlp_tp_free(dsmlp_tp *tp)
{
    if (!tp) return;
    while (tp->attached) dsmlpR_tp_detach(tp->attached);
    if (tp->own) dsmlpR_tp_detach(tp->own), tp->own = NULL;
    if (tp->dev && dsmlpR_device_make_current(NULL, tp->dev) == DSMLP_OK) {
        for (int t = 0; t < DSMLP_DTYPE_COUNT; t++)
            if (tp->mod[t]) tp->dev->cu->cuModuleUnload(tp->mod[t]);
    }
    if (tp->comm && tp->own_comm) ncclCommDestroy((ncclComm_t)tp->comm);
    dsmlpR_tp_rdv_close(tp->rdv);
    free(tp->rendezvous);
    free(tp);
}

int dsmlp_tp_rank(const dsmlp_tp *tp) { return tp ? tp->rank : -1; }
int dsmlp_tp_size(const dsmlp_tp *tp) { return tp ? tp->size : 0; }
void *dsmlp_tp_nccl_comm(const dsmlp_tp *tp) { return tp ? tp->comm : NULL; }
int dsmlp_tp_custom(const dsmlp_tp *tp) { return tp ? tp->custom : 0; }
const char *dsmlp_tp_describe(const dsmlp_tp *tp) { return tp ? tp->desc : ""; }

dsmlp_status dsmlp_tp_allgather(dsmlp_tp *tp, const void *mine, size_t bytes, void *all)
{
    if (!tp) return DSMLP_ERR_INVALID_ARG;
    if (bytes && (!mine || !all))
        return dsmlpB_err_set(tp->ctx, DSMLP_ERR_INVALID_ARG, "dsmlp_tp_allgather: %s is NULL", mine ? "all" : "mine");
    if (tp->dev) {
        dsmlp_status s = dsmlpR_device_make_current(tp->ctx, tp->dev);
        if (s != DSMLP_OK) return s;
    }
    return dsmlpR_tp_allgather(tp, tp->ctx, "user", mine, bytes, all);
}
