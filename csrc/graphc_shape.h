/* Runtime pieces of the shape ops: reshape, sum_to (the gradient of broadcasting), arange sizes. */
#ifndef GRAPHC_SHAPE_H
#define GRAPHC_SHAPE_H
#include "graphc_rt.h"

/* numpy reshape: resolve one -1, check the size, and view x when it is contiguous (else copy into *buf). */
static int gc_reshape(gc_status *st, const char *label, gc_array *out, gc_buffer *buf, const gc_array *reuse,
                      const gc_array *x, int nd, const int64_t *req, size_t itemsize) {
    int64_t shape[GC_MAX_NDIM], known = 1, n = gc_size(x);
    int unknown = -1;
    for (int d = 0; d < nd; ++d) {
        shape[d] = req[d];
        if (req[d] == -1) { if (unknown >= 0) return gc_error(st, GC_ERR_VALUE, "%s: can only specify one unknown dimension", label); unknown = d; }
        else if (req[d] < 0) return gc_error(st, GC_ERR_VALUE, "%s: negative dimension %lld", label, (long long)req[d]);
        else known *= req[d];
    }
    if (unknown >= 0) {
        if (known == 0 || n % known != 0) {
            char b1[256];
            return gc_error(st, GC_ERR_VALUE, "%s: cannot reshape array of size %lld into shape %s", label,
                            (long long)n, gc_shape_str(b1, sizeof b1, nd, req));
        }
        shape[unknown] = n / known;
    } else if (known != n) {
        char b1[256];
        return gc_error(st, GC_ERR_VALUE, "%s: cannot reshape array of size %lld into shape %s", label,
                        (long long)n, gc_shape_str(b1, sizeof b1, nd, req));
    }
    if (gc_is_contiguous(x)) {
        out->data = x->data;
        out->ndim = nd;
        out->owned = 0;
        memcpy(out->shape, shape, sizeof(int64_t) * (size_t)nd);
        gc_set_contiguous_strides(out);
        return GC_OK;
    }
    gc_array tmp;
    if (gc_copy_new(st, &tmp, buf, x, itemsize, NULL) != GC_OK) return st->code;
    (void)reuse;
    *out = tmp;
    out->ndim = nd;
    memcpy(out->shape, shape, sizeof(int64_t) * (size_t)nd);
    gc_set_contiguous_strides(out);
    return GC_OK;
}

/* Which dims of g (nd dims) sum_to must reduce to reach shape (nt dims); -1 on a size mismatch. */
static int gc_sum_to_plan(gc_status *st, const char *label, const gc_array *g, int nt, const int64_t *shape,
                          int *reduce, int *any) {
    int lead = g->ndim - nt;
    *any = lead > 0;
    for (int d = 0; d < g->ndim; ++d) {
        if (d < lead) { reduce[d] = 1; continue; }
        int64_t want = shape[d - lead], have = g->shape[d];
        reduce[d] = want == 1 && have != 1;
        if (reduce[d]) *any = 1;
        else if (want != have) {
            char b1[256], b2[256];
            return gc_error(st, GC_ERR_VALUE, "%s: cannot sum shape %s down to %s", label,
                            gc_shape_str(b1, sizeof b1, g->ndim, g->shape), gc_shape_str(b2, sizeof b2, nt, shape));
        }
    }
    return GC_OK;
}

#define GC_SUM_TO(T)                                                                                      \
static int gc_sum_to_##T(gc_status *st, const char *label, gc_array *out, gc_buffer *buf,                 \
                         const gc_array *reuse,                                                           \
                         const gc_array *g, int nt, const int64_t *shape) {                               \
    int reduce[GC_MAX_NDIM], any;                                                                         \
    if (gc_sum_to_plan(st, label, g, nt, shape, reduce, &any) != GC_OK) return st->code;                  \
    if (!any) { *out = *g; out->owned = 0; return GC_OK; }                                                \
    if (gc_alloc(st, out, buf, nt, shape, sizeof(T), reuse) != GC_OK) return st->code;                    \
    int64_t n = gc_size(out), total = gc_size(g), ostr[GC_MAX_NDIM], idx[GC_MAX_NDIM] = {0};              \
    T *po = (T *)out->data;                                                                               \
    const T *pg = (const T *)g->data;                                                                     \
    for (int64_t i = 0; i < n; ++i) po[i] = 0;                                                            \
    int lead = g->ndim - nt;                                                                              \
    for (int d = 0; d < g->ndim; ++d) ostr[d] = reduce[d] ? 0 : out->strides[d - lead];                   \
    for (int64_t i = 0; i < total; ++i) {                                                                 \
        int64_t go = 0, oo = 0;                                                                           \
        for (int d = 0; d < g->ndim; ++d) { go += idx[d] * g->strides[d]; oo += idx[d] * ostr[d]; }       \
        po[oo] += pg[go];                                                                                 \
        for (int d = g->ndim - 1; d >= 0; --d) { if (++idx[d] < g->shape[d]) break; idx[d] = 0; }        \
    }                                                                                                     \
    return GC_OK;                                                                                         \
}
GC_SUM_TO(float32_t)
GC_SUM_TO(float64_t)

/* numpy arange's length: ceil((stop - start) / step), at least 0. */
static int gc_arange_len(gc_status *st, const char *label, double start, double stop, double step, int64_t *len) {
    if (step == 0) return gc_error(st, GC_ERR_VALUE, "%s: arange step must not be zero", label);
    double n = ceil((stop - start) / step);
    if (!(n == n)) return gc_error(st, GC_ERR_VALUE, "%s: arange bounds are not finite", label);
    *len = n > 0 ? (int64_t)n : 0;
    return GC_OK;
}
#endif
