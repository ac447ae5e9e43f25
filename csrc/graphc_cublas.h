/* Matrix products on the device: cuBLAS for float32/float64 (transposed views as transpose flags, batched
 * products as one strided-batched call where the batch has a uniform stride), a plain kernel for integers and
 * bool. Shape checks and operand layouts are graphc_matrix.h's, shared with the cblas path. */
#ifndef GRAPHC_CUBLAS_H
#define GRAPHC_CUBLAS_H
#include <cublas_v2.h>
#include <type_traits>
#include "graphc_matrix.h"
#include "graphc_cuda.h"

/* One handle per host thread, made on first use (cuBLAS handles are not shared between threads). */
static int gc_cublas(gc_status *st, const char *label, cublasHandle_t *out) {
    static thread_local cublasHandle_t handle = NULL;
    if (!handle) {
        cublasStatus_t s = cublasCreate(&handle);
        if (s != CUBLAS_STATUS_SUCCESS) {
            handle = NULL;
            return gc_error(st, GC_ERR_RUNTIME, "%s: cublasCreate failed: %s", label, cublasGetStatusString(s));
        }
    }
    *out = handle;
    return GC_OK;
}

static int gc_cublas_check(gc_status *st, const char *label, const char *what, cublasStatus_t s) {
    if (s == CUBLAS_STATUS_SUCCESS) return GC_OK;
    return gc_error(st, GC_ERR_RUNTIME, "%s: %s failed: %s", label, what, cublasGetStatusString(s));
}

/* A row-major operand as cuBLAS (column-major) reads it: C = A @ B is computed as C^T = B^T @ A^T, so a
 * row-major matrix is passed untransposed and a transposed view (unit row stride) with the transpose flag. */
static int gc_cublas_operand(gc_status *st, const gc_array *m, gc_array *copy, gc_buffer *buf, size_t itemsize,
                             const gc_array **use, cublasOperation_t *op, int64_t *ld) {
    int layout = gc_blas_layout(m, ld);
    *use = m;
    if (layout < 0) {
        if (gc_dcopy_new(st, copy, buf, m, itemsize, NULL) != GC_OK) return st->code;
        *use = copy;
        layout = gc_blas_layout(copy, ld);
    }
    *op = layout ? CUBLAS_OP_T : CUBLAS_OP_N;
    return GC_OK;
}

static cublasStatus_t gc_gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const float *alpha, const float *a, int lda, long long sa, const float *b, int ldb,
                                   long long sb, const float *beta, float *c, int ldc, long long sc, int batch) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
static cublasStatus_t gc_gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const double *alpha, const double *a, int lda, long long sa, const double *b,
                                   int ldb, long long sb, const double *beta, double *c, int ldc, long long sc,
                                   int batch) {
    return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

/* C[i] (m x n, contiguous, i < batch, C[i] at C + i*m*n) = alpha * A[i] @ B[i] + beta * C[i], with A[i] at
 * A->data + i*sa elements (sa may be 0: a broadcast operand), likewise B. An operand cuBLAS cannot read as it is
 * is copied first, which only a single product (batch 1) may need. */
template <typename T>
static int gc_dgemm_batched(gc_status *st, const char *label, T alpha, const gc_array *A, int64_t sa,
                            const gc_array *B, int64_t sb, T beta, T *C, int64_t batch) {
    int64_t m = A->shape[0], k = A->shape[1], n = B->shape[1], lda, ldb;
    if (m == 0 || n == 0 || batch == 0) return GC_OK;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX)
        return gc_error(st, GC_ERR_VALUE, "%s: matrix too large for cuBLAS", label);
    cublasHandle_t h;
    if (gc_cublas(st, label, &h) != GC_OK) return st->code;
    gc_array ca, cb;
    gc_buffer ta = {0}, tb = {0};
    const gc_array *a, *b;
    cublasOperation_t opa, opb;
    int rc = gc_cublas_operand(st, A, &ca, &ta, sizeof(T), &a, &opa, &lda);
    if (rc == GC_OK) rc = gc_cublas_operand(st, B, &cb, &tb, sizeof(T), &b, &opb, &ldb);
    if (rc == GC_OK)
        rc = gc_cublas_check(st, label, "cuBLAS gemm",
                             gc_gemm_call(h, opb, opa, (int)n, (int)m, (int)k, &alpha, (const T *)b->data, (int)ldb,
                                          sb, (const T *)a->data, (int)lda, sa, &beta, C, (int)n, m * n, (int)batch));
    gc_dfree(ta.data);
    gc_dfree(tb.data);
    return rc;
}

/* Integer and bool products: one thread per element of C, accumulating in ACC as the C path does. */
template <typename T, typename ACC>
__global__ void gc_matmul_kernel(const T *a, const T *b, T *c, int64_t m, int64_t n, int64_t k, int64_t a0,
                                 int64_t a1, int64_t b0, int64_t b1) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m * n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / n, col = i % n;
        ACC acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += (ACC)a[r * a0 + p * a1] * (ACC)b[p * b0 + col * b1];
        c[i] = (T)acc;
    }
}

/* One matrix product C = A @ B (C contiguous): cuBLAS for floats, the kernel (accumulating as the C path does) else. */
template <typename T>
static int gc_dmatmul2d(gc_status *st, const char *label, const gc_array *A, const gc_array *B, T *C) {
    if constexpr (std::is_floating_point<T>::value) {
        return gc_dgemm_batched<T>(st, label, 1, A, 0, B, 0, 0, C, 1);
    } else {
        using ACC = typename std::conditional<std::is_same<T, bool>::value, int64_t, T>::type;
        int64_t m = A->shape[0], k = A->shape[1], n = B->shape[1];
        if (m * n > 0)
            gc_matmul_kernel<T, ACC><<<gc_blocks(m * n), GC_THREADS>>>((const T *)A->data, (const T *)B->data, C, m,
                                                                   n, k, A->strides[0], A->strides[1],
                                                                   B->strides[0], B->strides[1]);
        return GC_OK;
    }
}
#define gc_dmatmul2d_bool gc_dmatmul2d<bool>
#define gc_dmatmul2d_int8_t gc_dmatmul2d<int8_t>
#define gc_dmatmul2d_uint8_t gc_dmatmul2d<uint8_t>
#define gc_dmatmul2d_int16_t gc_dmatmul2d<int16_t>
#define gc_dmatmul2d_int32_t gc_dmatmul2d<int32_t>
#define gc_dmatmul2d_int64_t gc_dmatmul2d<int64_t>
#define gc_dmatmul2d_uint64_t gc_dmatmul2d<uint64_t>
#define gc_dmatmul2d_float32_t gc_dmatmul2d<float32_t>
#define gc_dmatmul2d_float64_t gc_dmatmul2d<float64_t>

/* gc_gemm_T on the device: c broadcast into out, then one gemm adding alpha * a @ b (beta scales c). */
template <typename T>
static int gc_dgemm(gc_status *st, const char *label, T alpha, const gc_array *a, const gc_array *b, T beta,
                    const gc_array *c, gc_array *out) {
    gc_array A = gc_as_matrix(a, 1), B = gc_as_matrix(b, 0);
    int64_t m = a->ndim == 2 ? out->shape[0] : 1, n = b->ndim == 2 ? out->shape[out->ndim - 1] : 1;
    if (A.shape[0] != m) { A.shape[0] = m; A.strides[0] = 0; }
    if (B.shape[1] != n) { B.shape[1] = n; B.strides[1] = 0; }
    if (c) gc_dcopy_bcast(out, c, sizeof(T));
    return gc_dgemm_batched<T>(st, label, alpha, &A, 0, &B, 0, c ? beta : 0, (T *)out->data, 1);
}
#define gc_dgemm_float32_t gc_dgemm<float32_t>
#define gc_dgemm_float64_t gc_dgemm<float64_t>

/* Whether batch i (in C order over broadcast batch dims) sits at i * *stride elements for every i: then one
 * strided-batched call does the whole batch. */
static int gc_uniform_batch(int nb, const int64_t *shape, const int64_t *strides, int64_t *stride) {
    int64_t s = 0, span = 1;
    int seen = 0;
    for (int d = nb - 1; d >= 0; --d) {
        if (shape[d] == 1) continue;
        if (!seen) { s = strides[d]; seen = 1; }
        else if (strides[d] != s * span) return 0;
        span *= shape[d];
    }
    *stride = s;
    return 1;
}

/* numpy.matmul over broadcast batch dims (out is contiguous, of the broadcast shape). */
template <typename T>
static int gc_dbatched_matmul(gc_status *st, const char *label, const gc_array *a, const gc_array *b, gc_array *out) {
    int nb = out->ndim - 2;
    int64_t sa[GC_MAX_NDIM], sb[GC_MAX_NDIM], idx[GC_MAX_NDIM] = {0}, count = 1;
    gc_array ba = *a, bb = *b;
    ba.ndim = bb.ndim = nb;
    gc_bcast_strides(&ba, nb, out->shape, sa);
    gc_bcast_strides(&bb, nb, out->shape, sb);
    for (int d = 0; d < nb; ++d) count *= out->shape[d];
    const int64_t plane = out->shape[nb] * out->shape[nb + 1];
    gc_array A = {0}, B = {0};
    A.ndim = B.ndim = 2;
    for (int d = 0; d < 2; ++d) {
        A.shape[d] = a->shape[nb + d]; A.strides[d] = a->strides[nb + d];
        B.shape[d] = b->shape[nb + d]; B.strides[d] = b->strides[nb + d];
    }
    if constexpr (std::is_floating_point<T>::value) {
        int64_t ua, ub, lda, ldb;
        if (gc_uniform_batch(nb, out->shape, sa, &ua) && gc_uniform_batch(nb, out->shape, sb, &ub) &&
            gc_blas_layout(&A, &lda) >= 0 && gc_blas_layout(&B, &ldb) >= 0) {
            A.data = a->data;
            B.data = b->data;
            return gc_dgemm_batched<T>(st, label, 1, &A, ua, &B, ub, 0, (T *)out->data, count);
        }
    }
    for (int64_t i = 0; i < count; ++i) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < nb; ++d) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
        A.data = a->data + oa * (int64_t)sizeof(T);
        B.data = b->data + ob * (int64_t)sizeof(T);
        if (gc_dmatmul2d<T>(st, label, &A, &B, (T *)out->data + i * plane) != GC_OK) return st->code;
        for (int d = nb - 1; d >= 0; --d) { if (++idx[d] < out->shape[d]) break; idx[d] = 0; }
    }
    return GC_OK;
}

#define gc_dbatched_matmul_bool gc_dbatched_matmul<bool>
#define gc_dbatched_matmul_int8_t gc_dbatched_matmul<int8_t>
#define gc_dbatched_matmul_uint8_t gc_dbatched_matmul<uint8_t>
#define gc_dbatched_matmul_int16_t gc_dbatched_matmul<int16_t>
#define gc_dbatched_matmul_int32_t gc_dbatched_matmul<int32_t>
#define gc_dbatched_matmul_int64_t gc_dbatched_matmul<int64_t>
#define gc_dbatched_matmul_uint64_t gc_dbatched_matmul<uint64_t>
#define gc_dbatched_matmul_float32_t gc_dbatched_matmul<float32_t>
#define gc_dbatched_matmul_float64_t gc_dbatched_matmul<float64_t>
#endif
