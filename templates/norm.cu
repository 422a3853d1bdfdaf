// {{NAME}}: {{WHAT}} of the sum of {{NTERMS}} addend(s) over rows of width {{H}}, eps {{EPS}}.
// Statistics in fp32 from the unrounded sum. {{SIDE_WHAT}}
// Launch: grid (1, min(ceil(T / {{RPB}}), 65535)), block {{THREADS}}; {{MODE_WHAT}}
#define DS_H {{H}}
#define DS_VEC {{VEC}}
#define DS_NV (DS_H / DS_VEC)
#define DS_THREADS {{THREADS}}
#define DS_WARP_ROWS {{WARP_ROWS}}           /* 1: one warp per row; 0: one block per row */
#define DS_LANES (DS_WARP_ROWS ? 32 : DS_THREADS)
#define DS_ITEMS ((DS_NV + DS_LANES - 1) / DS_LANES)
#define DS_RPB {{RPB}}LL
#define DS_RMS {{RMS}}
#define DS_HAS_BETA {{HAS_BETA}}
#define DS_HAS_SIDE {{HAS_SIDE}}
#define DS_EPS ((float){{EPS}})
#define DS_HAS_GAMMA_OFFSET {{HAS_GAMMA_OFFSET}}   /* weight = gamma + offset (Gemma: 1), added in fp32 */
#define DS_GAMMA_OFFSET ((float){{GAMMA_OFFSET}})

extern "C" __global__ void __launch_bounds__(DS_THREADS) {{NAME}}(long long T{{PARAMS}})
{
#if !DS_WARP_ROWS
    __shared__ float red[32];
#endif
    ds_dependents_may_start();   // a GEMM launched after this with programmatic dependent launch may take its SM slots
    DS_TL(const ds_tl_blk tl = ds_tl_begin();)
    const int lane = DS_WARP_ROWS ? (int)(threadIdx.x & 31) : (int)threadIdx.x;
    // grid.y <= 65535 blocks stride over the row blocks (the kernel does not depend on the plan's max_tokens)
    for (ds_i64 first = (ds_i64)blockIdx.y * DS_RPB; first < T; first += (ds_i64)gridDim.y * DS_RPB) {
    ds_i64 last = first + DS_RPB < T ? first + DS_RPB : T;
#if DS_WARP_ROWS
    // DS_RPB rows per block, one per warp; each warp strides over its block's rows.
    for (ds_i64 row = first + (threadIdx.x >> 5); row < last; row += DS_THREADS / 32) {
#else
    for (ds_i64 row = first; row < last; row++) {
#endif
        float v[DS_ITEMS][DS_VEC];
        float sum = 0.0f;
        // gamma (and beta) are read with the inputs, not after the two reductions: one dependent memory trip less
        float g[DS_ITEMS][DS_VEC];
#if DS_HAS_BETA
        float b[DS_ITEMS][DS_VEC];
#endif
#pragma unroll
        for (int it = 0; it < DS_ITEMS; it++) {
            const int k = lane + it * DS_LANES;
            if (k < DS_NV) {
                const ds_i64 c = (ds_i64)k * DS_VEC;
                const ds_i64 i = row * DS_H + c;
                ds_load<DS_VEC>({{GAMMA}} + c, g[it]);
#if DS_HAS_BETA
                ds_load<DS_VEC>({{BETA}} + c, b[it]);
#endif
                float t[DS_VEC];
{{LOAD_SUM}}
#pragma unroll
                for (int j = 0; j < DS_VEC; j++) sum += v[it][j];
#if DS_HAS_SIDE
{{SIDE_STORE}}
#endif
            }
        }
#if DS_RMS
        const float mean = 0.0f;
        (void)sum;
#elif DS_WARP_ROWS
        const float mean = ds_warp_sum(sum) / (float)DS_H;
#else
        const float mean = ds_block_sum(sum, red) / (float)DS_H;
#endif
        float sq = 0.0f;
#pragma unroll
        for (int it = 0; it < DS_ITEMS; it++) {
            if (lane + it * DS_LANES < DS_NV) {
#pragma unroll
                for (int j = 0; j < DS_VEC; j++) {
                    const float d = DS_RMS ? v[it][j] : v[it][j] - mean;
                    sq += d * d;
                }
            }
        }
#if DS_WARP_ROWS
        sq = ds_warp_sum(sq);
#else
        sq = ds_block_sum(sq, red);
#endif
        const float rstd = rsqrtf(sq / (float)DS_H + DS_EPS);
#pragma unroll
        for (int it = 0; it < DS_ITEMS; it++) {
            const int k = lane + it * DS_LANES;
            if (k < DS_NV) {
                const ds_i64 c = (ds_i64)k * DS_VEC;
                float y[DS_VEC];
#pragma unroll
                for (int j = 0; j < DS_VEC; j++) {
                    y[j] = (DS_RMS ? v[it][j] : v[it][j] - mean) * rstd * (g[it][j] + (DS_HAS_GAMMA_OFFSET ? DS_GAMMA_OFFSET : 0.0f));
#if DS_HAS_BETA
                    y[j] += b[it][j];
#endif
                }
                ds_store<DS_VEC>(a0 + row * DS_H + c, y);
            }
        }
    }
    }
    DS_TL(__syncthreads(); if (threadIdx.x == 0) ds_tl_end(tl);)   // (times 1..3 stay 0: zero-initialized)
}
