/* The geometry of a 2-d convolution (graphc/ops/conv.py), shared by the CPU (graphc_conv.h) and CUDA
 * (graphc_cuda_conv.h) runtimes: output sizes, shape checks, and the matrix views their gemm calls take. */
#ifndef GRAPHC_CONV_SHAPE_H
#define GRAPHC_CONV_SHAPE_H
#include "graphc_rt.h"

typedef struct {
    int64_t n, c, h, w;      /* images, channels, input height and width */
    int64_t k, r, s;         /* filters, filter height and width */
    int64_t oh, ow;          /* output height and width */
    int64_t sh, sw, ph, pw, dh, dw;
} gc_conv;

/* The geometry of x (N, C, H, W) convolved with w (K, C, R, S); p = stride, padding, dilation as (h, w) pairs. */
static int gc_conv_geometry(gc_status *st, const char *label, const int64_t *xs, const int64_t *ws, const int64_t *p,
                            gc_conv *g) {
    g->n = xs[0]; g->c = xs[1]; g->h = xs[2]; g->w = xs[3];
    g->k = ws[0]; g->r = ws[2]; g->s = ws[3];
    g->sh = p[0]; g->sw = p[1]; g->ph = p[2]; g->pw = p[3]; g->dh = p[4]; g->dw = p[5];
    if (ws[1] != xs[1])
        return gc_error(st, GC_ERR_VALUE, "%s: the input has %lld channels, the filters %lld", label,
                        (long long)xs[1], (long long)ws[1]);
    int64_t span_h = g->h + 2 * g->ph - g->dh * (g->r - 1) - 1, span_w = g->w + 2 * g->pw - g->dw * (g->s - 1) - 1;
    if (span_h < 0 || span_w < 0 || g->r < 1 || g->s < 1)
        return gc_error(st, GC_ERR_VALUE, "%s: a (%lld, %lld) filter does not fit in a (%lld, %lld) input with this "
                        "padding and dilation", label, (long long)g->r, (long long)g->s, (long long)g->h,
                        (long long)g->w);
    g->oh = span_h / g->sh + 1;
    g->ow = span_w / g->sw + 1;
    return GC_OK;
}

/* A gradient of the output must have the output's shape. */
static int gc_conv_check_grad(gc_status *st, const char *label, const gc_conv *g, const gc_array *grad) {
    const int64_t want[4] = { g->n, g->k, g->oh, g->ow };
    if (memcmp(grad->shape, want, sizeof want) == 0) return GC_OK;
    char b1[256], b2[256];
    return gc_error(st, GC_ERR_VALUE, "%s: the output gradient has shape %s, the convolution's output %s", label,
                    gc_shape_str(b1, sizeof b1, 4, grad->shape), gc_shape_str(b2, sizeof b2, 4, want));
}

/* A rows x cols view of contiguous data, or (transposed) the transpose of contiguous cols x rows data. */
static gc_array gc_matrix(char *data, int64_t rows, int64_t cols, int transposed) {
    gc_array m = {0};
    m.data = data;
    m.ndim = 2;
    m.shape[0] = rows; m.shape[1] = cols;
    m.strides[0] = transposed ? 1 : cols; m.strides[1] = transposed ? rows : 1;
    return m;
}
#endif
