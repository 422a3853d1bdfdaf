// {{NAME}}: element-wise {{WHAT}} over [T, {{N}}] (flat, {{VEC}} elements per access).
// Launch: grid ({{GRID_X}}, min(ceil(T / {{RPB}}), 65535)), block {{THREADS}}; block y covers rows
// [y*RPB, (y+1)*RPB), then strides by gridDim.y*RPB (so the kernel does not depend on the plan's max_tokens).
#define DS_N {{N}}LL
#define DS_VEC {{VEC}}
#define DS_RPB {{RPB}}LL
typedef {{OUT_T}} ds_out_t;

__device__ __forceinline__ float ds_op({{OP_PARAMS}}) { return {{EXPR}}; }

extern "C" __global__ void __launch_bounds__({{THREADS}}) {{NAME}}(long long T{{PARAMS}})
{
    for (ds_i64 row0 = (ds_i64)blockIdx.y * DS_RPB; row0 < T; row0 += (ds_i64)gridDim.y * DS_RPB) {
    const ds_i64 row1 = row0 + DS_RPB < T ? row0 + DS_RPB : T;
    const ds_i64 base = row0 * DS_N, end = row1 * DS_N;
    // base is a multiple of DS_VEC (RPB * N is), so every vector access is aligned.
    const ds_i64 nvec = (end - base) / DS_VEC;
    for (ds_i64 k = (ds_i64)blockIdx.x * blockDim.x + threadIdx.x; k < nvec; k += (ds_i64)gridDim.x * blockDim.x) {
        const ds_i64 i = base + k * DS_VEC;
        float r[DS_VEC];
{{VEC_LOADS}}
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) r[j] = ds_op({{VEC_ARGS}});
        ds_store<DS_VEC>(a0 + i, r);
    }
    // Scalar tail: only the last block, when T * N is not a multiple of DS_VEC.
    for (ds_i64 i = base + nvec * DS_VEC + (ds_i64)blockIdx.x * blockDim.x + threadIdx.x; i < end;
         i += (ds_i64)gridDim.x * blockDim.x)
        a0[i] = ds_from_f<ds_out_t>(ds_op({{SCALAR_ARGS}}));
    }
}
