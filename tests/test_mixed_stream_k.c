/* test_mixed_stream_k.c — the mixed-input kernels' stream-K walk (templates/mixed.cu ds_sk_segments, ds_sk_parts_end,
** ds_sk_empty), run on the host: every kernel of GELU-4096 / SwiGLU-4096 int8 plans (and of SwiGLU-4096 bf16's float
** kernels) whose source carries DS_SK 1 has that part compiled by g++ with a stand-in blockIdx / gridDim, and each
** block of a launch laid out as exec_mixed.c's stream_k_blocks lays it (D whole tiles, then a wave of sk stream-K
** blocks) for several wave sizes is asked for its segments. The walk must cover every (row tile, k block) item of the
** tiles past D exactly once, in at most two segments a block (a tile's later part first, then a tile's first part),
** the blocks before D their own whole tile; and each tile's owner (the block holding its first k block) must find as
** its parts exactly the blocks holding the tile's later parts, each part claimed by one owner. */
#include "testutil.h"
#include "host_part.h"
#include "compiler/plan.h"
#include "runtime/plan_handle.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* seg[0..5] = nseg, sa0, sb0, sn0, sb1, sn1 of block y of a grid of gy blocks (sk of them stream-K); *parts_end = the
** grid block after its parts (ds_sk_parts_end, which counts stream-K blocks, for the tile its last segment starts
** when that is a first part; else -1); *empty: a stream-K block without items (ds_sk_empty) */
typedef void (*walk_fn)(int y, int gy, int sk, int KT, int *seg, int *parts_end, int *empty);

/* The kernel's object-like defines and its stream-K part, with a host harness around them, as a shared object. */
static void *compile_walk(const char *src, const char *dir, int idx)
{
    const char *a = strstr(src, "// Stream-K (sk > 0;"), *b = a ? strstr(a, "\n#if DS_PREFETCH\n") : NULL;
    ck_assert_msg(a && b, "no stream-K part in the kernel source");
    return hp_compile(src, a, b + 1,
                      "#include <algorithm>\nusing std::min;\n#define __device__\n#define __forceinline__ inline\n"
                      "struct ds_dim { unsigned x, y, z; };\nstatic ds_dim blockIdx, gridDim;\n",
                      "extern \"C\" void walk(int y, int gy, int sk, int KT, int *seg, int *parts_end, int *empty)\n{\n"
                      "    blockIdx.y = (unsigned)y, gridDim.y = (unsigned)gy;\n"
                      "    const ds_sk g = ds_sk_segments(sk, KT, KT, y * DS_ROWS);\n"
                      "    seg[0] = g.nseg, seg[1] = g.sa0, seg[2] = g.sb0, seg[3] = g.sn0, seg[4] = g.sb1, seg[5] = g.sn1;\n"
                      "    const int D = gy - sk, b = y - D;\n"
                      "    const long long W = (long long)(DS_N / DS_ROWS - D) * KT;\n"
                      "    *parts_end = -1, *empty = b >= 0 && ds_sk_empty(sk, W, b);\n"
                      "    if (b >= 0 && g.nseg > 0 && g.sa(g.nseg - 1) == 0)\n"
                      "        *parts_end = D + ds_sk_parts_end(sk, W, b, (long long)(g.sn(g.nseg - 1) / DS_ROWS - D + 1) * KT);\n}\n",
                      dir, "walk", idx);
}

/* One launch: R row tiles of KT k blocks, D whole, sk stream-K blocks. */
static void check_launch(walk_fn walk, const char *name, int R, int KT, int D, int sk)
{
    const int gy = D + sk;
    int *owner = malloc((size_t)R * (size_t)KT * sizeof *owner);   /* the block that takes each item, -1 none */
    int *claimed = calloc((size_t)gy, sizeof *claimed);            /* a later part's owner found it */
    ck_assert(owner && claimed);
    for (int i = 0; i < R * KT; i++) owner[i] = -1;
    for (int y = 0; y < gy; y++) {
        int seg[6], pe, empty;
        walk(y, gy, sk, KT, seg, &pe, &empty);
        const int nseg = seg[0];
        if (y < D) {   /* a whole tile, its own */
            ck_assert_msg(nseg == 1 && seg[1] == 0 && seg[2] == KT && seg[3] == y * 128, "%s: block %d of %d whole tiles: "
                          "%d segments, k blocks [%d, %d) of row %d", name, y, D, nseg, seg[1], seg[2], seg[3]);
        }
        ck_assert_msg(nseg >= 0 && nseg <= 2, "%s: block %d: %d segments", name, y, nseg);
        ck_assert_msg(y < D || (nseg == 0) == empty, "%s: block %d: %d segments, empty %d", name, y, nseg, empty);
        for (int s = 0; s < nseg; s++) {
            const int sa = s ? 0 : seg[1], sb = s ? seg[4] : seg[2], sn = s ? seg[5] : seg[3], t = sn / 128;
            ck_assert_msg(sn % 128 == 0 && t >= (y < D ? 0 : D) && t < R && 0 <= sa && sa < sb && sb <= KT,
                          "%s: block %d segment %d: k blocks [%d, %d) of row %d", name, y, s, sa, sb, sn);
            ck_assert_msg(s == 0 || seg[1] > 0, "%s: block %d: two segments, the first a tile's first part", name, y);
            for (int j = sa; j < sb; j++) {
                ck_assert_msg(owner[t * KT + j] < 0, "%s: tile %d k block %d taken by blocks %d and %d", name, t, j,
                              owner[t * KT + j], y);
                owner[t * KT + j] = y;
            }
        }
    }
    for (int i = 0; i < R * KT; i++)
        ck_assert_msg(owner[i] >= 0, "%s: R %d KT %d D %d sk %d: tile %d k block %d taken by none", name, R, KT, D, sk,
                      i / KT, i % KT);
    /* owners and their parts: exactly the blocks holding the tile's other k blocks */
    for (int y = D; y < gy; y++) {
        int seg[6], pe, empty;
        walk(y, gy, sk, KT, seg, &pe, &empty);
        if (pe < 0) continue;
        const int t = (seg[0] == 2 ? seg[5] : seg[3]) / 128;
        ck_assert_msg(owner[t * KT] == y, "%s: block %d owns tile %d, whose first k block block %d takes", name, y, t,
                      owner[t * KT]);
        int want_end = y + 1;
        for (int j = 1; j < KT; j++)
            if (owner[t * KT + j] != y) want_end = owner[t * KT + j] + 1;
        for (int b2 = y + 1; b2 < want_end; b2++) {
            int s2[6], p2, e2;
            walk(b2, gy, sk, KT, s2, &p2, &e2);
            if (e2) continue;
            ck_assert_msg(s2[3] / 128 == t && s2[1] > 0, "%s: block %d between the owner %d of tile %d and its last part: "
                          "its first segment is row %d from k block %d", name, b2, y, t, s2[3], s2[1]);
            claimed[b2]++;
        }
        ck_assert_msg(pe >= want_end, "%s: owner %d of tile %d: parts up to block %d, want %d", name, y, t, pe, want_end);
        for (int b2 = want_end; b2 < pe; b2++) {   /* past the tile's last part: only blocks without items */
            int s2[6], p2, e2;
            walk(b2, gy, sk, KT, s2, &p2, &e2);
            ck_assert_msg(e2, "%s: owner %d of tile %d counts block %d, which holds none of it", name, y, t, b2);
        }
    }
    for (int y = D; y < gy; y++) {   /* every later part (a first segment that starts past k block 0) has one owner */
        int seg[6], pe, empty;
        walk(y, gy, sk, KT, seg, &pe, &empty);
        const int later = seg[0] > 0 && seg[1] > 0;
        ck_assert_msg(claimed[y] == later, "%s: R %d KT %d D %d sk %d: block %d (a later part: %d) claimed by %d owners",
                      name, R, KT, D, sk, y, later, claimed[y]);
    }
    free(owner), free(claimed);
}

START_TEST(walk_covers_each_item_once)
{
    dsmlp_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir("mixed-stream-k");
    int walks = 0, launches = 0;
    static const struct { int gated; dsmlp_dtype wt; } blocks[] = {{0, DSMLP_I8}, {1, DSMLP_I8}, {1, DSMLP_BF16}};
    for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
        dsmlp_plan *h = hp_plan_4096(ctx, blocks[bi].gated, blocks[bi].wt);
        for (int k = 0; k < h->p->nkernels; k++) {
            const plan_kernel *pk = &h->p->kernels[k];
            if (!pk->source || !strstr(pk->source, "#define DS_SK 1")) continue;
            void *so = compile_walk(pk->source, dir, walks);
            walk_fn walk;
            *(void **)&walk = dlsym(so, "walk");
            ck_assert(walk != NULL);
            const int R = (int)(hp_define(pk->source, "DS_N") / 128);
            const int KT = (int)(hp_define(pk->source, "DS_K") / hp_define(pk->source, "DS_BK"));
            ck_assert_int_ge(R, PLAN_MIXED_SK_MIN_TILES);
            /* waves of 78 (an H20 one a SM) to 264 (an H100 two a SM), and a wave of more blocks than items */
            static const int slots[] = {78, 100, 132, 170, 264};
            for (size_t si = 0; si < sizeof slots / sizeof *slots; si++) {
                const int whole = R / slots[si] * slots[si];
                if (whole == R) continue;
                check_launch(walk, pk->name, R, KT, whole, slots[si]);
                launches++;
            }
            if (R * KT < 4096) check_launch(walk, pk->name, R, KT, 0, R * KT + 5), launches++;
            dlclose(so);
            walks++;
        }
        dsmlp_plan_free(h);
    }
    /* the first GEMMs' kernels of every width (GELU 128 row tiles, SwiGLU 224), int8 and bf16 */
    ck_assert_int_ge(walks, 10);
    ck_assert_int_ge(launches, 30);
    tu_rmtree(dir);
    free(dir);
    dsmlp_ctx_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mixed_stream_k");
    TCase *tc = tcase_create("walk");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, walk_covers_each_item_once);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
