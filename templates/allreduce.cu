// allreduce.cu — the peer-memory all-reduce of a tensor-parallel group
// (src/runtime/tp_chan.c sets it up and launches it; docs/tp.md explains it).
//
// Every rank of one host maps every other rank's channel allocation (CUDA
// IPC), laid out as:
//   [0, 6144)      flags[3 phases][64 blocks][8 ranks]: u32 epochs, written
//                  by the peers (flags[ph][b][r]: rank r's block b reached
//                  phase ph of epoch e)
//   [6144, 6152)   epoch, done: this rank's launch counter and the count of
//                  blocks that finished the current launch (never read by peers)
//   [8192, ...)    two halves (epoch parity) of P + 1 regions of `region` bytes
//
// One-shot (small messages): each rank pushes its input into region[rank] of
// every peer, signals, waits for every peer's signal, and sums the P
// regions (its own input in place of region[rank]) in rank order 0..P-1,
// so every rank gets bit-identical results.
// Two-shot (P >= 4, larger messages): rank k sums chunk k of everyone's
// input (reduce-scatter, pushed into region[r] of rank k), writes the sum
// into its region[P], signals; everyone then pulls chunk k from rank k; a
// last barrier keeps a rank's memory untouched by peers once it is done.
//
// Why no resets: the epoch lives in device memory and the last block of a
// launch advances it, so graph replays keep counting. A flag is "reached"
// when it is >= the epoch (a peer may already be one launch ahead). The
// data halves alternate by epoch parity: a rank in launch e writes into a
// peer's half e%2 only after that peer has finished launch e-2 (it passed
// the barriers of e-1), so a slow reader of e-1 never sees e's data.
//
// Block b of every rank handles the same slice (the partition depends only on
// n and the grid, equal on all ranks), so barriers are per block.

#define DS_AR_MAX_RANKS 8
#define DS_AR_MAX_BLOCKS 64
#define DS_AR_COUNTERS 6144
#define DS_AR_DATA 8192
#define DS_AR_THREADS 512

struct ds_ar_peers { char *base[DS_AR_MAX_RANKS]; };

__device__ __forceinline__ void ds_ar_st_release(unsigned *p, unsigned v)
{
    asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

__device__ __forceinline__ unsigned ds_ar_ld_acquire(const unsigned *p)
{
    unsigned v;
    asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

__device__ __forceinline__ unsigned *ds_ar_flag(char *base, int phase, int block, int from)
{
    return reinterpret_cast<unsigned *>(base) + (phase * DS_AR_MAX_BLOCKS + block) * DS_AR_MAX_RANKS + from;
}

// This block tells block b of every peer that it reached `phase` of epoch e
// (after all of its threads' writes), then waits for theirs.
__device__ __forceinline__ void ds_ar_barrier(const ds_ar_peers &pe, int rank, int P, int phase, unsigned e)
{
    __syncthreads();
    int t = threadIdx.x;
    if (t < P && t != rank) {
        ds_ar_st_release(ds_ar_flag(pe.base[t], phase, blockIdx.x, rank), e);
        const unsigned *f = ds_ar_flag(pe.base[rank], phase, blockIdx.x, t);
        while ((int)(ds_ar_ld_acquire(f) - e) < 0) {
        }
    }
    __syncthreads();
}

// Element ranges: a block's slice starts at a multiple of 16 bytes, so a
// pointer's 16-byte alignment does not depend on the slice; 16-byte accesses
// where every pointer allows them, element accesses otherwise (this choice is
// local: peers agree on element offsets, not on access widths).
template <typename T> struct ds_ar_srcs { const T *p[DS_AR_MAX_RANKS]; };

__device__ __forceinline__ bool ds_ar_aligned(const void *p)
{
    return (reinterpret_cast<unsigned long long>(p) & 15ull) == 0;
}

template <int N, typename T>
__device__ __forceinline__ void ds_ar_ld(const T *p, T (&x)[N])
{
    typedef typename ds_raw<N * sizeof(T)>::t R;
    *reinterpret_cast<R *>(x) = __ldcg(reinterpret_cast<const R *>(p));
}

template <int N, typename T>
__device__ __forceinline__ void ds_ar_st(T *p, const T (&x)[N])
{
    typedef typename ds_raw<N * sizeof(T)>::t R;
    __stcg(reinterpret_cast<R *>(p), *reinterpret_cast<const R *>(x));
}

// out[e] = sum over r < n of src[r][e] (in rank order) for e in [e0, e1).
template <int N, typename T>
__device__ __forceinline__ void ds_ar_sum_n(T *out, const ds_ar_srcs<T> &s, int n, long long e0, long long e1)
{
    for (long long e = e0 + (long long)threadIdx.x * N; e < e1; e += (long long)blockDim.x * N) {
        float acc[N];
#pragma unroll
        for (int j = 0; j < N; j++) acc[j] = 0.0f;
        for (int r = 0; r < n; r++) {
            alignas(N * sizeof(T)) T x[N];
            ds_ar_ld<N>(s.p[r] + e, x);
#pragma unroll
            for (int j = 0; j < N; j++) acc[j] += ds_to_f(x[j]);
        }
        alignas(N * sizeof(T)) T y[N];
#pragma unroll
        for (int j = 0; j < N; j++) y[j] = ds_from_f<T>(acc[j]);
        ds_ar_st<N>(out + e, y);
    }
}

template <typename T>
__device__ void ds_ar_sum(T *out, const ds_ar_srcs<T> &s, int n, long long e0, long long e1)
{
    const int V = 16 / (int)sizeof(T);
    bool vec = ds_ar_aligned(out);
    for (int r = 0; r < n; r++) vec = vec && ds_ar_aligned(s.p[r]);
    long long ev = vec ? e0 + (e1 - e0) / V * V : e0;
    if (vec) ds_ar_sum_n<V, T>(out, s, n, e0, ev);
    ds_ar_sum_n<1, T>(out, s, n, ev, e1);
}

// dst[r][e] = src[e] for every r < n with r != skip.
template <int N, typename T>
__device__ __forceinline__ void ds_ar_push_n(T *const *dst, int n, int skip, const T *src, long long e0, long long e1)
{
    for (long long e = e0 + (long long)threadIdx.x * N; e < e1; e += (long long)blockDim.x * N) {
        alignas(N * sizeof(T)) T x[N];
        ds_ar_ld<N>(src + e, x);
        for (int r = 0; r < n; r++)
            if (r != skip) ds_ar_st<N>(dst[r] + e, x);
    }
}

template <typename T>
__device__ void ds_ar_push(T *const *dst, int n, int skip, const T *src, long long e0, long long e1)
{
    const int V = 16 / (int)sizeof(T);
    bool vec = ds_ar_aligned(src);
    for (int r = 0; r < n; r++) vec = vec && (r == skip || ds_ar_aligned(dst[r]));
    long long ev = vec ? e0 + (e1 - e0) / V * V : e0;
    if (vec) ds_ar_push_n<V, T>(dst, n, skip, src, e0, ev);
    ds_ar_push_n<1, T>(dst, n, skip, src, ev, e1);
}

__device__ __forceinline__ long long ds_ar_min(long long a, long long b) { return a < b ? a : b; }

template <typename T>
__device__ __forceinline__ T *ds_ar_region(const ds_ar_peers &pe, int owner, long long half, long long region, int i)
{
    return reinterpret_cast<T *>(pe.base[owner] + half + i * region);
}

template <typename T>
__device__ void ds_ar_one_shot(const T *in, T *out, long long n, const ds_ar_peers &pe, long long region, int rank,
                               int P, unsigned e)
{
    const long long V = 16 / (long long)sizeof(T);
    long long groups = (n + V - 1) / V, per = (groups + gridDim.x - 1) / gridDim.x;
    long long e0 = ds_ar_min(n, blockIdx.x * per * V), e1 = ds_ar_min(n, e0 + per * V);
    long long half = (long long)(e & 1u) * (P + 1) * region + DS_AR_DATA;
    T *dst[DS_AR_MAX_RANKS];
    ds_ar_srcs<T> src;
    for (int r = 0; r < P; r++) {
        dst[r] = ds_ar_region<T>(pe, r, half, region, rank);   // my slot in rank r's half
        src.p[r] = r == rank ? in : ds_ar_region<T>(pe, rank, half, region, r);
    }
    ds_ar_push<T>(dst, P, rank, in, e0, e1);
    ds_ar_barrier(pe, rank, P, 0, e);
    ds_ar_sum<T>(out, src, P, e0, e1);
}

template <typename T>
__device__ void ds_ar_two_shot(const T *in, T *out, long long n, const ds_ar_peers &pe, long long region, int rank,
                               int P, unsigned e)
{
    const long long V = 16 / (long long)sizeof(T);
    long long groups = (n + V - 1) / V;
    long long cs = (groups + P - 1) / P * V;                  // elements per chunk (chunk k: rank k's)
    long long per = ((cs / V) + gridDim.x - 1) / gridDim.x * V; // elements of one block within a chunk
    long long c0 = ds_ar_min(cs, blockIdx.x * per), c1 = ds_ar_min(cs, c0 + per);
    long long half = (long long)(e & 1u) * (P + 1) * region + DS_AR_DATA;
    // 1. my slice of chunk k goes to rank k's region[rank] (chunk-relative offsets)
    for (int k = 0; k < P; k++) {
        long long a = ds_ar_min(n, k * cs + c0), b = ds_ar_min(n, k * cs + c1);
        if (k == rank || a >= b) continue;
        T *dst[1] = {ds_ar_region<T>(pe, k, half, region, rank) - k * cs};
        ds_ar_push<T>(dst, 1, -1, in, a, b);
    }
    ds_ar_barrier(pe, rank, P, 0, e);
    // 2. the sum of my chunk into my region[P]
    {
        long long a = ds_ar_min(n, rank * cs + c0), b = ds_ar_min(n, rank * cs + c1);
        ds_ar_srcs<T> src;
        for (int r = 0; r < P; r++) src.p[r] = r == rank ? in : ds_ar_region<T>(pe, rank, half, region, r) - rank * cs;
        if (a < b) ds_ar_sum<T>(ds_ar_region<T>(pe, rank, half, region, P) - rank * cs, src, P, a, b);
    }
    ds_ar_barrier(pe, rank, P, 1, e);
    // 3. every chunk's sum from its owner
    for (int k = 0; k < P; k++) {
        long long a = ds_ar_min(n, k * cs + c0), b = ds_ar_min(n, k * cs + c1);
        ds_ar_srcs<T> src;
        src.p[0] = ds_ar_region<T>(pe, k, half, region, P) - k * cs;
        if (a < b) ds_ar_sum<T>(out, src, 1, a, b);
    }
    ds_ar_barrier(pe, rank, P, 2, e);   // nobody reads my region[P] once I return
}

template <typename T>
__device__ void ds_ar_run(const T *in, T *out, long long n, const ds_ar_peers &pe, long long region, int rank,
                          int P, int two_shot)
{
    unsigned *epoch = reinterpret_cast<unsigned *>(pe.base[rank] + DS_AR_COUNTERS);
    unsigned *done = epoch + 1;
    __shared__ unsigned s_e;
    if (threadIdx.x == 0) s_e = *reinterpret_cast<volatile unsigned *>(epoch) + 1u;
    __syncthreads();
    unsigned e = s_e;
    if (two_shot) ds_ar_two_shot<T>(in, out, n, pe, region, rank, P, e);
    else ds_ar_one_shot<T>(in, out, n, pe, region, rank, P, e);
    // The last block to finish advances the epoch for the next launch.
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        if (atomicAdd(done, 1u) == gridDim.x - 1) {
            *done = 0u;
            *reinterpret_cast<volatile unsigned *>(epoch) = e;
        }
    }
}

extern "C" __global__ void __launch_bounds__(DS_AR_THREADS)
{{NAME}}(const {{T}} *in, {{T}} *out, long long n, ds_ar_peers pe, long long region, int rank, int P, int two_shot)
{
    ds_ar_run<{{T}}>(in, out, n, pe, region, rank, P, two_shot);
}
