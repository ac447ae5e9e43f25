/* Advanced indexing on the device: the twins of graphc_index.h's gather and scatter, sharing its plan and its
 * offset arithmetic (gc_adv_locate); a bad index found by a kernel becomes numpy's IndexError on the host. */
#ifndef GRAPHC_CUDA_INDEX_H
#define GRAPHC_CUDA_INDEX_H
#include "graphc_index.h"
#include "graphc_cuda.h"

typedef struct {
    int64_t n;
    int64_t shape[GC_MAX_NDIM], strides[GC_MAX_NDIM];
} gc_dregion;

static __device__ void gc_region_pos(const gc_adv_plan &p, int64_t i, int64_t *pos) {
    for (int d = p.ndim_region - 1; d >= 0; --d) { pos[d] = i % p.shape[d]; i /= p.shape[d]; }
}

template <typename T>
__global__ void gc_gather_kernel(T *out, const T *x, const gc_adv_plan p, const gc_dregion xr, const gc_dsite site) {
    int64_t pos[GC_MAX_NDIM], off, bad_index;
    int bad_dim;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < xr.n; i += (int64_t)gridDim.x * blockDim.x) {
        gc_region_pos(p, i, pos);
        if (gc_adv_locate(&p, xr.shape, xr.strides, pos, &off, &bad_index, &bad_dim)) out[i] = x[off];
        else gc_dflag_raise(site, bad_dim, bad_index, xr.shape[bad_dim]);
    }
}

/* numpy's IndexError for the bad index a kernel found */
static int gc_dreport_index(gc_status *st, const char *label, const gc_dflag *f) {
    return gc_index_error(st, label, f->value, f->dim, f->size);
}

static gc_dregion gc_dregion_of(const gc_array *x, int64_t n) {
    gc_dregion r;
    r.n = n;
    for (int d = 0; d < x->ndim; ++d) { r.shape[d] = x->shape[d]; r.strides[d] = x->strides[d]; }
    return r;
}

/* The gather of elements of U's size (any dtype of that size: a gather only moves bytes). */
template <typename U>
static void gc_dgather_as(const gc_array *x, const gc_adv_plan *p, gc_array *out, const gc_dregion &xr,
                          const gc_dsite &site) {
    gc_gather_kernel<U><<<gc_blocks(xr.n), GC_THREADS>>>((U *)out->data, (const U *)x->data, *p, xr, site);
}

static int gc_dadv_gather(gc_status *st, const char *label, const gc_array *x, const gc_adv_plan *p, gc_array *out,
                          size_t itemsize) {
    int64_t n = gc_size(out);
    if (n == 0) return GC_OK;
    gc_dsite site;
    if (gc_dsite_for(st, label, gc_dreport_index, &site) != GC_OK) return st->code;
    gc_dregion xr = gc_dregion_of(x, n);
    switch (itemsize) {
        case 1: gc_dgather_as<uint8_t>(x, p, out, xr, site); break;
        case 2: gc_dgather_as<uint16_t>(x, p, out, xr, site); break;
        case 4: gc_dgather_as<uint32_t>(x, p, out, xr, site); break;
        default: gc_dgather_as<uint64_t>(x, p, out, xr, site); break;
    }
    return GC_OK;
}

/* An add that several threads may make to one element: atomic for 4- and 8-byte types. */
static __device__ void gc_atomic_add(float *p, float v) { atomicAdd(p, v); }
static __device__ void gc_atomic_add(double *p, double v) { atomicAdd(p, v); }
static __device__ void gc_atomic_add(int32_t *p, int32_t v) { atomicAdd((int *)p, (int)v); }
static __device__ void gc_atomic_add(int64_t *p, int64_t v) {
    atomicAdd((unsigned long long *)p, (unsigned long long)v);
}
static __device__ void gc_atomic_add(uint64_t *p, uint64_t v) {
    atomicAdd((unsigned long long *)p, (unsigned long long)v);
}

/* Scatter into out (a copy of x). A set, and an add into 1- and 2-byte types, run in one thread in the region's
 * C order, so the last write wins exactly as in numpy; an add into wider types runs in parallel with atomics
 * (np.add.at's sums; for floats, repeated indices may add in another order). */
template <typename T, bool SERIAL, bool SET>
__global__ void gc_scatter_kernel(T *out, const T *y, const gc_adv_plan p, const gc_dregion outr,
                                  const gc_bcast_map ym, const gc_dsite site) {
    int64_t pos[GC_MAX_NDIM], off, bad_index, yo;
    int bad_dim;
    int64_t start = SERIAL ? 0 : blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    int64_t step = SERIAL ? 1 : (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = start; i < ym.n; i += step) {
        gc_region_pos(p, i, pos);
        if (!gc_adv_locate(&p, outr.shape, outr.strides, pos, &off, &bad_index, &bad_dim)) {
            gc_dflag_raise(site, bad_dim, bad_index, outr.shape[bad_dim]);
            continue;
        }
        yo = 0;
        for (int d = 0; d < p.ndim_region; ++d) yo += pos[d] * ym.src[d];
        if constexpr (SET) out[off] = y[yo];
        else if constexpr (SERIAL) out[off] = (T)(out[off] + y[yo]);
        else gc_atomic_add(&out[off], y[yo]);
    }
}

template <typename T, bool PARALLEL_ADD>
static int gc_dadv_scatter(gc_status *st, const char *label, gc_array *out, const gc_adv_plan *p, const gc_array *y,
                           int set) {
    gc_bcast_map ym = {0};
    ym.n = 1;
    for (int d = 0; d < p->ndim_region; ++d) ym.n *= p->shape[d];
    if (ym.n == 0) return GC_OK;
    gc_bcast_strides(y, p->ndim_region, p->shape, ym.src);
    gc_dsite site;
    if (gc_dsite_for(st, label, gc_dreport_index, &site) != GC_OK) return st->code;
    gc_dregion outr = gc_dregion_of(out, ym.n);
    T *po = (T *)out->data;
    const T *py = (const T *)y->data;
    if (set) {
        gc_scatter_kernel<T, true, true><<<1, 1>>>(po, py, *p, outr, ym, site);
    } else {
        if constexpr (PARALLEL_ADD)
            gc_scatter_kernel<T, false, false><<<gc_blocks(ym.n), GC_THREADS>>>(po, py, *p, outr, ym, site);
        else gc_scatter_kernel<T, true, false><<<1, 1>>>(po, py, *p, outr, ym, site);
    }
    return GC_OK;
}

/* gc_adv_scatter_T's twins, instantiated only where a graph uses them */
#define gc_dadv_scatter_bool gc_dadv_scatter<bool, false>
#define gc_dadv_scatter_int8_t gc_dadv_scatter<int8_t, false>
#define gc_dadv_scatter_uint8_t gc_dadv_scatter<uint8_t, false>
#define gc_dadv_scatter_int16_t gc_dadv_scatter<int16_t, false>
#define gc_dadv_scatter_int32_t gc_dadv_scatter<int32_t, true>
#define gc_dadv_scatter_int64_t gc_dadv_scatter<int64_t, true>
#define gc_dadv_scatter_uint64_t gc_dadv_scatter<uint64_t, true>
#define gc_dadv_scatter_float32_t gc_dadv_scatter<float32_t, true>
#define gc_dadv_scatter_float64_t gc_dadv_scatter<float64_t, true>
#endif
