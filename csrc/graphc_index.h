/* Runtime pieces of indexing: basic indices as views, integer-array gathers and scatters (numpy's rules for
 * where the index arrays' dims go), every index bounds-checked before it is used. */
#ifndef GRAPHC_INDEX_H
#define GRAPHC_INDEX_H
#include "graphc_rt.h"

enum { GC_IDX_INT = 0, GC_IDX_SLICE = 1, GC_IDX_NEWAXIS = 2 };

static int gc_index_error(gc_status *st, const char *label, int64_t index, int axis, int64_t size) {
    return gc_error(st, GC_ERR_INDEX, "%s: index %lld is out of bounds for axis %d with size %lld", label,
                    (long long)index, axis, (long long)size);
}

/* Python's slice.indices(): clamp start/stop (present[k] says whether bound k was given) and count the items. */
static int gc_slice_adjust(gc_status *st, const char *label, int64_t size, const int *present, const int64_t *b,
                           int64_t *start, int64_t *step, int64_t *len) {
    int64_t s = present[2] ? b[2] : 1;
    if (s == 0) return gc_error(st, GC_ERR_VALUE, "%s: slice step cannot be zero", label);
    int64_t lower = s > 0 ? 0 : -1, upper = s > 0 ? size : size - 1;
    int64_t lo, hi;
    if (!present[0]) lo = s > 0 ? lower : upper;
    else { lo = b[0]; if (lo < 0) { lo += size; if (lo < lower) lo = lower; } else if (lo > upper) lo = upper; }
    if (!present[1]) hi = s > 0 ? upper : lower;
    else { hi = b[1]; if (hi < 0) { hi += size; if (hi < lower) hi = lower; } else if (hi > upper) hi = upper; }
    if (s > 0) *len = lo < hi ? (hi - lo - 1) / s + 1 : 0;
    else *len = hi < lo ? (lo - hi - 1) / (-s) + 1 : 0;
    *start = lo;
    *step = s;
    return GC_OK;
}

/* out = x[basic index]: kinds[k] per entry, present[3k..3k+2] per slice, vals = the int64 inputs in order. */
static int gc_basic_view(gc_status *st, const char *label, const gc_array *x, gc_array *out, int n,
                         const int *kinds, const int *present, const int64_t *vals, size_t itemsize) {
    int64_t offset = 0;
    int d = 0, o = 0;
    for (int k = 0; k < n; ++k) {
        if (kinds[k] == GC_IDX_NEWAXIS) { out->shape[o] = 1; out->strides[o] = 0; ++o; continue; }
        int64_t size = x->shape[d];
        if (kinds[k] == GC_IDX_INT) {
            int64_t i = *vals++;
            if (i < 0) i += size;
            if (i < 0 || i >= size) return gc_index_error(st, label, i < 0 ? i - size : i, d, size);
            offset += i * x->strides[d];
        } else {
            int64_t b[3] = {0, 0, 0}, start, step, len;
            for (int j = 0; j < 3; ++j) if (present[3 * k + j]) b[j] = *vals++;
            if (gc_slice_adjust(st, label, size, present + 3 * k, b, &start, &step, &len) != GC_OK) return st->code;
            out->shape[o] = len;
            out->strides[o] = x->strides[d] * step;
            if (len > 0) offset += start * x->strides[d];
            ++o;
        }
        ++d;
    }
    for (; d < x->ndim; ++d, ++o) { out->shape[o] = x->shape[d]; out->strides[o] = x->strides[d]; }
    out->ndim = o;
    out->data = x->data + offset * (int64_t)itemsize;
    out->owned = 0;
    return GC_OK;
}

/* How an advanced index maps a position in its region (the result of x[index]) to x. */
typedef struct {
    int ndim_region, nb, at;
    int64_t shape[GC_MAX_NDIM];       /* the region's shape */
    int64_t bshape[GC_MAX_NDIM];      /* the index arrays' broadcast shape */
    int xdim_of[GC_MAX_NDIM];         /* region dim -> x dim for dims taken whole, -1 for index-array dims */
    int64_t istr[GC_MAX_NDIM][GC_MAX_NDIM]; /* per index array: its strides over the broadcast dims */
    int indexed_dim[GC_MAX_NDIM];     /* index array j indexes x dim indexed_dim[j] */
    int nidx;
    const int64_t *idata[GC_MAX_NDIM]; /* index array j's elements */
} gc_adv_plan;

static int gc_adv_make_plan(gc_status *st, const char *label, const gc_array *x, int nflags, const int *indexed,
                            int nidx, const gc_array *const *idx, gc_adv_plan *p) {
    int nb = 0;
    for (int j = 0; j < nidx; ++j) if (idx[j]->ndim > nb) nb = idx[j]->ndim;
    if (gc_broadcast(st, label, nb, p->bshape, nidx, idx) != GC_OK) {
        st->code = GC_ERR_INDEX;
        return st->code;
    }
    int first = -1, last = -1, count = 0;
    for (int d = 0; d < nflags; ++d) if (indexed[d]) { if (first < 0) first = d; last = d; ++count; }
    int consecutive = last - first + 1 == count;
    int rest[GC_MAX_NDIM], nrest = 0, j = 0;
    for (int d = 0; d < x->ndim; ++d) {
        if (d < nflags && indexed[d]) p->indexed_dim[j++] = d;
        else rest[nrest++] = d;
    }
    p->at = consecutive ? first : 0;
    p->nb = nb;
    p->nidx = nidx;
    int o = 0;
    for (int r = 0; r < p->at; ++r, ++o) { p->xdim_of[o] = rest[r]; p->shape[o] = x->shape[rest[r]]; }
    for (int b = 0; b < nb; ++b, ++o) { p->xdim_of[o] = -1; p->shape[o] = p->bshape[b]; }
    for (int r = p->at; r < nrest; ++r, ++o) { p->xdim_of[o] = rest[r]; p->shape[o] = x->shape[rest[r]]; }
    p->ndim_region = o;
    for (j = 0; j < nidx; ++j) {
        gc_bcast_strides(idx[j], nb, p->bshape, p->istr[j]);
        p->idata[j] = (const int64_t *)idx[j]->data;
    }
    return GC_OK;
}

/* *offset = the element offset, in an array of x's shape and strides, of region position pos (negative indices
 * wrap); 0 for an index out of bounds (its value and dim in *bad_index, *bad_dim), else 1. Plain arithmetic: CUDA
 * kernels call it too (csrc/graphc_cuda.h). */
static inline GC_DEVICE int gc_adv_locate(const gc_adv_plan *p, const int64_t *xshape, const int64_t *xstrides,
                                          const int64_t *pos, int64_t *offset, int64_t *bad_index, int *bad_dim) {
    int64_t off = 0;
    for (int o = 0; o < p->ndim_region; ++o)
        if (p->xdim_of[o] >= 0) off += pos[o] * xstrides[p->xdim_of[o]];
    for (int j = 0; j < p->nidx; ++j) {
        int64_t io = 0;
        for (int b = 0; b < p->nb; ++b) io += pos[p->at + b] * p->istr[j][b];
        int d = p->indexed_dim[j];
        int64_t i = p->idata[j][io], size = xshape[d];
        if (i < -size || i >= size) { *bad_index = i; *bad_dim = d; return 0; }
        off += (i < 0 ? i + size : i) * xstrides[d];
    }
    *offset = off;
    return 1;
}

/* The element offset in x of region position pos (bounds-checked; negative indices wrap). */
static int gc_adv_offset(gc_status *st, const char *label, const gc_array *x, const gc_adv_plan *p,
                         const int64_t *pos, int64_t *offset) {
    int64_t bad_index = 0;
    int bad_dim = 0;
    if (gc_adv_locate(p, x->shape, x->strides, pos, offset, &bad_index, &bad_dim)) return GC_OK;
    return gc_index_error(st, label, bad_index, bad_dim, x->shape[bad_dim]);
}

static int gc_adv_gather(gc_status *st, const char *label, const gc_array *x, const gc_adv_plan *p, gc_array *out,
                         size_t itemsize) {
    int64_t n = gc_size(out), pos[GC_MAX_NDIM] = {0}, off;
    for (int64_t i = 0; i < n; ++i) {
        if (gc_adv_offset(st, label, x, p, pos, &off) != GC_OK) return st->code;
        memcpy(out->data + i * (int64_t)itemsize, x->data + off * (int64_t)itemsize, itemsize);
        for (int d = p->ndim_region - 1; d >= 0; --d) { if (++pos[d] < p->shape[d]) break; pos[d] = 0; }
    }
    return GC_OK;
}

/* Advanced set/inc into out (a copy of x), in C order of the region: the last write wins for a set,
 * repeated indices accumulate for an inc (np.add.at) - serially, so results are deterministic. */
#define GC_ADV_SCATTER(T)                                                                                 \
static int gc_adv_scatter_##T(gc_status *st, const char *label, gc_array *out, const gc_adv_plan *p,      \
                              const gc_array *y, int set) {                                               \
    int64_t n = 1, pos[GC_MAX_NDIM] = {0}, ys[GC_MAX_NDIM], off;                                          \
    for (int d = 0; d < p->ndim_region; ++d) n *= p->shape[d];                                            \
    gc_bcast_strides(y, p->ndim_region, p->shape, ys);                                                    \
    T *po = (T *)out->data;                                                                               \
    const T *py = (const T *)y->data;                                                                     \
    for (int64_t i = 0; i < n; ++i) {                                                                     \
        if (gc_adv_offset(st, label, out, p, pos, &off) != GC_OK) return st->code;                   \
        int64_t yo = 0;                                                                                   \
        for (int d = 0; d < p->ndim_region; ++d) yo += pos[d] * ys[d];                                    \
        po[off] = set ? py[yo] : (T)(po[off] + py[yo]);                                                   \
        for (int d = p->ndim_region - 1; d >= 0; --d) { if (++pos[d] < p->shape[d]) break; pos[d] = 0; }  \
    }                                                                                                     \
    return GC_OK;                                                                                         \
}                                                                                                         \
/* dst += src broadcast (the basic inc_subtensor) */                                                      \
static void gc_add_bcast_##T(gc_array *dst, const gc_array *src) {                                        \
    int nd = dst->ndim;                                                                                   \
    int64_t n = gc_size(dst), ss[GC_MAX_NDIM], idx[GC_MAX_NDIM] = {0};                                    \
    gc_bcast_strides(src, nd, dst->shape, ss);                                                            \
    T *pd = (T *)dst->data;                                                                               \
    const T *ps = (const T *)src->data;                                                                   \
    for (int64_t i = 0; i < n; ++i) {                                                                     \
        int64_t so = 0, doff = 0;                                                                         \
        for (int d = 0; d < nd; ++d) { so += idx[d] * ss[d]; doff += idx[d] * dst->strides[d]; }          \
        pd[doff] = (T)(pd[doff] + ps[so]);                                                                \
        for (int d = nd - 1; d >= 0; --d) { if (++idx[d] < dst->shape[d]) break; idx[d] = 0; }            \
    }                                                                                                     \
}
GC_ADV_SCATTER(bool)
GC_ADV_SCATTER(int8_t)
GC_ADV_SCATTER(uint8_t)
GC_ADV_SCATTER(int16_t)
GC_ADV_SCATTER(int32_t)
GC_ADV_SCATTER(int64_t)
GC_ADV_SCATTER(uint64_t)
GC_ADV_SCATTER(float32_t)
GC_ADV_SCATTER(float64_t)

/* y must broadcast to the region's shape (numpy: "could not broadcast input array from shape ... into ..."). */
static int gc_check_value_shape(gc_status *st, const char *label, const gc_array *y, int nd, const int64_t *shape) {
    for (int k = 0; k < y->ndim; ++k) {
        int d = nd - y->ndim + k;
        if (d < 0 ? y->shape[k] != 1 : (y->shape[k] != 1 && y->shape[k] != shape[d])) {
            char b1[256], b2[256];
            return gc_error(st, GC_ERR_VALUE, "%s: could not broadcast input array from shape %s into shape %s",
                            label, gc_shape_str(b1, sizeof b1, y->ndim, y->shape), gc_shape_str(b2, sizeof b2, nd, shape));
        }
    }
    return GC_OK;
}
#endif
