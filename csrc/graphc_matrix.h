/* Matrix operands as BLAS sees them, shared by the cblas (graphc_blas.h) and cuBLAS (graphc_cublas.h) paths:
 * vectors as 1-row or 1-column matrices, which layouts a BLAS call takes as they are, and the shape checks of
 * dot, matmul and gemm with numpy's messages. */
#ifndef GRAPHC_MATRIX_H
#define GRAPHC_MATRIX_H
#include "graphc_rt.h"

/* A 2-d view (rows x cols) of a 1-d or 2-d operand: a vector is one row (as_row) or one column. */
static gc_array gc_as_matrix(const gc_array *a, int as_row) {
    gc_array m = *a;
    if (a->ndim == 1) {
        m.ndim = 2;
        if (as_row) { m.shape[0] = 1; m.shape[1] = a->shape[0]; m.strides[0] = 0; m.strides[1] = a->strides[0]; }
        else { m.shape[0] = a->shape[0]; m.shape[1] = 1; m.strides[0] = a->strides[0]; m.strides[1] = 0; }
    }
    return m;
}

/* How BLAS can read matrix m: 0 = as is (row-major, *ld = row stride), 1 = transposed, -1 = needs a copy. */
static int gc_blas_layout(const gc_array *m, int64_t *ld) {
    int64_t r = m->shape[0], c = m->shape[1], s0 = m->strides[0], s1 = m->strides[1];
    if ((s1 == 1 || c == 1) && (r == 1 || s0 >= (c > 1 ? c : 1))) { *ld = r == 1 ? (c > 1 ? c : 1) : s0; return 0; }
    if ((s0 == 1 || r == 1) && (c == 1 || s1 >= (r > 1 ? r : 1))) { *ld = c == 1 ? (r > 1 ? r : 1) : s1; return 1; }
    return -1;
}

/* matmul's batch dims (all but the last two) must be equal or 1; the message names both full shapes. */
static int gc_check_batch(gc_status *st, const char *label, const gc_array *a, const gc_array *b) {
    for (int d = 0; d < a->ndim - 2; ++d) {
        int64_t x = a->shape[d], y = b->shape[d];
        if (x == y || x == 1 || y == 1) continue;
        char b1[256], b2[256];
        return gc_error(st, GC_ERR_VALUE, "%s: shapes %s and %s have batch dims that cannot be broadcast together",
                        label, gc_shape_str(b1, sizeof b1, a->ndim, a->shape),
                        gc_shape_str(b2, sizeof b2, b->ndim, b->shape));
    }
    return GC_OK;
}

static int gc_check_aligned(gc_status *st, const char *label, const gc_array *a, const gc_array *b, int64_t ka,
                            int64_t kb) {
    if (ka == kb) return GC_OK;
    char b1[256], b2[256];
    return gc_error(st, GC_ERR_VALUE, "%s: shapes %s and %s not aligned: %lld (dim %d) != %lld (dim %d)", label,
                    gc_shape_str(b1, sizeof b1, a->ndim, a->shape), gc_shape_str(b2, sizeof b2, b->ndim, b->shape),
                    (long long)ka, a->ndim - 1, (long long)kb, b->ndim > 1 ? b->ndim - 2 : 0);
}

/* Gemm's output shape: numpy.dot's for 1-d/2-d a and b (not both 1-d), broadcast with c's (c: rank <= the
 * product's, or NULL). A size-1 dim of the product may grow to c's size, as numpy broadcasting does. */
static int gc_gemm_shape(gc_status *st, const char *label, const gc_array *a, const gc_array *b, const gc_array *c,
                         int64_t *shape) {
    if (gc_check_aligned(st, label, a, b, a->shape[a->ndim - 1], b->shape[0]) != GC_OK) return st->code;
    int nd = 0;
    if (a->ndim == 2) shape[nd++] = a->shape[0];
    if (b->ndim == 2) shape[nd++] = b->shape[1];
    int64_t product[2] = { shape[0], nd > 1 ? shape[1] : 0 };
    for (int k = 0; c && k < c->ndim; ++k) {
        int d = nd - c->ndim + k;
        int64_t s = c->shape[k];
        if (s == shape[d] || s == 1) continue;
        if (shape[d] == 1) { shape[d] = s; continue; }
        char b1[256], b2[256];
        return gc_error(st, GC_ERR_VALUE, "%s: the product of shape %s and C of shape %s cannot be broadcast "
                        "together", label, gc_shape_str(b1, sizeof b1, nd, product),
                        gc_shape_str(b2, sizeof b2, c->ndim, c->shape));
    }
    return GC_OK;
}
#endif
