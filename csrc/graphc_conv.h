/* 2-d convolution on the CPU (graphc/ops/conv.py): im2col, or col2im for the input gradient, and one BLAS gemm
 * per image. cols holds, for one image, the input value each (filter tap, output position) pair meets: C*R*S rows
 * of OH*OW columns, zero where the tap falls in the padding. */
#ifndef GRAPHC_CONV_H
#define GRAPHC_CONV_H
#include "graphc_blas.h"
#include "graphc_conv_shape.h"

/* a itself if it is contiguous, else a contiguous copy in *buf. */
static int gc_contiguous(gc_status *st, const gc_array *a, gc_array *out, gc_buffer *buf, size_t itemsize) {
    if (gc_is_contiguous(a)) { *out = *a; return GC_OK; }
    return gc_copy_new(st, out, buf, a, itemsize, NULL);
}

#define GC_CONV(T)                                                                                        \
static void gc_im2col_##T(const gc_array *x, int64_t n, const gc_conv *g, T *cols) {                      \
    const T *px = (const T *)x->data + n * x->strides[0];                                                 \
    const int64_t plane = g->oh * g->ow;                                                                  \
    for (int64_t c = 0; c < g->c; ++c)                                                                    \
        for (int64_t r = 0; r < g->r; ++r)                                                                \
            for (int64_t s = 0; s < g->s; ++s) {                                                          \
                T *dst = cols + ((c * g->r + r) * g->s + s) * plane;                                      \
                for (int64_t i = 0; i < g->oh; ++i) {                                                     \
                    const int64_t y = i * g->sh - g->ph + r * g->dh;                                      \
                    for (int64_t j = 0; j < g->ow; ++j) {                                                 \
                        const int64_t xx = j * g->sw - g->pw + s * g->dw;                                 \
                        dst[i * g->ow + j] = (y < 0 || y >= g->h || xx < 0 || xx >= g->w) ? (T)0 :        \
                            px[c * x->strides[1] + y * x->strides[2] + xx * x->strides[3]];               \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
}                                                                                                         \
/* dx (one image, contiguous C x H x W) += cols put back where im2col took them */                        \
static void gc_col2im_##T(const T *cols, const gc_conv *g, T *dx) {                                       \
    const int64_t plane = g->oh * g->ow;                                                                  \
    for (int64_t c = 0; c < g->c; ++c)                                                                    \
        for (int64_t r = 0; r < g->r; ++r)                                                                \
            for (int64_t s = 0; s < g->s; ++s) {                                                          \
                const T *src = cols + ((c * g->r + r) * g->s + s) * plane;                                \
                for (int64_t i = 0; i < g->oh; ++i) {                                                     \
                    const int64_t y = i * g->sh - g->ph + r * g->dh;                                      \
                    if (y < 0 || y >= g->h) continue;                                                     \
                    for (int64_t j = 0; j < g->ow; ++j) {                                                 \
                        const int64_t xx = j * g->sw - g->pw + s * g->dw;                                 \
                        if (xx >= 0 && xx < g->w) dx[(c * g->h + y) * g->w + xx] += src[i * g->ow + j];   \
                    }                                                                                     \
                }                                                                                         \
            }                                                                                             \
}                                                                                                         \
/* out (N, K, OH, OW, contiguous) = conv2d(x, w): per image, W (K x CRS) @ cols (CRS x OHOW) */             \
static int gc_conv2d_##T(gc_status *st, const char *label, const gc_conv *g, const gc_array *x,           \
                         const gc_array *w, gc_array *out) {                                              \
    (void)label;                                                                                          \
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow, cshape[2] = { crs, plane };            \
    gc_array wc = {0}, cols = {0};                                                                        \
    gc_buffer wb = {0}, cb = {0};                                                                         \
    int rc = gc_contiguous(st, w, &wc, &wb, sizeof(T));                                                   \
    if (rc == GC_OK) rc = gc_alloc(st, &cols, &cb, 2, cshape, sizeof(T), NULL);                           \
    gc_array W = gc_matrix(wc.data, g->k, crs, 0), B = gc_matrix(cols.data, crs, plane, 0);               \
    for (int64_t n = 0; rc == GC_OK && n < g->n; ++n) {                                                   \
        gc_im2col_##T(x, n, g, (T *)cols.data);                                                           \
        rc = gc_gemm2d_##T(st, 1, &W, &B, 0, (T *)out->data + n * g->k * plane);                          \
    }                                                                                                     \
    free(wb.data); free(cb.data);                                                                         \
    return rc;                                                                                            \
}                                                                                                         \
/* dx (N, C, H, W, contiguous) from grad: per image, cols = W^T (CRS x K) @ grad (K x OHOW), then col2im */ \
static int gc_conv2d_grad_input_##T(gc_status *st, const char *label, const gc_conv *g,                   \
                                    const gc_array *grad, const gc_array *w, gc_array *dx) {              \
    if (gc_conv_check_grad(st, label, g, grad) != GC_OK) return st->code;                                 \
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow, cshape[2] = { crs, plane };            \
    gc_array wc = {0}, gg = {0}, cols = {0};                                                              \
    gc_buffer wb = {0}, gb = {0}, cb = {0};                                                               \
    int rc = gc_contiguous(st, w, &wc, &wb, sizeof(T));                                                   \
    if (rc == GC_OK) rc = gc_contiguous(st, grad, &gg, &gb, sizeof(T));                                   \
    if (rc == GC_OK) rc = gc_alloc(st, &cols, &cb, 2, cshape, sizeof(T), NULL);                           \
    memset(dx->data, 0, (size_t)gc_size(dx) * sizeof(T));                                                 \
    gc_array Wt = gc_matrix(wc.data, crs, g->k, 1);                                                       \
    for (int64_t n = 0; rc == GC_OK && n < g->n; ++n) {                                                   \
        gc_array G = gc_matrix((char *)((T *)gg.data + n * g->k * plane), g->k, plane, 0);                \
        rc = gc_gemm2d_##T(st, 1, &Wt, &G, 0, (T *)cols.data);                                            \
        if (rc == GC_OK) gc_col2im_##T((const T *)cols.data, g, (T *)dx->data + n * g->c * g->h * g->w);  \
    }                                                                                                     \
    free(wb.data); free(gb.data); free(cb.data);                                                          \
    return rc;                                                                                            \
}                                                                                                         \
/* dw (K, C, R, S, contiguous) = sum over images of grad (K x OHOW) @ cols^T (OHOW x CRS) */                \
static int gc_conv2d_grad_weight_##T(gc_status *st, const char *label, const gc_conv *g,                  \
                                     const gc_array *x, const gc_array *grad, gc_array *dw) {             \
    if (gc_conv_check_grad(st, label, g, grad) != GC_OK) return st->code;                                 \
    const int64_t crs = g->c * g->r * g->s, plane = g->oh * g->ow, cshape[2] = { crs, plane };            \
    gc_array gg = {0}, cols = {0};                                                                        \
    gc_buffer gb = {0}, cb = {0};                                                                         \
    int rc = gc_contiguous(st, grad, &gg, &gb, sizeof(T));                                                \
    if (rc == GC_OK) rc = gc_alloc(st, &cols, &cb, 2, cshape, sizeof(T), NULL);                           \
    if (g->n == 0) memset(dw->data, 0, (size_t)gc_size(dw) * sizeof(T));                                  \
    gc_array Ct = gc_matrix(cols.data, plane, crs, 1);                                                    \
    for (int64_t n = 0; rc == GC_OK && n < g->n; ++n) {                                                   \
        gc_im2col_##T(x, n, g, (T *)cols.data);                                                           \
        gc_array G = gc_matrix((char *)((T *)gg.data + n * g->k * plane), g->k, plane, 0);                \
        rc = gc_gemm2d_##T(st, 1, &G, &Ct, n ? 1 : 0, (T *)dw->data);                                     \
    }                                                                                                     \
    free(gb.data); free(cb.data);                                                                         \
    return rc;                                                                                            \
}
GC_CONV(float32_t)
GC_CONV(float64_t)
#endif
