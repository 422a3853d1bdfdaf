// fused_tc_sim.cc — fused_tc.cuh's kernel on the host (each CUDA thread a fiber, mma.sync emulated from the PTX
// fragment layouts: tests/test_plan_sim_shim.h) against a double reference, before any GPU sees it: H = 1024, GELU
// (I = 512, LayerNorm, biases) and SwiGLU (I = 384, RMSNorm), 8 and 16 token columns, T from 1 to the columns,
// codes as stored and in fragment order, and RED 6-9's two phases (as separate grids here: the GPU's grid barrier or
// PDL chain between them orders nothing the host's sequential blocks do not); every case runs twice (each launch must leave the accumulator and the chunk
// counters at zero) and checks them at zero after.
//   g++ -O2 -std=c++17 -o /tmp/fused_tc_sim bench/proto/fused_tc_sim.cc && /tmp/fused_tc_sim
#include "../../tests/test_plan_sim_shim.h"

#include "fused_tc.cuh"

#include <algorithm>
#include <random>
#include <vector>

static float rnd16(double v) { return __half2float(__float2half_rn((float)v)); }

template <int HH, int NT, bool GATED, bool FRAG, int RED, int WK, int UN = 1, int NH = 1> struct sim_case {
    static const tc_blk *arg;
    static void entry(void *)
    {
        DS_DYNAMIC_SMEM(smem);
        fused_tc_body<HH, NT, GATED, RED, FRAG, WK, UN>(*arg, smem);
    }
    static void rows(void *)   // RED 6 / 7's phase 2 (on the GPU after the grid barrier of the same kernel)
    {
        DS_DYNAMIC_SMEM(smem);
        tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK>::U];
        tc_rows_first<WK>(*arg, blockIdx.x, raw, RED == 7 ? 8192u : 0u);
        tc_rows<HH, NT, GATED, WK>(*arg, blockIdx.x, smem, raw);
    }
    static void line(void *)   // RED 8's phase 2
    {
        tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK>::U];
        tc_line_first<HH, NT, WK, FRAG>(*arg, raw);
        tc_line<HH, NT, WK, FRAG>(*arg, raw);
    }
    static void line_end(void *) { tc_line_end<HH, NT, GATED>(*arg); }   // RED 8 after its second barrier
    static constexpr int CL = RED >= 10 ? 2 << (RED - 10) : 1;
    static void cl_steps(void *)   // RED 10-12's phase 2 up to the cluster barrier
    {
        DS_DYNAMIC_SMEM(smem);
        tc_step<tc_wk<WK>::WB> raw[tc_rows_u<WK, UN>::U];
        tc_cl_first<HH, WK, CL, UN, FRAG, NH>(*arg, raw, 8192u);
        tc_cl_steps<HH, NT, WK, CL, UN, FRAG, NH>(*arg, smem, raw);
    }
    static void cl_finish(void *)   // ... and after it (the part slots: tc_sim_parts, as every block left them)
    {
        DS_DYNAMIC_SMEM(smem);
        tc_cl_finish<HH, NT, GATED, CL, NH>(*arg, smem);
    }
};
template <int HH, int NT, bool GATED, bool FRAG, int RED, int WK, int UN, int NH> const tc_blk *sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::arg;

// WK 0: int8 codes with a scale a row; 1: fp8 e4m3 codes (|w| <= 15) with a scale a row; 2: f16 weights (scales one)
template <int HH, int NT, bool GATED, bool FRAG, int RED = 0, int WK = 0, int UN = 1, int NH = 1> static int run(long I, int T, unsigned seed)
{
    constexpr int WB = tc_wk<WK>::WB;
    using S = tc_shape<HH, NT>;
    const long N1 = GATED ? 2 * I : I;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::uniform_int_distribution<int> q(-127, 127);
    std::vector<__half> x(T * HH), gm(HH), be(HH), b1(N1), b2(HH), y(T * HH);
    std::vector<double> w1(N1 * HH), w2(HH * I);   // the weights' values
    std::vector<unsigned char> m1(N1 * HH * WB), m2(HH * I * WB), m1f(N1 * HH * WB), m2f(HH * I * WB), m2r(HH * I * WB);   // as the kernel reads them
    std::vector<__half> hg(NT * I, __half{0x7e00});   // RED 6 / 7: h between the phases (poisoned)
    std::vector<float> s1(N1), s2(HH), acc(HH * NT, 0.0f);
    std::vector<unsigned> count(S::NCH, 0u);
    for (auto &v : x) v = __float2half_rn(u(rng));
    for (auto &v : gm) v = __float2half_rn(1.0f + 0.25f * u(rng));
    for (auto &v : be) v = __float2half_rn(0.1f * u(rng));
    for (auto &v : b1) v = __float2half_rn(0.5f * u(rng));
    for (auto &v : b2) v = __float2half_rn(0.5f * u(rng));
    auto weights = [&](std::vector<double> &w, std::vector<unsigned char> &m, float a) {
        for (size_t e = 0; e < w.size(); e++) {
            if (WK == 0) {
                const signed char v = (signed char)q(rng);
                w[e] = v, m[e] = (unsigned char)v;
            } else if (WK == 1) {
                const unsigned char b = (unsigned char)((q(rng) < 0 ? 0x80 : 0) | (unsigned)(q(rng) + 127) % 0x58);
                __half h;
                h.x = ds_sim_e4m3_to_h(b);
                w[e] = __half2float(h), m[e] = b;
            } else {
                const __half h = __float2half_rn(a * u(rng));
                w[e] = __half2float(h), memcpy(&m[2 * e], &h, 2);
            }
        }
    };
    weights(w1, m1, 0.06f), weights(w2, m2, 0.03f);
    // scales that keep the W2 terms near 1 (the output's f16 rounding is relative to |y|, the error to the terms)
    const float sc = WK == 0 ? 1.0f : 20.0f;   // fp8 codes here are ~20x smaller than int8's
    for (auto &v : s1) v = WK != 2 ? sc * 2e-3f * (1.5f + 0.5f * u(rng)) : 1.0f;
    for (auto &v : s2) v = WK != 2 ? sc * 1e-3f * (1.5f + 0.5f * u(rng)) : 1.0f;
    tc_frag(m1f.data(), m1.data(), N1, HH, false, WB);
    tc_frag(m2f.data(), m2.data(), HH, I, true, WB);
    tc_frag(m2r.data(), m2.data(), HH, I, false, WB);

    std::vector<double> ref(T * HH);
    double refmag = 0.0;
    for (int t = 0; t < T; t++) {
        double s = 0, qq = 0;
        for (int c = 0; c < HH; c++) s += __half2float(x[t * HH + c]), qq += (double)__half2float(x[t * HH + c]) * __half2float(x[t * HH + c]);
        const double mean = GATED ? 0.0 : s / HH, var = GATED ? qq / HH : qq / HH - mean * mean, rstd = 1.0 / std::sqrt(var + 1e-5);
        std::vector<double> xn(HH), hh(I);
        for (int c = 0; c < HH; c++)
            xn[c] = rnd16((__half2float(x[t * HH + c]) - mean) * rstd * __half2float(gm[c]) + (GATED ? 0.0 : __half2float(be[c])));
        for (long r = 0; r < I; r++) {
            double a = 0, gs = 0;
            for (int c = 0; c < HH; c++) a += w1[r * HH + c] * xn[c];
            if (GATED) {
                for (int c = 0; c < HH; c++) gs += w1[(I + r) * HH + c] * xn[c];
                const double gv = gs * s1[I + r];
                hh[r] = rnd16(a * s1[r] * gv / (1.0 + std::exp(-gv)));
            } else {
                const double v = a * s1[r] + __half2float(b1[r]);
                hh[r] = rnd16(0.5 * v * (1.0 + std::tanh(0.7978845608 * (v + 0.044715 * v * v * v))));
            }
        }
        for (int j = 0; j < HH; j++) {
            double a = 0;
            for (long r = 0; r < I; r++) a += w2[(long)j * I + r] * hh[r];
            ref[t * HH + j] = a * s2[j] + (GATED ? 0.0 : __half2float(b2[j])) + __half2float(x[t * HH + j]);
            refmag = std::max(refmag, std::fabs(a * s2[j]));
        }
    }
    tc_blk p;
    p.x = x.data(), p.g = gm.data(), p.be = be.data(), p.b1 = b1.data(), p.b2 = b2.data();
    p.w1 = FRAG ? m1f.data() : m1.data(), p.w2 = FRAG ? m2f.data() : m2.data();
    p.s1 = s1.data(), p.s2 = s2.data(), p.y = y.data(), p.acc = acc.data(), p.count = count.data(), p.I = I, p.T = T;
    p.w2r = m2r.data(), p.hg = hg.data(), p.epoch = nullptr;
    sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::arg = &p;
    double worst = 0.0;
    int bad = 0;
    for (int run = 0; run < 2; run++) {
        std::fill(y.begin(), y.end(), __half{0x7e00});   // poisoned: a NaN where nothing was written
        ds_sim_run(TC_THREADS, (unsigned)(I / TC_R / UN), 1, std::max(S::SMEM, RED >= 10 ? tc_cl_smem<HH, NT, sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::CL, NH>(I, I / TC_R / UN) : 0),
                   sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::entry, nullptr);
        if (RED == 6 || RED == 7 || RED == 9) ds_sim_run(TC_THREADS, HH / 16, 1, S::SMEM, sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::rows, nullptr);
        if (RED >= 10) {
            constexpr int CL = sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::CL;
            const long G = I / TC_R / UN;
            if (tc_cl_unfit<HH, CL, WK, UN, NH>(I, G)) {
                printf("cluster form: I = %ld, CL = %d do not fit\n", I, CL);
                return 1;
            }
            const size_t sm2 = tc_cl_smem<HH, NT, CL, NH>(I, G), off = ((size_t)NT * (I / CL / NH + 20) * 2 + 15) / 16 * 16;
            std::vector<float> parts(G * (sm2 - off) / 4, NAN);   // poisoned: a slot nobody wrote is a NaN in y
            tc_sim_parts = parts.data(), tc_sim_psz = (long)(sm2 - off) / 4;
            ds_sim_run(TC_THREADS, (unsigned)G, 1, std::max(sm2, S::SMEM), sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::cl_steps, nullptr);
            ds_sim_run(TC_THREADS, (unsigned)G, 1, std::max(sm2, S::SMEM), sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::cl_finish, nullptr);
        }
        if (RED == 8) {
            ds_sim_run(TC_THREADS, (unsigned)(I / TC_R), 1, S::SMEM, sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::line, nullptr);
            ds_sim_run(TC_THREADS, (unsigned)(I / TC_R), 1, S::SMEM, sim_case<HH, NT, GATED, FRAG, RED, WK, UN, NH>::line_end, nullptr);
        }
        double w = 0.0;
        for (int e = 0; e < T * HH; e++) {
            const double d = std::fabs(__half2float(y[e]) - ref[e]);
            w = std::isnan(d) ? INFINITY : std::max(w, d);
        }
        worst = std::max(worst, w / refmag);
        for (float a : acc) bad += a != 0.0f;
        for (unsigned c : count) bad += c != 0u;
    }
    const bool ok = worst < 4e-3 && !bad;
    printf("%-6s %s H=%d I=%ld NT=%d T=%-2d %s%s %s  rel err %.2e%s  %s\n", GATED ? "swiglu" : "gelu", WK == 0 ? "int8" : WK == 1 ? "fp8 " : "f16 ", HH, I, NT, T, UN > 1 ? "2 units a block, " : NH > 1 ? "h in 2 chunks, " : "", FRAG ? "frag  " : "stored", RED == 2 ? "v4" : RED == 3 ? "v2 one count" : RED == 8 ? "a line of W2 steps, two barriers" : RED == 9 ? "two kernels (PDL), rows" : RED == 10 ? "clusters of 2" : RED == 11 ? "clusters of 4" : RED == 12 ? "clusters of 8" : RED >= 6 ? "rows after a grid barrier" : "v2",
           worst, bad ? "  (accumulator or counters not left at zero)" : "", ok ? "ok" : "FAILED");
    return !ok;
}

int main()
{
    int fails = 0;
    unsigned seed = 1;
    for (int T : {1, 2, 5, 8}) {
        fails += run<1024, 8, false, false>(512, T, seed++);
        fails += run<1024, 8, true, false>(384, T, seed++);
    }
    for (int T : {3, 8}) fails += run<1024, 8, false, true>(512, T, seed++), fails += run<1024, 8, true, true>(384, T, seed++);
    for (int T : {1, 2, 3, 4, 7, 8}) fails += run<1024, 8, false, true, 2>(512, T, seed++), fails += run<1024, 8, true, false, 2>(384, T, seed++);
    for (int T : {5, 13, 16}) fails += run<1024, 16, false, false, 2>(512, T, seed++), fails += run<1024, 16, true, true, 2>(384, T, seed++);
    for (int T : {1, 4, 8}) fails += run<1024, 8, false, false, 0, 2>(512, T, seed++), fails += run<1024, 8, true, true, 2, 2>(384, T, seed++);
    for (int T : {1, 3, 8}) fails += run<1024, 8, false, true, 2, 1>(512, T, seed++), fails += run<1024, 8, true, false, 0, 1>(384, T, seed++);
    for (int T : {16}) fails += run<1024, 16, false, false, 0, 1>(512, T, seed++), fails += run<1024, 16, true, true, 2, 1>(384, T, seed++);
    for (int T : {11, 16}) fails += run<1024, 16, false, true, 2, 2>(512, T, seed++), fails += run<1024, 16, true, false, 0, 2>(384, T, seed++);
    for (int T : {1, 5, 8}) fails += run<1024, 8, false, true, 3, 0>(512, T, seed++), fails += run<1024, 8, true, false, 3, 2>(384, T, seed++);
    for (int T : {16}) fails += run<1024, 16, true, true, 3, 1>(384, T, seed++);
    // RED 6 / 7: phase 2 by rows (I / 512 steps a warp: I = 2048 for int8 / fp8's 4-step prefetch)
    for (int T : {1, 3, 8}) fails += run<1024, 8, false, true, 6>(2048, T, seed++), fails += run<1024, 8, true, true, 7>(2048, T, seed++);
    for (int T : {2, 8}) fails += run<1024, 8, false, true, 7, 1>(2048, T, seed++), fails += run<1024, 8, true, true, 6, 2>(1024, T, seed++);
    // RED 8: any I (here S = 10 or 6 steps a row group, 8 a warp: ranges cross row groups)
    for (int T : {1, 4, 8}) fails += run<1024, 8, false, true, 8>(640, T, seed++), fails += run<1024, 8, true, true, 8>(384, T, seed++);
    for (int T : {3}) fails += run<1024, 8, false, true, 8, 2>(640, T, seed++), fails += run<1024, 8, true, true, 8, 1>(384, T, seed++);
    for (int T : {2, 8}) fails += run<1024, 8, false, false, 8>(640, T, seed++), fails += run<1024, 8, true, false, 8, 2>(384, T, seed++);
    for (int T : {1, 8}) fails += run<1024, 8, false, true, 9>(2048, T, seed++), fails += run<1024, 8, true, true, 9, 2>(1024, T, seed++);
    // RED 10-12: phase 2 by clusters of 2, 4, 8 (G = 32 or 16 blocks; warps a share of a row group or two of them)
    for (int T : {1, 5, 8}) fails += run<1024, 8, false, true, 10>(2048, T, seed++), fails += run<1024, 8, true, true, 11>(2048, T, seed++);
    for (int T : {2, 8}) fails += run<1024, 8, false, true, 12>(2048, T, seed++), fails += run<1024, 8, true, true, 12, 1>(2048, T, seed++);
    for (int T : {1, 7}) fails += run<1024, 8, false, true, 11, 2>(1024, T, seed++), fails += run<1024, 8, true, true, 10, 2>(1024, T, seed++);
    // ... h staged in 2 k chunks (clusters of 2, warps a share of each chunk)
    for (int T : {1, 6, 8}) fails += run<1024, 8, false, true, 10, 0, 1, 2>(2048, T, seed++), fails += run<1024, 8, true, true, 10, 2, 1, 2>(2048, T, seed++);
    for (int T : {3}) fails += run<1024, 8, false, false, 10, 1, 1, 2>(2048, T, seed++), fails += run<1024, 16, true, true, 10, 0, 1, 2>(2048, 13, seed++);
    // ... both weights as stored
    for (int T : {2, 8}) fails += run<1024, 8, false, false, 12>(2048, T, seed++), fails += run<1024, 16, true, false, 11, 2, 2>(2048, 6 + T, seed++);
    // ... with 2 units of h columns a block (one block a SM), 8 and 16 token columns
    for (int T : {1, 9, 16}) fails += run<1024, 16, false, true, 11, 0, 2>(2048, T, seed++), fails += run<1024, 16, true, true, 10, 0, 2>(2048, T, seed++);
    for (int T : {3, 8}) fails += run<1024, 8, false, true, 10, 1, 2>(2048, T, seed++), fails += run<1024, 16, true, true, 11, 2, 2>(2048, 8 + T, seed++);
    for (int T : {9, 16}) {
        fails += run<1024, 16, false, false>(512, T, seed++);
        fails += run<1024, 16, true, true>(384, T, seed++);
    }
    printf("%s: %d failed\n", fails ? "FAILED" : "passed", fails);
    return fails != 0;
}
