/* Matrix products through cblas (OpenBLAS from the scipy-openblas32 wheel, whose symbols carry a prefix),
 * with a plain loop for integer and bool dtypes. Operands may have any strides: BLAS takes a matrix whose rows
 * or columns are contiguous (as a transpose flag); anything else is copied to a contiguous temporary first. */
#ifndef GRAPHC_BLAS_H
#define GRAPHC_BLAS_H
#include "graphc_rt.h"
#ifdef GRAPHC_SYSTEM_CBLAS
#include <cblas.h>
#else
#include <cblas.h>
#define cblas_sgemm scipy_cblas_sgemm
#define cblas_dgemm scipy_cblas_dgemm
#endif

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

#define GC_GEMM(T, GEMM)                                                                                  \
/* C (m x n, contiguous) = A (m x k) @ B (k x n) */                                                       \
static int gc_matmul2d_##T(gc_status *st, const gc_array *A, const gc_array *B, T *C) {                   \
    int64_t m = A->shape[0], k = A->shape[1], n = B->shape[1], lda, ldb;                                  \
    if (m == 0 || n == 0) return GC_OK;                                                                   \
    if (k == 0) { memset(C, 0, sizeof(T) * (size_t)(m * n)); return GC_OK; }                               \
    gc_array ca, cb; void *ta = NULL, *tb = NULL;                                                         \
    int la = gc_blas_layout(A, &lda), lb = gc_blas_layout(B, &ldb);                                       \
    if (la < 0) { if (gc_copy_new(st, &ca, &ta, A, sizeof(T), NULL) != GC_OK) return st->code;            \
                  A = &ca; la = gc_blas_layout(A, &lda); }                                                \
    if (lb < 0) { if (gc_copy_new(st, &cb, &tb, B, sizeof(T), NULL) != GC_OK) { free(ta); return st->code; } \
                  B = &cb; lb = gc_blas_layout(B, &ldb); }                                                \
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX) {          \
        free(ta); free(tb);                                                                               \
        return gc_error(st, GC_ERR_VALUE, "matrix too large for 32-bit BLAS");                             \
    }                                                                                                     \
    GEMM(CblasRowMajor, la ? CblasTrans : CblasNoTrans, lb ? CblasTrans : CblasNoTrans, (int)m, (int)n,   \
         (int)k, 1, (const T *)A->data, (int)lda, (const T *)B->data, (int)ldb, 0, C, (int)(n > 1 ? n : 1)); \
    free(ta); free(tb);                                                                                   \
    return GC_OK;                                                                                         \
}
GC_GEMM(float32_t, cblas_sgemm)
GC_GEMM(float64_t, cblas_dgemm)

#define GC_LOOP_MATMUL(T, ACC)                                                                            \
static int gc_matmul2d_##T(gc_status *st, const gc_array *A, const gc_array *B, T *C) {                   \
    (void)st;                                                                                             \
    int64_t m = A->shape[0], k = A->shape[1], n = B->shape[1];                                            \
    const T *a = (const T *)A->data, *b = (const T *)B->data;                                             \
    for (int64_t i = 0; i < m; ++i)                                                                       \
        for (int64_t j = 0; j < n; ++j) {                                                                 \
            ACC acc = 0;                                                                                  \
            for (int64_t p = 0; p < k; ++p)                                                               \
                acc += (ACC)a[i * A->strides[0] + p * A->strides[1]] * (ACC)b[p * B->strides[0] + j * B->strides[1]]; \
            C[i * n + j] = (T)acc;                                                                        \
        }                                                                                                 \
    return GC_OK;                                                                                         \
}
GC_LOOP_MATMUL(bool, int64_t)
GC_LOOP_MATMUL(int8_t, int8_t)
GC_LOOP_MATMUL(uint8_t, uint8_t)
GC_LOOP_MATMUL(int16_t, int16_t)
GC_LOOP_MATMUL(int32_t, int32_t)
GC_LOOP_MATMUL(int64_t, int64_t)
GC_LOOP_MATMUL(uint64_t, uint64_t)

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
#endif
