// {{NAME}}: w[{{R}}, {{C}}] = scales[r / {{ROWS_PER_GROUP}}] * q[r, c] ({{GROUPS}} groups of
// contiguous rows, spec 5.3). rows_fixed = {{R}}. Launch: grid ({{GRID_X}}, ceil(R / {{RPB}})),
// block {{THREADS}}; {{VEC}} elements per access.
#define DS_C {{C}}LL
#define DS_R {{R}}LL
#define DS_VEC {{VEC}}
#define DS_RPB {{RPB}}LL
#define DS_ROWS_PER_GROUP {{ROWS_PER_GROUP}}LL

extern "C" __global__ void __launch_bounds__({{THREADS}}) {{NAME}}(long long T{{PARAMS}})
{
    (void)T;  // the weight's size does not depend on the token count
    const ds_i64 row0 = (ds_i64)blockIdx.y * DS_RPB;
    if (row0 >= DS_R) return;
    const ds_i64 row1 = row0 + DS_RPB < DS_R ? row0 + DS_RPB : DS_R;
    const ds_i64 per_row = DS_C / DS_VEC;
    const ds_i64 nvec = (row1 - row0) * per_row;
    for (ds_i64 k = (ds_i64)blockIdx.x * blockDim.x + threadIdx.x; k < nvec; k += (ds_i64)gridDim.x * blockDim.x) {
        const ds_i64 row = row0 + k / per_row;
        const ds_i64 i = row * DS_C + (k % per_row) * DS_VEC;
        const float s = ds_to_f(a2[row / DS_ROWS_PER_GROUP]);
        float v[DS_VEC];
        ds_load<DS_VEC>(a1 + i, v);
#pragma unroll
        for (int j = 0; j < DS_VEC; j++) v[j] *= s;
        ds_store<DS_VEC>(a0 + i, v);
    }
}
