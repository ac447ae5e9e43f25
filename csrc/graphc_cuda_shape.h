/* sum_to (the gradient of broadcasting) on the device: the twin of graphc_shape.h's gc_sum_to_T. */
#ifndef GRAPHC_CUDA_SHAPE_H
#define GRAPHC_CUDA_SHAPE_H
#include "graphc_shape.h"
#include "graphc_cuda.h"

/* One thread per output element sums its share of g in a fixed order (deterministic, no atomics). */
template <typename T>
__global__ void gc_sum_to_kernel(T *out, const T *g, const gc_bcast_map m, const gc_bcast_map r) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m.n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t base, unused, off;
        gc_bcast_offsets(m, i, &unused, &base);
        double acc = 0;
        for (int64_t j = 0; j < r.n; ++j) {
            gc_bcast_offsets(r, j, &unused, &off);
            acc += (double)g[base + off];
        }
        out[i] = (T)acc;
    }
}

template <typename T>
static int gc_dsum_to(gc_status *st, const char *label, gc_array *out, gc_buffer *buf, const gc_array *reuse,
                      const gc_array *g, int nt, const int64_t *shape) {
    int reduce[GC_MAX_NDIM], any;
    if (gc_sum_to_plan(st, label, g, nt, shape, reduce, &any) != GC_OK) return st->code;
    if (!any) { *out = *g; out->owned = 0; return GC_OK; }
    if (gc_dalloc(st, out, buf, nt, shape, sizeof(T), reuse) != GC_OK) return st->code;
    gc_bcast_map m = {0}, r = {0};
    m.n = r.n = 1;
    for (int d = 0; d < g->ndim; ++d) {
        gc_bcast_map *to = reduce[d] ? &r : &m;
        to->shape[to->nd] = g->shape[d];
        to->src[to->nd] = g->strides[d];
        to->dst[to->nd++] = 0;
        to->n *= g->shape[d];
    }
    if (m.n == 0) return GC_OK;
    gc_sum_to_kernel<T><<<gc_blocks(m.n), GC_THREADS>>>((T *)out->data, (const T *)g->data, m, r);
    return GC_OK;
}
#define gc_dsum_to_float32_t gc_dsum_to<float32_t>
#define gc_dsum_to_float64_t gc_dsum_to<float64_t>
#endif
