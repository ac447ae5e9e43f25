/* 2-d convolution on the device: the twins of graphc_conv.h's functions. im2col and col2im are kernels over all
 * images at once (col2im gathers, so no atomics and a fixed order); the products are cuBLAS calls, one
 * strided-batched call for the forward pass and the input gradient, one accumulating call per image for the
 * filter gradient. cols is laid out [image][C*R*S][OH*OW]. */
#ifndef GRAPHC_CUDA_CONV_H
#define GRAPHC_CUDA_CONV_H
#include "graphc_conv_shape.h"
#include "graphc_cublas.h"

typedef struct {
    int64_t n, c, h, w;
} gc_strides4;

template <typename T>
__global__ void gc_im2col_kernel(const T *x, const gc_strides4 xs, const gc_conv g, T *cols) {
    const int64_t plane = g.oh * g.ow, rows = g.c * g.r * g.s, total = g.n * rows * plane;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t j = e % g.ow, i = e / g.ow % g.oh, row = e / plane % rows, n = e / (plane * rows);
        const int64_t s = row % g.s, r = row / g.s % g.r, c = row / (g.s * g.r);
        const int64_t y = i * g.sh - g.ph + r * g.dh, xx = j * g.sw - g.pw + s * g.dw;
        cols[e] = (y < 0 || y >= g.h || xx < 0 || xx >= g.w) ? (T)0 :
                  x[n * xs.n + c * xs.c + y * xs.h + xx * xs.w];
    }
}

/* dx[n, c, y, x] = the sum of the cols entries that im2col took from there */
template <typename T>
__global__ void gc_col2im_kernel(const T *cols, const gc_conv g, T *dx) {
    const int64_t plane = g.oh * g.ow, rows = g.c * g.r * g.s, total = g.n * g.c * g.h * g.w;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t xx = e % g.w, y = e / g.w % g.h, c = e / (g.w * g.h) % g.c, n = e / (g.w * g.h * g.c);
        T acc = 0;
        for (int64_t r = 0; r < g.r; ++r) {
            const int64_t ti = y + g.ph - r * g.dh;
            if (ti < 0 || ti % g.sh || ti / g.sh >= g.oh) continue;
            for (int64_t s = 0; s < g.s; ++s) {
                const int64_t tj = xx + g.pw - s * g.dw;
                if (tj < 0 || tj % g.sw || tj / g.sw >= g.ow) continue;
                acc += cols[(n * rows + (c * g.r + r) * g.s + s) * plane + ti / g.sh * g.ow + tj / g.sw];
            }
        }
        dx[e] = acc;
    }
}

/* a itself if it is contiguous, else a contiguous device copy in *buf. */
static int gc_dcontiguous(gc_status *st, const gc_array *a, gc_array *out, gc_buffer *buf, size_t itemsize) {
    if (gc_is_contiguous(a)) { *out = *a; return GC_OK; }
    return gc_dcopy_new(st, out, buf, a, itemsize, NULL);
}

/* cols of every image of x, in *buf. */
template <typename T>
static int gc_dim2col(gc_status *st, const gc_conv *g, const gc_array *x, gc_array *cols, gc_buffer *buf) {
    const int64_t shape[3] = { g->n, g->c * g->r * g->s, g->oh * g->ow };
    if (gc_dalloc(st, cols, buf, 3, shape, sizeof(T), NULL) != GC_OK) return st->code;
    const gc_strides4 xs = { x->strides[0], x->strides[1], x->strides[2], x->strides[3] };
    if (gc_size(cols) > 0) gc_im2col_kernel<T><<<gc_blocks(gc_size(cols)), GC_THREADS>>>((const T *)x->data, xs, *g,
                                                                                      (T *)cols->data);
    return GC_OK;
}

/* out (N, K, OH, OW) = W (K x CRS) @ cols[n] for every image n, in one call */
template <typename T>
static int gc_dconv2d(gc_status *st, const char *label, const gc_conv *g, const gc_array *x, const gc_array *w,
                      gc_array *out) {
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow;
    gc_array wc = {0}, cols = {0};
    gc_buffer wb = {0}, cb = {0};
    int rc = crs ? gc_dcontiguous(st, w, &wc, &wb, sizeof(T)) : GC_OK;
    if (rc == GC_OK && crs) rc = gc_dim2col<T>(st, g, x, &cols, &cb);
    if (rc == GC_OK && !crs) cudaMemsetAsync(out->data, 0, (size_t)gc_size(out) * sizeof(T), 0);
    if (rc == GC_OK && crs) {
        gc_array W = gc_matrix(wc.data, g->k, crs, 0), B = gc_matrix(cols.data, crs, plane, 0);
        rc = gc_dgemm_batched<T>(st, label, 1, &W, 0, &B, crs * plane, 0, (T *)out->data, g->n);
    }
    gc_dfree(wb.data);
    gc_dfree(cb.data);
    return rc;
}

/* dx: cols[n] = W^T (CRS x K) @ grad[n] (K x OHOW) for every image in one call, then col2im */
template <typename T>
static int gc_dconv2d_grad_input(gc_status *st, const char *label, const gc_conv *g, const gc_array *grad,
                                 const gc_array *w, gc_array *dx) {
    if (gc_conv_check_grad(st, label, g, grad) != GC_OK) return st->code;
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow, shape[3] = { g->n, crs, plane };
    gc_array wc = {0}, gg = {0}, cols = {0};
    gc_buffer wb = {0}, gb = {0}, cb = {0};
    int rc = gc_dcontiguous(st, w, &wc, &wb, sizeof(T));
    if (rc == GC_OK) rc = gc_dcontiguous(st, grad, &gg, &gb, sizeof(T));
    if (rc == GC_OK) rc = gc_dalloc(st, &cols, &cb, 3, shape, sizeof(T), NULL);
    if (rc == GC_OK && g->k == 0) cudaMemsetAsync(cols.data, 0, (size_t)gc_size(&cols) * sizeof(T), 0);
    if (rc == GC_OK && g->k > 0) {
        gc_array Wt = gc_matrix(wc.data, crs, g->k, 1), G = gc_matrix(gg.data, g->k, plane, 0);
        rc = gc_dgemm_batched<T>(st, label, 1, &Wt, 0, &G, g->k * plane, 0, (T *)cols.data, g->n);
    }
    if (rc == GC_OK && gc_size(dx) > 0)
        gc_col2im_kernel<T><<<gc_blocks(gc_size(dx)), GC_THREADS>>>((const T *)cols.data, *g, (T *)dx->data);
    gc_dfree(wb.data);
    gc_dfree(gb.data);
    gc_dfree(cb.data);
    return rc;
}

/* dw (K x CRS) = the sum over images of grad[n] (K x OHOW) @ cols[n]^T (OHOW x CRS) */
template <typename T>
static int gc_dconv2d_grad_weight(gc_status *st, const char *label, const gc_conv *g, const gc_array *x,
                                  const gc_array *grad, gc_array *dw) {
    if (gc_conv_check_grad(st, label, g, grad) != GC_OK) return st->code;
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow;
    gc_array gg = {0}, cols = {0};
    gc_buffer gb = {0}, cb = {0};
    int rc = gc_dcontiguous(st, grad, &gg, &gb, sizeof(T));
    if (rc == GC_OK) rc = gc_dim2col<T>(st, g, x, &cols, &cb);
    if (rc == GC_OK && (g->n == 0 || plane == 0)) cudaMemsetAsync(dw->data, 0, (size_t)gc_size(dw) * sizeof(T), 0);
    for (int64_t n = 0; rc == GC_OK && plane > 0 && n < g->n; ++n) {
        gc_array G = gc_matrix((char *)((T *)gg.data + n * g->k * plane), g->k, plane, 0);
        gc_array Ct = gc_matrix((char *)((T *)cols.data + n * crs * plane), plane, crs, 1);
        rc = gc_dgemm_batched<T>(st, label, 1, &G, 0, &Ct, 0, n ? 1 : 0, (T *)dw->data, 1);
    }
    gc_dfree(gb.data);
    gc_dfree(cb.data);
    return rc;
}

#define gc_dconv2d_float32_t gc_dconv2d<float32_t>
#define gc_dconv2d_float64_t gc_dconv2d<float64_t>
#define gc_dconv2d_grad_input_float32_t gc_dconv2d_grad_input<float32_t>
#define gc_dconv2d_grad_input_float64_t gc_dconv2d_grad_input<float64_t>
#define gc_dconv2d_grad_weight_float32_t gc_dconv2d_grad_weight<float32_t>
#define gc_dconv2d_grad_weight_float64_t gc_dconv2d_grad_weight<float64_t>
#endif
