/*
** test_plan_sim_shim.h — just enough of CUDA to run a generated dsmlp kernel
** on the host (g++ -include this file). Every CUDA thread of a block is a
** fiber (a stack and a register set, switched by ds_fiber_switch below), run
** round-robin on the calling thread: a barrier or a warp collective yields
** until the block or the warp has arrived. ds_sim_launch runs the blocks one
** after another, so `__shared__` can be `static`. ds_sim_launch_coop runs all
** blocks of the grid at once, interleaved (a cooperative launch: a grid
** barrier completes); it is for kernels whose shared memory is all dynamic
** (DS_DYNAMIC_SMEM), a `static` array being one for all blocks. Tensor-core
** MMAs, cp.async and the rest of the inline-PTX primitives the templates use
** are emulated from their PTX definitions (fragment layouts included),
** independently of the templates.
*/
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <algorithm>

#define DS_SIM 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) alignas(n)

struct ds_dim3 { unsigned x, y, z; };
struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct __half { uint16_t x; };
struct __nv_bfloat16 { uint16_t x; };
struct __half2 { __half x, y; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };

/* ------------------------------------------------------------------ fibers */

/* What a block owns: its index, barrier counters, dynamic shared memory and the warp collectives' scratch.
** The sequential launch runs every block on ds_blks[0]; the cooperative one gives each block its own. */
struct ds_sim_blk {
    ds_dim3 idx;
    unsigned char *dyn;
    unsigned bar_n, bar_gen, warp_n[32], warp_gen[32], nbar_n[16], nbar_gen[16];
    float slot[1024];
    unsigned a[32][32][4], b[32][32][2];
};
struct ds_fiber { void *sp; char *stack; ds_dim3 tid; int done; ds_sim_blk *blk; };
static ds_fiber *ds_fib, *ds_cur;
static ds_sim_blk *ds_blks, *ds_cb;   /* ds_cb: the block of ds_cur, set by the scheduler */
static void *ds_sched_sp;
static unsigned ds_nthreads;
static void (*ds_entry)(void *);
static void *ds_entry_arg;
static ds_dim3 ds_bdim, ds_gdim;
#define threadIdx (ds_cur->tid)
#define blockIdx (ds_cb->idx)
#define blockDim ds_bdim
#define gridDim ds_gdim

/* ds_fiber_switch(save, load): saves callee-saved registers and the stack
** pointer into *save, continues on load (x86-64 System V). */
extern "C" void ds_fiber_switch(void **save, void *load);
asm(".text\n.globl ds_fiber_switch\n.type ds_fiber_switch,@function\nds_fiber_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n  ret\n"
    ".size ds_fiber_switch, .-ds_fiber_switch\n");

static inline void ds_yield() { ds_fiber_switch(&ds_cur->sp, ds_sched_sp); }

extern "C" void ds_fiber_main()
{
    ds_entry(ds_entry_arg);
    ds_cur->done = 1;
    for (;;) ds_yield();
}

#define DS_STACK (256 * 1024)

static void ds_fiber_init(ds_fiber *f)
{
    if (!f->stack) f->stack = (char *)malloc(DS_STACK);
    uintptr_t top = ((uintptr_t)(f->stack + DS_STACK)) & ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = 0;                               /* keeps rsp = 8 (mod 16) at entry, as after a call */
    *--sp = (void *)ds_fiber_main;           /* ret target */
    for (int i = 0; i < 6; i++) *--sp = 0;   /* rbp rbx r12 r13 r14 r15 */
    f->sp = sp;
    f->done = 0;
}

/* Barriers: arrival counts with generations, the block's (ds_cb is the caller's block again after a yield). */
inline void __syncthreads()
{
    ds_sim_blk *b = ds_cb;
    unsigned g = b->bar_gen;
    if (++b->bar_n == ds_nthreads) { b->bar_n = 0, b->bar_gen++; return; }
    while (b->bar_gen == g) ds_yield();
}

/* Named barriers (bar.sync id, n): n threads of the block arrive. */
inline void ds_sim_bar(unsigned id, unsigned n)
{
    ds_sim_blk *b = ds_cb;
    unsigned g = b->nbar_gen[id];
    if (++b->nbar_n[id] == n) { b->nbar_n[id] = 0, b->nbar_gen[id]++; return; }
    while (b->nbar_gen[id] == g) ds_yield();
}

static inline void ds_warp_sync()
{
    ds_sim_blk *b = ds_cb;
    unsigned w = threadIdx.x / 32, live = ds_nthreads - w * 32 < 32 ? ds_nthreads - w * 32 : 32;
    unsigned g = b->warp_gen[w];
    if (++b->warp_n[w] == live) { b->warp_n[w] = 0, b->warp_gen[w]++; return; }
    while (b->warp_gen[w] == g) ds_yield();
}

inline void __syncwarp(unsigned = 0xffffffffu) { ds_warp_sync(); }

static void ds_sim_bulk_end_block(void);

/* Dynamic shared memory of the running fiber's block. */
#define DS_DYNAMIC_SMEM(n) unsigned char *n = ds_cb->dyn

/* The fibers, blocks and shared memory live across launches (this .so is one kernel, run many times); freed when
** the test unloads it. */
static unsigned ds_fib_cap, ds_blk_cap;
__attribute__((destructor)) static void ds_sim_free(void)
{
    for (unsigned t = 0; t < ds_fib_cap; t++) free(ds_fib[t].stack);
    for (unsigned b = 0; b < ds_blk_cap; b++) free(ds_blks[b].dyn);
    free(ds_fib);
    free(ds_blks);
    ds_fib = NULL, ds_blks = NULL, ds_fib_cap = ds_blk_cap = 0;
}

/* Fibers for nb blocks of threads, nb blocks, each with fresh dynamic shared memory; the launch's shape. */
static void ds_sim_setup(unsigned threads, unsigned nb, unsigned gx, unsigned gy, size_t dyn_smem, void (*fn)(void *),
                         void *arg)
{
    const unsigned nf = threads * nb;
    if (nf > ds_fib_cap) {
        ds_fib = (ds_fiber *)realloc(ds_fib, nf * sizeof *ds_fib);
        for (unsigned t = ds_fib_cap; t < nf; t++) ds_fib[t].stack = NULL;
        ds_fib_cap = nf;
    }
    if (nb > ds_blk_cap) {
        ds_blks = (ds_sim_blk *)realloc(ds_blks, nb * sizeof *ds_blks);
        memset(ds_blks + ds_blk_cap, 0, (nb - ds_blk_cap) * sizeof *ds_blks);
        ds_blk_cap = nb;
    }
    for (unsigned b = 0; b < ds_blk_cap; b++) {   /* blocks a larger grid left: their memory goes too */
        free(ds_blks[b].dyn);
        ds_blks[b].dyn = NULL;
    }
    for (unsigned b = 0; b < nb; b++) {   /* 0xff: NaN in every float type, a read of unwritten shared memory shows */
        ds_blks[b].dyn = (unsigned char *)aligned_alloc(16, (dyn_smem + 15) / 16 * 16 + 16);
        memset(ds_blks[b].dyn, 0xff, dyn_smem + 16);
    }
    ds_nthreads = threads, ds_entry = fn, ds_entry_arg = arg;
    ds_bdim = {threads, 1, 1}, ds_gdim = {gx, gy, 1};
}

/* DSMLP_SIM_ORDER=reverse|shuffle runs the blocks (and the fibers of a block) in another order: the order blocks
** arrive in is the GPU's choice, and inter-block protocols (stream-K fixups) must not depend on it. Returns the
** block order (malloc'd); *back: the fibers of a block run last thread first. */
static unsigned *ds_sim_order(unsigned nb, int *back)
{
    const char *order = getenv("DSMLP_SIM_ORDER");
    const int rev = order && !strcmp(order, "reverse"), shuf = order && !strcmp(order, "shuffle");
    unsigned *perm = (unsigned *)malloc(nb * sizeof *perm);
    for (unsigned i = 0; i < nb; i++) perm[i] = rev ? nb - 1 - i : i;
    if (shuf) {
        unsigned long long x = 0x9e3779b97f4a7c15ull ^ nb;
        for (unsigned i = nb; i > 1; i--) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned j = (unsigned)(x % i), t = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = t;
        }
    }
    *back = rev || shuf;
    return perm;
}

/* Block b (in run order) as block (bx, by): barrier counts at zero, its fibers at their start. */
static void ds_sim_block_start(unsigned b, unsigned threads, unsigned bx, unsigned by)
{
    ds_sim_blk *B = &ds_blks[b];
    B->idx = {bx, by, 0};
    B->bar_n = 0;
    for (int w = 0; w < 32; w++) B->warp_n[w] = 0;
    for (int w = 0; w < 16; w++) B->nbar_n[w] = 0;
    for (unsigned t = 0; t < threads; t++) {
        ds_fiber *f = &ds_fib[b * threads + t];
        ds_fiber_init(f);
        f->tid = {t, 0, 0};
        f->blk = B;
    }
}

/* Round-robin over the fibers of nb blocks (block 0's first) until all are done. */
static void ds_sim_sched(unsigned nb, unsigned threads, int back)
{
    for (unsigned left = nb * threads; left;) {
        left = 0;
        for (unsigned b = 0; b < nb; b++)
            for (unsigned u = 0; u < threads; u++) {
                ds_fiber *f = &ds_fib[b * threads + (back ? threads - 1 - u : u)];
                if (f->done) continue;
                ds_cur = f, ds_cb = f->blk;
                ds_fiber_switch(&ds_sched_sp, f->sp);
                left += !f->done;
            }
    }
}

/* Runs the grid one block after another: every thread a fiber; fn(arg) is the kernel call. */
extern "C" int ds_sim_run(unsigned threads, unsigned gx, unsigned gy, size_t dyn_smem, void (*fn)(void *), void *arg)
{
    ds_sim_setup(threads, 1, gx, gy, dyn_smem, fn, arg);
    const unsigned nb = gx * gy;
    int back;
    unsigned *perm = ds_sim_order(nb, &back);
    for (unsigned pi = 0; pi < nb; pi++) {
        ds_sim_block_start(0, threads, perm[pi] % gx, perm[pi] / gx);
        ds_sim_sched(1, threads, back);
        ds_sim_bulk_end_block();
    }
    free(perm);
    return 0;
}

/* Runs the grid with all blocks resident, as a cooperative launch does: every fiber of every block in one
** round-robin, each block with its own barriers and dynamic shared memory (`static` __shared__ is not per block
** here). A grid barrier (blocks spinning on a global counter with ds_backoff) completes. */
extern "C" int ds_sim_run_coop(unsigned threads, unsigned gx, unsigned gy, size_t dyn_smem, void (*fn)(void *),
                               void *arg)
{
    const unsigned nb = gx * gy;
    ds_sim_setup(threads, nb, gx, gy, dyn_smem, fn, arg);
    int back;
    unsigned *perm = ds_sim_order(nb, &back);
    for (unsigned pi = 0; pi < nb; pi++) ds_sim_block_start(pi, threads, perm[pi] % gx, perm[pi] / gx);
    ds_sim_sched(nb, threads, back);
    ds_sim_bulk_end_block();   /* the queue is keyed by barrier address, each block's own: one check for all */
    free(perm);
    return 0;
}

/* ------------------------------------------------------------------ numbers */

inline float __half2float(__half h) { _Float16 f; memcpy(&f, &h.x, 2); return (float)f; }
inline __half __float2half_rn(float x) { _Float16 f = (_Float16)x; __half h; memcpy(&h.x, &f, 2); return h; }
inline float __bfloat162float(__nv_bfloat16 b) { uint32_t u = (uint32_t)b.x << 16; float f; memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    __nv_bfloat16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u) { b.x = 0x7fc0; return b; }
    u += 0x7fffu + ((u >> 16) & 1u);
    b.x = (uint16_t)(u >> 16);
    return b;
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline __half __ushort_as_half(unsigned short u) { __half h; h.x = u; return h; }
inline __half2 __halves2half2(__half a, __half b) { return {a, b}; }
inline __half2 __hsub2(__half2 a, __half2 b)
{
    return {__float2half_rn(__half2float(a.x) - __half2float(b.x)), __float2half_rn(__half2float(a.y) - __half2float(b.y))};
}
inline float __low2float(__half2 a) { return __half2float(a.x); }
inline float __high2float(__half2 a) { return __half2float(a.y); }
inline __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return {__float2bfloat16_rn(a), __float2bfloat16_rn(b)}; }
inline __half2 __floats2half2_rn(float a, float b) { return {__float2half_rn(a), __float2half_rn(b)}; }
inline __half2 __float2half2_rn(float a) { return __floats2half2_rn(a, a); }
/* HFMA2: each half's a * b + c rounded once to f16 (the product and sum are exact in double for f16 operands) */
inline __half ds_sim_hfma(__half a, __half b, __half c)
{
    _Float16 r = (_Float16)((double)__half2float(a) * __half2float(b) + __half2float(c));
    __half h;
    memcpy(&h.x, &r, 2);
    return h;
}
inline __half2 __hfma2(__half2 a, __half2 b, __half2 c) { return {ds_sim_hfma(a.x, b.x, c.x), ds_sim_hfma(a.y, b.y, c.y)}; }
inline __half2 __hmul2(__half2 a, __half2 b) { return __hfma2(a, b, __float2half2_rn(-0.0f)); }

/* PTX prmt (default mode): byte n of the result is byte s[n] of {y, x}. */
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s)
{
    uint64_t v = ((uint64_t)y << 32) | x;
    unsigned r = 0;
    for (int n = 0; n < 4; n++) r |= (unsigned)((v >> (8 * ((s >> (4 * n)) & 7))) & 0xff) << (8 * n);
    return r;
}
inline unsigned ds_prmt(unsigned x, unsigned y, unsigned s) { return __byte_perm(x, y, s); }

/* e4m3 (bias 7, no infinities, 0x7f/0xff NaN) -> f16 bits, exact. */
static inline uint16_t ds_sim_e4m3_to_h(unsigned char b)
{
    int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
    float v;
    if (e == 15 && m == 7) v = NAN;
    else if (e == 0) v = ldexpf((float)m, -9);
    else v = ldexpf((float)(8 + m), e - 10);
    __half h = __float2half_rn(s ? -v : v);
    return h.x;
}
inline unsigned ds_fp8x2_to_h2(unsigned short v)
{
    return (unsigned)ds_sim_e4m3_to_h((unsigned char)(v & 0xff)) | ((unsigned)ds_sim_e4m3_to_h((unsigned char)(v >> 8)) << 16);
}

/* ------------------------------------------------------------------ warp collectives */

inline float __shfl_xor_sync(unsigned, float x, int o)
{
    unsigned t = threadIdx.x;
    float *slot = ds_cb->slot;
    slot[t] = x;
    ds_warp_sync();
    float y = slot[(t & ~31u) | ((t & 31u) ^ (unsigned)o)];
    ds_warp_sync();
    return y;
}

/* mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}: the fragment layouts of the PTX ISA.
** A (16x16): a[0] = row g, cols 2c, 2c+1; a[1] = row g+8; a[2] = row g, cols 2c+8, +9; a[3] = row g+8, cols +8.
** B (16x8):  b0 = rows 2c, 2c+1, col g; b1 = rows 2c+8, 2c+9. D: d0,d1 = row g, cols 2c, 2c+1; d2,d3 = row g+8.
** The fragments are exchanged through the block's scratch (ds_cb->a, b). */

static inline float ds_sim_half(unsigned w, int hi, int bf16)
{
    uint16_t u = (uint16_t)(hi ? w >> 16 : w & 0xffff);
    if (bf16) { __nv_bfloat16 b; b.x = u; return __bfloat162float(b); }
    __half h; h.x = u; return __half2float(h);
}

inline void ds_sim_mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1, int bf16)
{
    unsigned t = threadIdx.x, w = t / 32, lane = t % 32;
    unsigned (*const sa)[32][4] = ds_cb->a, (*const sb)[32][2] = ds_cb->b;
    for (int i = 0; i < 4; i++) sa[w][lane][i] = a[i];
    sb[w][lane][0] = b0, sb[w][lane][1] = b1;
    ds_warp_sync();
    const int g = (int)lane / 4, c = (int)lane % 4;
    for (int e = 0; e < 4; e++) {
        const int row = g + 8 * (e / 2), col = 2 * c + (e & 1);
        double s = d[e];
        for (int k = 0; k < 16; k++) {
            const int al = (row % 8) * 4 + (k % 8) / 2, ar = (row >= 8) + 2 * (k >= 8);
            const int bl = col * 4 + (k % 8) / 2, br = k >= 8;
            s += (double)ds_sim_half(sa[w][al][ar], k & 1, bf16) * ds_sim_half(sb[w][bl][br], k & 1, bf16);
        }
        d[e] = (float)s;
    }
    ds_warp_sync();
}

/* ------------------------------------------------------------------ memory */

inline void ds_cp16(void *smem, const void *g, bool valid)
{
    if (valid) memcpy(smem, g, 16);
    else memset(smem, 0, 16);
}
inline void ds_cp_commit() {}
template <int N> inline void ds_cp_wait() {}
/* the GPU faults on a misaligned vector load; so does the simulator */
inline void ds_sim_aligned(const void *p, unsigned a)
{
    if ((uintptr_t)p % a) { fprintf(stderr, "plan sim: misaligned %u-byte weight load at %p\n", a, p); abort(); }
}
inline uint4 ds_ldw16(const void *p) { ds_sim_aligned(p, 16); uint4 r; memcpy(&r, p, 16); return r; }
inline uint2 ds_ldw8(const void *p) { ds_sim_aligned(p, 8); uint2 r; memcpy(&r, p, 8); return r; }
template <typename T> inline T ds_ldcg(const T *p) { return *p; }

/* mbarrier.* (PTX ISA): the 64-bit word holds the expected arrival count (bits 0-10), the pending arrivals of the
** current phase (11-21), the phase parity (22) and the pending transaction bytes (32-63, signed). A phase
** completes when no arrivals and no bytes are pending; the next starts with the expected count again. */
struct ds_sim_mbar { unsigned count, pend, phase; int tx; };
static ds_sim_mbar ds_sim_mbar_get(const unsigned long long *b)
{
    const unsigned long long v = *b;
    return {(unsigned)(v & 0x7ff), (unsigned)((v >> 11) & 0x7ff), (unsigned)((v >> 22) & 1), (int)(unsigned)(v >> 32)};
}
static void ds_sim_mbar_put(unsigned long long *b, ds_sim_mbar m)
{
    if (m.pend == 0 && m.tx == 0) m.pend = m.count, m.phase ^= 1;
    *b = (unsigned long long)m.count | (unsigned long long)m.pend << 11 | (unsigned long long)m.phase << 22 |
         (unsigned long long)(unsigned)m.tx << 32;
}
static void ds_sim_fail(const char *what)
{
    fprintf(stderr, "plan sim: %s\n", what);
    abort();
}
inline void ds_mbar_init(unsigned long long *b, unsigned n)
{
    if ((uintptr_t)b % 8 || n == 0 || n > 0x7ff) ds_sim_fail("mbarrier.init: misaligned barrier or bad count");
    ds_sim_mbar_put(b, {n, n, 0, 0});
}
inline void ds_mbar_fence_init() {}
inline void ds_mbar_arrive(unsigned long long *b);
/* cp.async copies are done when issued here: the arrival is immediate */
inline void ds_cp_mbar_arrive(unsigned long long *b) { ds_mbar_arrive(b); }
inline void ds_mbar_arrive(unsigned long long *b)
{
    ds_sim_mbar m = ds_sim_mbar_get(b);
    if (m.pend == 0) ds_sim_fail("mbarrier.arrive: more arrivals than the barrier expects");
    m.pend--;
    ds_sim_mbar_put(b, m);
}
inline void ds_mbar_expect(unsigned long long *b, unsigned bytes)
{
    ds_sim_mbar m = ds_sim_mbar_get(b);
    m.tx += (int)bytes;
    ds_sim_mbar_put(b, m);   /* tx > 0: the phase cannot complete before the arrival below */
    ds_mbar_arrive(b);
}
/* cp.async.bulk global -> shared: queued, and landed (data, then its bytes on the barrier) only when somebody
** waits on the barrier, so a read of a stage before its barrier completes sees the old contents. */
struct ds_sim_bulk_op { void *dst; const void *src; unsigned bytes; unsigned long long *bar; };
static ds_sim_bulk_op ds_sim_bulks[65536];
static int ds_sim_nbulk;
/* queued operations per barrier, so that a wait on a barrier with none queued does not scan the queue; room for
** a cooperative grid's (64 blocks x 16 barriers and more), scanned only up to the most slots ever in use */
static struct { const unsigned long long *bar; int n; } ds_sim_per_bar[4096];
static int ds_sim_per_bar_hi;
static int *ds_sim_bar_count(const unsigned long long *bar)
{
    int free_slot = -1;
    for (int i = 0; i < ds_sim_per_bar_hi; i++) {
        if (ds_sim_per_bar[i].bar == bar) return &ds_sim_per_bar[i].n;
        if (free_slot < 0 && !ds_sim_per_bar[i].n) free_slot = i;
    }
    if (free_slot < 0) {
        if (ds_sim_per_bar_hi == (int)(sizeof ds_sim_per_bar / sizeof *ds_sim_per_bar))
            ds_sim_fail("too many barriers with copies in flight");
        free_slot = ds_sim_per_bar_hi++;
    }
    ds_sim_per_bar[free_slot].bar = bar, ds_sim_per_bar[free_slot].n = 0;
    return &ds_sim_per_bar[free_slot].n;
}
inline void ds_bulk(void *dst, const void *src, unsigned bytes, unsigned long long *bar)
{
    if ((uintptr_t)dst % 16 || (uintptr_t)src % 16 || bytes % 16 || bytes == 0)
        ds_sim_fail("cp.async.bulk: addresses and size must be 16-byte multiples");
    if (ds_sim_nbulk == (int)(sizeof ds_sim_bulks / sizeof *ds_sim_bulks)) ds_sim_fail("too many bulk copies in flight");
    ds_sim_bulks[ds_sim_nbulk++] = {dst, src, bytes, bar};
    ++*ds_sim_bar_count(bar);
}
static void ds_sim_bulk_land(unsigned long long *bar)
{
    int *cnt = ds_sim_bar_count(bar);
    if (!*cnt) return;
    *cnt = 0;
    int n = 0;
    for (int i = 0; i < ds_sim_nbulk; i++) {
        ds_sim_bulk_op o = ds_sim_bulks[i];
        if (o.bar != bar) { ds_sim_bulks[n++] = o; continue; }
        memcpy(o.dst, o.src, o.bytes);
        ds_sim_mbar m = ds_sim_mbar_get(bar);
        m.tx -= (int)o.bytes;
        if (m.tx < 0) ds_sim_fail("cp.async.bulk: more bytes landed than the barrier expects");
        ds_sim_mbar_put(bar, m);
    }
    ds_sim_nbulk = n;
}
inline void ds_mbar_wait(unsigned long long *b, unsigned parity)
{
    for (;;) {
        ds_sim_bulk_land(b);
        if (ds_sim_mbar_get(b).phase != parity) return;   /* the phase with this parity has completed */
        ds_yield();
    }
}
static void ds_sim_bulk_end_block(void)
{
    if (ds_sim_nbulk) ds_sim_fail("a block ended with bulk copies in flight");
}
inline void __threadfence() {}
inline unsigned atomicAdd(unsigned *p, unsigned v) { unsigned o = *p; *p += v; return o; }
inline unsigned atomicExch(unsigned *p, unsigned v) { unsigned o = *p; *p = v; return o; }
/* grid barrier primitives: one thread runs at a time, so plain accesses are the release/acquire; a spinning
** thread yields (ds_backoff) so that the blocks it waits for run (ds_sim_launch_coop) */
inline unsigned ds_ld_acquire_gpu(const unsigned *p) { return *(const volatile unsigned *)p; }
inline void ds_st_release_gpu(unsigned *p, unsigned v) { *(volatile unsigned *)p = v; }
inline void ds_backoff() { ds_yield(); }
inline void ds_fence_proxy_async_global() {}
template <typename T> inline T __ldg(const T *p) { return *p; }

/* L2 prefetches (templates/gemv.cu ds_prefetch_first): every line a block asks L2 for must be a line the same block
** then loads, or the prefetch names rows the block does not read. Blocks run one after another (ds_sim_launch), so a
** block's lines are checked when the next block starts and at the launch's end; ds_sim_prefetch_counts reads (and
** clears) the counts. */
struct ds_sim_pf_line { uintptr_t line; int hit; };
static ds_sim_pf_line ds_sim_pf[1 << 14];
static int ds_sim_pf_n, ds_sim_pf_sorted;
static long ds_sim_pf_issued, ds_sim_pf_unread;
static ds_dim3 ds_sim_pf_blk;
static void ds_sim_pf_flush(void)
{
    for (int i = 0; i < ds_sim_pf_n; i++) ds_sim_pf_unread += !ds_sim_pf[i].hit;
    ds_sim_pf_n = 0;
}
static void ds_sim_pf_block(void)   /* a new block: the last one's lines are settled */
{
    if (ds_sim_pf_n && (blockIdx.x != ds_sim_pf_blk.x || blockIdx.y != ds_sim_pf_blk.y)) ds_sim_pf_flush();
    ds_sim_pf_blk = blockIdx;
}
inline void ds_sim_prefetch(const void *p)
{
    ds_sim_pf_block();
    if (ds_sim_pf_n == (int)(sizeof ds_sim_pf / sizeof *ds_sim_pf)) ds_sim_fail("too many L2 prefetches in one block");
    ds_sim_pf[ds_sim_pf_n++] = {(uintptr_t)p / 128, 0};
    ds_sim_pf_sorted = 0, ds_sim_pf_issued++;
}
inline void ds_sim_load(const void *p, size_t bytes)
{
    if (!ds_sim_pf_n) return;
    ds_sim_pf_block();
    if (!ds_sim_pf_n) return;
    if (!ds_sim_pf_sorted)
        std::sort(ds_sim_pf, ds_sim_pf + ds_sim_pf_n, [](const ds_sim_pf_line &a, const ds_sim_pf_line &b) { return a.line < b.line; });
    ds_sim_pf_sorted = 1;
    for (uintptr_t l = (uintptr_t)p / 128; l <= ((uintptr_t)p + bytes - 1) / 128; l++) {
        ds_sim_pf_line *e = std::lower_bound(ds_sim_pf, ds_sim_pf + ds_sim_pf_n, l,
                                             [](const ds_sim_pf_line &a, uintptr_t v) { return a.line < v; });
        for (; e < ds_sim_pf + ds_sim_pf_n && e->line == l; e++) e->hit = 1;
    }
}
extern "C" void ds_sim_prefetch_counts(long *issued, long *unread)
{
    ds_sim_pf_flush();
    *issued = ds_sim_pf_issued, *unread = ds_sim_pf_unread;
    ds_sim_pf_issued = ds_sim_pf_unread = 0;
}

/* The kernel call on every fiber: the test passes the entry point and 32 arguments (unused ones NULL; a kernel
** with fewer parameters ignores the rest, as the x86-64 calling convention allows). */
typedef void (*ds_sim_kfn)(long long, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *,
                           void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *,
                           void *, void *, void *, void *, void *, void *, void *, void *, void *, void *, void *);
static void *ds_l_fn;
static long long ds_l_T;
static void **ds_l_a;

static void ds_sim_call(void *)
{
    void **a = ds_l_a;
    ((ds_sim_kfn)ds_l_fn)(ds_l_T, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
                          a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], a[22], a[23], a[24], a[25],
                          a[26], a[27], a[28], a[29], a[30], a[31]);
}

extern "C" int ds_sim_launch(unsigned threads, unsigned gx, unsigned gy, size_t smem, void *fn, long long T, void **args)
{
    ds_l_fn = fn, ds_l_T = T, ds_l_a = args;
    return ds_sim_run(threads, gx, gy, smem, ds_sim_call, NULL);
}

/* The same, all blocks resident (a kernel with a grid barrier; dynamic shared memory only). */
extern "C" int ds_sim_launch_coop(unsigned threads, unsigned gx, unsigned gy, size_t smem, void *fn, long long T,
                                  void **args)
{
    ds_l_fn = fn, ds_l_T = T, ds_l_a = args;
    return ds_sim_run_coop(threads, gx, gy, smem, ds_sim_call, NULL);
}
