/* Matrix products through cblas (OpenBLAS from the scipy-openblas32 wheel, whose symbols carry a prefix),
 * with a plain loop for integer and bool dtypes. Operands may have any strides: BLAS takes a matrix whose rows
 * or columns are contiguous (as a transpose flag); anything else is copied to a contiguous temporary first. */
#ifndef GRAPHC_BLAS_H
#define GRAPHC_BLAS_H
#include "graphc_matrix.h"
#ifdef GRAPHC_SYSTEM_CBLAS
#include <cblas.h>
#else
#include <cblas.h>
#define cblas_sgemm scipy_cblas_sgemm
#define cblas_dgemm scipy_cblas_dgemm
#endif

#define GC_GEMM(T, GEMM)                                                                                  \
/* C (m x n, contiguous) = alpha * A (m x k) @ B (k x n) + beta * C (C is not read when beta is 0) */     \
static int gc_gemm2d_##T(gc_status *st, T alpha, const gc_array *A, const gc_array *B, T beta, T *C) {    \
    int64_t m = A->shape[0], k = A->shape[1], n = B->shape[1], lda, ldb;                                  \
    if (m == 0 || n == 0) return GC_OK;                                                                   \
    if (k == 0) { for (int64_t i = 0; i < m * n; ++i) C[i] = beta == 0 ? 0 : beta * C[i]; return GC_OK; } \
    gc_array ca, cb; gc_buffer ta = {0}, tb = {0};                                                         \
    int la = gc_blas_layout(A, &lda), lb = gc_blas_layout(B, &ldb);                                       \
    if (la < 0) { if (gc_copy_new(st, &ca, &ta, A, sizeof(T), NULL) != GC_OK) return st->code;            \
                  A = &ca; la = gc_blas_layout(A, &lda); }                                                \
    if (lb < 0) { if (gc_copy_new(st, &cb, &tb, B, sizeof(T), NULL) != GC_OK) { free(ta.data); return st->code; } \
                  B = &cb; lb = gc_blas_layout(B, &ldb); }                                                \
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX) {          \
        free(ta.data); free(tb.data);                                                                               \
        return gc_error(st, GC_ERR_VALUE, "matrix too large for 32-bit BLAS");                             \
    }                                                                                                     \
    GEMM(CblasRowMajor, la ? CblasTrans : CblasNoTrans, lb ? CblasTrans : CblasNoTrans, (int)m, (int)n,   \
         (int)k, alpha, (const T *)A->data, (int)lda, (const T *)B->data, (int)ldb, beta, C,              \
         (int)(n > 1 ? n : 1));                                                                           \
    free(ta.data); free(tb.data);                                                                                   \
    return GC_OK;                                                                                         \
}                                                                                                         \
static int gc_matmul2d_##T(gc_status *st, const gc_array *A, const gc_array *B, T *C) {                   \
    return gc_gemm2d_##T(st, 1, A, B, 0, C);                                                              \
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

/* out = alpha * dot(a, b) + beta * c (c NULL: beta is 0). out is contiguous, of gc_gemm_shape's shape, and overlaps
 * none of a, b, c. c is copied into out, then one gemm call adds the product with transpose flags for transposed
 * views. Where c widens a size-1 dim of the product, a's row or b's column is read repeatedly (stride 0). */
#define GC_GEMM_BCAST(T)                                                                                  \
static int gc_gemm_##T(gc_status *st, T alpha, const gc_array *a, const gc_array *b, T beta, const gc_array *c, \
                       gc_array *out) {                                                                   \
    gc_array A = gc_as_matrix(a, 1), B = gc_as_matrix(b, 0);                                              \
    int64_t m = a->ndim == 2 ? out->shape[0] : 1, n = b->ndim == 2 ? out->shape[out->ndim - 1] : 1;       \
    if (A.shape[0] != m) { A.shape[0] = m; A.strides[0] = 0; }                                            \
    if (B.shape[1] != n) { B.shape[1] = n; B.strides[1] = 0; }                                            \
    T *o = (T *)out->data;                                                                                \
    if (c) {                                                                                              \
        int64_t s[2], rs, cs;                                                                             \
        gc_bcast_strides(c, out->ndim, out->shape, s);                                                    \
        rs = a->ndim == 2 ? s[0] : 0;                                                                     \
        cs = b->ndim == 2 ? s[out->ndim - 1] : 0;                                                         \
        const T *src = (const T *)c->data;                                                                \
        for (int64_t i = 0; i < m; ++i) {                                                                 \
            if (cs == 1) { memcpy(o + i * n, src + i * rs, sizeof(T) * (size_t)n); continue; }            \
            for (int64_t j = 0; j < n; ++j) o[i * n + j] = src[i * rs + j * cs];                          \
        }                                                                                                 \
    }                                                                                                     \
    return gc_gemm2d_##T(st, alpha, &A, &B, c ? beta : 0, o);                                             \
}
GC_GEMM_BCAST(float32_t)
GC_GEMM_BCAST(float64_t)
#endif
