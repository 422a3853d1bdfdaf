// {{NAME}}: y[T, {{N}}] = (up[:, c] + bu[c]) * {{ACT}}(gate[:, c] + bg[c]).
// {{INPUT_WHAT}}. Launch: grid ({{GRID_X}}, min(ceil(T / {{RPB}}), 65535)),
// block {{THREADS}}; {{VEC}} elements per access (the largest that divides {{N}}).
#define DS_N {{N}}LL
#define DS_VEC {{VEC}}
#define DS_RPB {{RPB}}LL
#define DS_HAS_BIAS {{HAS_BIAS}}
typedef {{Y_T}} ds_y_t;

extern "C" __global__ void __launch_bounds__({{THREADS}}) {{NAME}}(long long T{{PARAMS}})
{
    // grid.y <= 65535 blocks stride over the row blocks (the kernel does not depend on the plan's max_tokens){{TL_BEGIN}}
    for (ds_i64 row0 = (ds_i64)blockIdx.y * DS_RPB; row0 < T; row0 += (ds_i64)gridDim.y * DS_RPB) {
    const ds_i64 row1 = row0 + DS_RPB < T ? row0 + DS_RPB : T;
    const ds_i64 per_row = DS_N / DS_VEC;
    const ds_i64 nvec = (row1 - row0) * per_row;
    for (ds_i64 k = (ds_i64)blockIdx.x * blockDim.x + threadIdx.x; k < nvec; k += (ds_i64)gridDim.x * blockDim.x) {
        const ds_i64 row = row0 + k / per_row;
        const ds_i64 c = (k % per_row) * DS_VEC;
        float up[DS_VEC], gate[DS_VEC], y[DS_VEC];
        ds_load<DS_VEC>({{UP}}, up);
        ds_load<DS_VEC>({{GATE}}, gate);
#if DS_HAS_BIAS
        float bu[DS_VEC], bg[DS_VEC];
        ds_load<DS_VEC>({{BIAS_UP}}, bu);
        ds_load<DS_VEC>({{BIAS_GATE}}, bg);
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) { up[j] += bu[j]; gate[j] += bg[j]; }
#endif
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) y[j] = up[j] * {{ACT_FN}}(gate[j]);
        ds_store<DS_VEC>(a0 + row * DS_N + c, y);
    }
    }
{{TL_END}}}
