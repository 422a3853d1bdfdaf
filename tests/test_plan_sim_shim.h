/*
** test_plan_sim_shim.h — just enough of CUDA to run a generated dsmlp kernel
** on the host (g++ -include this file). Each CUDA thread of a block is one
** host thread when the kernel synchronizes (norm), else threads run one
** after another. Blocks run one at a time, so `__shared__` can be `static`.
*/
#include <cmath>
#include <cstdint>
#include <cstring>
#include <pthread.h>

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct ds_dim3 { unsigned x, y, z; };
extern thread_local ds_dim3 threadIdx, blockIdx;
extern ds_dim3 blockDim, gridDim;
thread_local ds_dim3 threadIdx, blockIdx;
ds_dim3 blockDim, gridDim;

struct uint4 { unsigned x, y, z, w; };
struct uint2 { unsigned x, y; };
struct __half { uint16_t x; };
struct __nv_bfloat16 { uint16_t x; };

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

static float ds_sim_slot[1024];
static pthread_barrier_t ds_sim_warp_bar[32], ds_sim_block_bar;

inline float __shfl_xor_sync(unsigned, float x, int o)
{
    unsigned t = threadIdx.x, w = t / 32;
    ds_sim_slot[t] = x;
    pthread_barrier_wait(&ds_sim_warp_bar[w]);
    float y = ds_sim_slot[(t & ~31u) | ((t & 31u) ^ (unsigned)o)];
    pthread_barrier_wait(&ds_sim_warp_bar[w]);
    return y;
}
inline void __syncthreads() { pthread_barrier_wait(&ds_sim_block_bar); }

extern "C" void ds_sim_block(unsigned threads, unsigned gx, unsigned gy)
{
    static int init = 0;
    if (init) {
        for (int w = 0; w < 32; w++) pthread_barrier_destroy(&ds_sim_warp_bar[w]);
        pthread_barrier_destroy(&ds_sim_block_bar);
    }
    for (int w = 0; w < 32; w++) pthread_barrier_init(&ds_sim_warp_bar[w], NULL, 32);
    pthread_barrier_init(&ds_sim_block_bar, NULL, threads);
    blockDim.x = threads, blockDim.y = blockDim.z = 1;
    gridDim.x = gx, gridDim.y = gy, gridDim.z = 1;
    init = 1;
}

extern "C" void ds_sim_thread(unsigned tx, unsigned bx, unsigned by)
{
    threadIdx.x = tx, threadIdx.y = threadIdx.z = 0;
    blockIdx.x = bx, blockIdx.y = by, blockIdx.z = 0;
}
