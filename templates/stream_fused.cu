// {{NAME}}: both GEMMs of the block for 1 <= T <= {{MAXT}} in one persistent kernel: {{WHAT}}.
// The two W ring kernels (templates/stream.cu, filled twice above as namespaces ds_p1 and ds_p2) run as phases of
// one grid of resident blocks (a cooperative launch: every block on an SM at once), so the second GEMM's weights
// stream while the first finishes instead of after its last block leaves: when a block's consumers are done with
// phase 1, its producer fills the ring with phase 2's weights (they do not depend on phase 1), and a grid barrier
// guards only phase 2's x rows (phase 1's output, written by every block). Launch: grid (G, 1) with G at most the
// resident blocks, block {{THREADS}}, dynamic shared memory {{SMEM}} bytes; the grid barrier's two words
// (arrivals, generation) live in the stream scratch, zero at load; every launch leaves the arrivals at zero.
#define DSF_THREADS {{THREADS}}
#define DSF_CWARPS {{CWARPS}}
#define DSF_BARS {{BARS}}LL        // the phases' mbarriers, past both phases' shared-memory layouts

#ifdef __CUDA_ARCH__
__device__ __forceinline__ unsigned ds_ld_acquire_gpu(const unsigned *p)
{
    unsigned v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];\n" : "=r"(v) : "l"(p) : "memory");
    return v;
}
__device__ __forceinline__ void ds_st_release_gpu(unsigned *p, unsigned v)
{
    asm volatile("st.release.gpu.global.u32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ void ds_backoff() { __nanosleep(64); }
// the bulk copies after a grid barrier read through the async proxy what other blocks wrote through the generic one
__device__ __forceinline__ void ds_fence_proxy_async_global() { asm volatile("fence.proxy.async.global;\n" ::: "memory"); }
// phase 2's bulk copies (async proxy) write shared memory phase 1 wrote and read through the generic proxy
__device__ __forceinline__ void ds_fence_proxy_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// every thread of the block, the producer warp included (bar 0 is __syncthreads, bar 1 the consumers' ds_csync)
__device__ __forceinline__ void dsf_sync_all() { asm volatile("bar.sync 2, %0;\n" ::"n"(DSF_THREADS) : "memory"); }
#else
#define dsf_sync_all() ds_sim_bar(2, DSF_THREADS)
#define ds_fence_proxy_async_smem() ((void)0)
#endif

// The grid barrier between the phases: gbar[0] counts arrivals and goes back to zero with the last one, which then
// bumps the generation gbar[1] (release); the waiters spin (acquire) until it differs from what they read before
// their block arrived. One thread per block arrives after a block barrier, so the block's phase-1 writes precede it.
__device__ __forceinline__ void dsf_grid_arrive(unsigned *gbar)
{
    __threadfence();
    if (atomicAdd(gbar, 1u) == gridDim.x - 1) {
        const unsigned gen = ds_ld_acquire_gpu(gbar + 1);
        atomicExch(gbar, 0u);
        __threadfence();
        ds_st_release_gpu(gbar + 1, gen + 1);
    }
}
__device__ __forceinline__ void dsf_grid_wait(const unsigned *gbar, unsigned gen)
{
    while (ds_ld_acquire_gpu(gbar + 1) == gen) ds_backoff();
    ds_fence_proxy_async_global();
}

template <int NT1, int QW1, int NT2, int QW2>
__device__ __forceinline__ void dsf_body(const ds_p1::ds_args &A1, const ds_p2::ds_args &A2, long long T,
                                        unsigned char *smem, unsigned *gbar)
{
    typedef ds_p1::ds_ring<NT1, QW1> P1;
    typedef ds_p2::ds_ring<NT2, QW2> P2;
    static_assert(P1::BYTES <= DSF_BARS && P2::BYTES <= DSF_BARS, "a phase's layout reaches the mbarriers");
    static_assert(DSF_BARS + 16 * (P1::S + P2::S) <= {{SMEM}}LL, "shared memory layout exceeds the launch's");
    unsigned long long *f1 = reinterpret_cast<unsigned long long *>(smem + DSF_BARS), *e1 = f1 + P1::S;
    unsigned long long *f2 = e1 + P1::S, *e2 = f2 + P2::S;
    ds_p1::ds_range R1;
    ds_p2::ds_range R2;
    const bool has1 = ds_p1::ds_block_range(R1), has2 = ds_p2::ds_block_range(R2);   // the launcher gives both work
    if (threadIdx.x == 0) ds_p1::ds_ring_init<NT1, QW1>(f1, e1), ds_p2::ds_ring_init<NT2, QW2>(f2, e2), ds_p1::ds_fused_fence_init();
    __syncthreads();
    if (threadIdx.x >> 5 == DSF_CWARPS) {   // the producer warp
        const int lane = threadIdx.x & 31;
        if (has1) ds_p1::ds_produce<NT1, QW1>(A1, R1, smem, f1, e1, T, lane, [] { ds_p1::ds_fused_pdl_wait(); });
        else ds_p1::ds_fused_pdl_wait();
        // after griddepcontrol.wait the previous launch has left the barrier; it cannot move before this block arrives
        const unsigned gen = ds_ld_acquire_gpu(gbar + 1);
        dsf_sync_all();   // the consumers are done with phase 1: all of shared memory below DSF_BARS is free
        if (has2) ds_p2::ds_produce<NT2, QW2>(A2, R2, smem, f2, e2, T, lane, [=] { dsf_grid_wait(gbar, gen); });
        return;
    }
    if (has1) ds_p1::ds_ring_consumers<NT1, QW1>(A1, T, R1, smem, f1, e1);
    ds_fence_proxy_async_smem();
    dsf_sync_all();
    if (threadIdx.x == 0) dsf_grid_arrive(gbar);
    if (has2) ds_p2::ds_ring_consumers<NT2, QW2>(A2, T, R2, smem, f2, e2);
}

#ifndef DS_DYNAMIC_SMEM
#define DS_DYNAMIC_SMEM(n) extern __shared__ __align__(16) unsigned char n[]
#endif

extern "C" __global__ void __launch_bounds__(DSF_THREADS, 1) {{NAME}}(long long T{{PARAMS}})
{
    DS_DYNAMIC_SMEM(ds_smem);
    ds_p1::ds_args A1 = {};
    ds_p2::ds_args A2 = {};
{{BIND}}
{{DISPATCH}}
}
