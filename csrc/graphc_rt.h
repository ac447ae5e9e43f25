/* Runtime support shared by all generated C: errors, checked allocation, broadcasting, views, copies,
 * numpy-exact scalar helpers. Everything is static inline: a generated library carries only what it uses. */
#ifndef GRAPHC_RT_H
#define GRAPHC_RT_H
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "graphc_abi.h"

/* Vector variants of the math functions (glibc's libmvec, linked with -lmvec): with these declarations gcc calls
 * e.g. _ZGVdN8v_tanhf for 8 floats at once inside "omp simd" loops, without -ffast-math. libmvec is accurate to
 * 4 ulp and handles NaN/inf lanes through the scalar functions. */
#if defined(_OPENMP) && defined(__x86_64__) && defined(__GLIBC__) && !defined(__CUDACC__) && !defined(GC_NO_LIBMVEC)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
float log1pf(float);
#pragma omp declare simd notinbranch
float expm1f(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
float sinf(float);
#pragma omp declare simd notinbranch
float cosf(float);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double log1p(double);
#pragma omp declare simd notinbranch
double expm1(double);
#pragma omp declare simd notinbranch
double tanh(double);
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);
#endif

#define GC_TRY(expr) do { if ((expr) != GC_OK) goto fail; } while (0)
#define GC_ALIGN 64

/* A kernel's entry function: private to its translation unit, except in a build split into several units (to
 * compile them in parallel), where it is visible to the other units but not exported from the library. */
#ifndef GC_KERNEL
#define GC_KERNEL static
#endif

static int gc_error(gc_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int gc_error(gc_status *st, int code, const char *fmt, ...) {
    if (st->code == GC_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->message, sizeof st->message, fmt, ap);
        va_end(ap);
        st->code = code;
    }
    return code;
}

/* "(2, 3)" into buf, for error messages */
static const char *gc_shape_str(char *buf, size_t n, int nd, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < nd && used < n; ++d)
        used += (size_t)snprintf(buf + used, n - used, d + 1 < nd ? "%lld, " : (nd == 1 ? "%lld," : "%lld"),
                                 (long long)shape[d]);
    if (used < n) snprintf(buf + used, n - used, ")");
    return buf;
}

static int64_t gc_size(const gc_array *a) {
    int64_t n = 1;
    for (int d = 0; d < a->ndim; ++d) n *= a->shape[d];
    return n;
}

static bool gc_is_contiguous(const gc_array *a) {
    int64_t expect = 1;
    for (int d = a->ndim - 1; d >= 0; --d) {
        if (a->shape[d] != 1 && a->strides[d] != expect) return false;
        expect *= a->shape[d];
    }
    return true;
}

static void gc_set_contiguous_strides(gc_array *a) {
    int64_t s = 1;
    for (int d = a->ndim - 1; d >= 0; --d) { a->strides[d] = s; s *= a->shape[d]; }
}

/* Large buffers ask for transparent huge pages (as numpy does): first-touch page faults then cost 512x less. */
static void gc_advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    if (bytes >= ((size_t)4 << 20)) {
        uintptr_t start = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
    }
#else
    (void)p; (void)bytes;
#endif
}

/* Memory an array may live in: a variable's own buffer, or a slot of the memory plan that several
 * intermediates use in turn (it grows when a later occupant is larger; freed when the call ends). */
typedef struct gc_buffer {
    void *data;
    size_t cap;
} gc_buffer;

/* The shape half of gc_alloc (shared with the CUDA runtime's gc_dalloc): give a the shape and contiguous strides,
 * and take reuse's memory if it holds a contiguous array of exactly this shape (returns 1). Otherwise returns 0 and
 * sets *bytes, the aligned size to allocate; -1 on error. */
static int gc_alloc_shape(gc_status *st, gc_array *a, int nd, const int64_t *shape, size_t itemsize,
                          const gc_array *reuse, size_t *bytes) {
    a->ndim = nd;
    a->owned = 0;
    int64_t n = 1;
    for (int d = 0; d < nd; ++d) {
        if (shape[d] < 0) return gc_error(st, GC_ERR_VALUE, "negative dimension %lld", (long long)shape[d]), -1;
        a->shape[d] = shape[d];
        if (shape[d] && n > INT64_MAX / shape[d])
            return gc_error(st, GC_ERR_MEMORY, "array of shape too large to allocate"), -1;
        n *= shape[d];
    }
    gc_set_contiguous_strides(a);
    if (reuse && reuse->data && reuse->ndim == nd && memcmp(reuse->shape, shape, sizeof(int64_t) * nd) == 0 &&
        gc_is_contiguous(reuse)) {
        a->data = reuse->data;
        return 1;
    }
    if ((uint64_t)n > (uint64_t)(SIZE_MAX / 2) / itemsize)
        return gc_error(st, GC_ERR_MEMORY, "array too large to allocate"), -1;
    *bytes = ((size_t)n * itemsize + GC_ALIGN - 1) / GC_ALIGN * GC_ALIGN;
    if (*bytes == 0) *bytes = GC_ALIGN;
    return 0;
}

/* Give a a contiguous array of the given shape. If reuse holds a contiguous array of exactly this shape (the
 * caller's borrowed output, or an input the memory plan lets this output overwrite), its memory is used;
 * otherwise buf's memory, grown if needed. */
static int gc_alloc(gc_status *st, gc_array *a, gc_buffer *buf, int nd, const int64_t *shape, size_t itemsize,
                    const gc_array *reuse) {
    size_t bytes = 0;
    int taken = gc_alloc_shape(st, a, nd, shape, itemsize, reuse, &bytes);
    if (taken) return taken > 0 ? GC_OK : st->code;
    if (buf->data == NULL || buf->cap < bytes) {
        void *p = aligned_alloc(GC_ALIGN, bytes);
        if (!p) return gc_error(st, GC_ERR_MEMORY, "out of memory allocating %zu bytes", bytes);
        gc_advise_huge(p, bytes);
        free(buf->data);
        buf->data = p;
        buf->cap = bytes;
    }
    a->data = (char *)buf->data;
    return GC_OK;
}

/* numpy broadcasting of n arrays into out_shape (nd = output rank); label names the node in errors. */
static int gc_broadcast(gc_status *st, const char *label, int nd, int64_t *out_shape, int n,
                        const gc_array *const *arrays) {
    for (int d = 0; d < nd; ++d) out_shape[d] = 1;
    for (int i = 0; i < n; ++i) {
        const gc_array *a = arrays[i];
        for (int k = 0; k < a->ndim; ++k) {
            int d = nd - a->ndim + k;
            int64_t s = a->shape[k];
            if (s == out_shape[d] || s == 1) continue;
            if (out_shape[d] == 1) { out_shape[d] = s; continue; }
            char b1[256], b2[256];
            return gc_error(st, GC_ERR_VALUE, "%s: operands could not be broadcast together: shape %s against %s",
                            label, gc_shape_str(b1, sizeof b1, a->ndim, a->shape),
                            gc_shape_str(b2, sizeof b2, nd, out_shape));
        }
    }
    return GC_OK;
}

/* Strides of a broadcast to an nd-dim shape: 0 where the array has size 1 or lacks the dim. */
static void gc_bcast_strides(const gc_array *a, int nd, const int64_t *shape, int64_t *strides) {
    for (int d = 0; d < nd; ++d) {
        int k = d - (nd - a->ndim);
        strides[d] = (k < 0 || (a->shape[k] == 1 && shape[d] != 1)) ? 0 : a->strides[k];
    }
}

#define GC_COPY_ROW(T)                                                                                    \
    for (int64_t j = 0; j < inner; ++j) ((T *)d)[j * dstep] = ((const T *)sp)[j * sstep];

/* dst[...] = src broadcast to dst's shape, for any itemsize: rows along the last dim, a memmove when both are
 * contiguous and the same shape. */
static void gc_copy_bcast(gc_array *dst, const gc_array *src, size_t itemsize) {
    int nd = dst->ndim;
    int64_t n = gc_size(dst);
    if (n == 0) return;
    int64_t ss[GC_MAX_NDIM], idx[GC_MAX_NDIM] = {0};
    gc_bcast_strides(src, nd, dst->shape, ss);
    if (gc_is_contiguous(dst) && src->ndim == nd && gc_is_contiguous(src) &&
        memcmp(src->shape, dst->shape, sizeof(int64_t) * nd) == 0) {
        memmove(dst->data, src->data, (size_t)n * itemsize);
        return;
    }
    const int64_t inner = nd ? dst->shape[nd - 1] : 1, dstep = nd ? dst->strides[nd - 1] : 0;
    const int64_t sstep = nd ? ss[nd - 1] : 0, rows = n / inner;
    for (int64_t r = 0; r < rows; ++r) {
        int64_t so = 0, doff = 0;
        for (int d = 0; d < nd - 1; ++d) { so += idx[d] * ss[d]; doff += idx[d] * dst->strides[d]; }
        char *d = dst->data + doff * (int64_t)itemsize;
        const char *sp = src->data + so * (int64_t)itemsize;
        switch (itemsize) {
            case 1: GC_COPY_ROW(uint8_t) break;
            case 2: GC_COPY_ROW(uint16_t) break;
            case 4: GC_COPY_ROW(uint32_t) break;
            case 8: GC_COPY_ROW(uint64_t) break;
            default:
                for (int64_t j = 0; j < inner; ++j)
                    memcpy(d + j * dstep * (int64_t)itemsize, sp + j * sstep * (int64_t)itemsize, itemsize);
        }
        for (int d2 = nd - 2; d2 >= 0; --d2) { if (++idx[d2] < dst->shape[d2]) break; idx[d2] = 0; }
    }
}

/* A fresh contiguous copy of src (used when an output would alias an input or another output). */
static int gc_copy_new(gc_status *st, gc_array *dst, gc_buffer *buf, const gc_array *src, size_t itemsize,
                       const gc_array *reuse) {
    if (gc_alloc(st, dst, buf, src->ndim, src->shape, itemsize, reuse) != GC_OK) return st->code;
    gc_copy_bcast(dst, src, itemsize);
    return GC_OK;
}

typedef int (*gc_copy_new_fn)(gc_status *, gc_array *, gc_buffer *, const gc_array *, size_t, const gc_array *);

/* Publish v as an output: hand over the buffer this call allocated for it (*own), keep a result written into the
 * caller's borrowed buffer, or else copy with copy_new (v is a view, an input, a constant, or already handed over).
 * The CUDA runtime passes its device copy. */
static int gc_output_via(gc_status *st, gc_array *out, const gc_array *v, gc_buffer *own, size_t itemsize,
                         gc_copy_new_fn copy_new) {
    if (own && own->data && v->data == (char *)own->data && gc_is_contiguous(v)) {
        *out = *v;
        out->owned = 1;
        own->data = NULL;
        own->cap = 0;
        return GC_OK;
    }
    if (out->data && v->data == out->data && out->ndim == v->ndim && gc_is_contiguous(v) &&
        memcmp(out->shape, v->shape, sizeof(int64_t) * (size_t)v->ndim) == 0) {
        *out = *v;
        out->owned = 0;
        return GC_OK;
    }
    gc_array fresh;
    gc_buffer buf = {0};
    if (copy_new(st, &fresh, &buf, v, itemsize, out) != GC_OK) return st->code;
    *out = fresh;
    out->owned = buf.data != NULL;
    return GC_OK;
}

static int gc_output(gc_status *st, gc_array *out, const gc_array *v, gc_buffer *own, size_t itemsize) {
    return gc_output_via(st, out, v, own, itemsize, gc_copy_new);
}

/* Fill input descriptors from graphc_call's compact form; ndims/itemsizes are the graph's static input types. */
static void gc_unpack_inputs(int n, const int *ndims, const int *itemsizes, char *const *data, const int64_t *meta,
                             gc_array *ins) {
    for (int i = 0; i < n; ++i) {
        int nd = ndims[i];
        ins[i].data = data[i];
        ins[i].ndim = nd;
        ins[i].owned = 0;
        for (int d = 0; d < nd; ++d) {
            ins[i].shape[d] = meta[d];
            ins[i].strides[d] = meta[nd + d] / itemsizes[i];
        }
        meta += 2 * nd;
    }
}

/* Read element 0 of a scalar (0-d) array of any graphc dtype as int64 / double. */
#define GC_READ_SCALAR(a, ctype) (*(const ctype *)(a).data)

/* ---- numpy-exact scalar helpers ------------------------------------------------------------------- */
/* GC_DEVICE makes them callable from CUDA kernels too (csrc/graphc_cuda.h), so both backends share one set. */
#ifdef __CUDACC__
#define GC_DEVICE __host__ __device__
#else
#define GC_DEVICE
#endif
#define GC_INT_HELPERS(T, UT)                                                                            \
static inline GC_DEVICE T gc_floordiv_##T(T a, T b) {                                                              \
    if (b == 0) return 0;                                                                                \
    if (b == -1) return (T)(0 - (UT)a);                                                                  \
    T q = a / b;                                                                                         \
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;                                                    \
    return q;                                                                                            \
}                                                                                                        \
static inline GC_DEVICE T gc_mod_##T(T a, T b) {                                                                   \
    if (b == 0 || b == -1) return 0;                                                                     \
    T r = a % b;                                                                                         \
    if (r != 0 && ((r < 0) != (b < 0))) r += b;                                                          \
    return r;                                                                                            \
}                                                                                                        \
static inline GC_DEVICE T gc_pow_##T(T a, T b, int *bad) {                                                         \
    if (b < 0) { *bad = 1; return 0; }                                                                   \
    UT r = 1, base = (UT)a;                                                                              \
    while (b) { if (b & 1) r *= base; base *= base; b >>= 1; }                                           \
    return (T)r;                                                                                         \
}
#define GC_UINT_HELPERS(T)                                                                               \
static inline GC_DEVICE T gc_floordiv_##T(T a, T b) { return b ? (T)(a / b) : 0; }                                 \
static inline GC_DEVICE T gc_mod_##T(T a, T b) { return b ? (T)(a % b) : 0; }                                      \
static inline GC_DEVICE T gc_pow_##T(T a, T b, int *bad) {                                                         \
    (void)bad; T r = 1, base = a;                                                                        \
    while (b) { if (b & 1) r = (T)(r * base); base = (T)(base * base); b >>= 1; }                        \
    return r;                                                                                            \
}
GC_INT_HELPERS(int8_t, uint8_t)
GC_INT_HELPERS(int16_t, uint16_t)
GC_INT_HELPERS(int32_t, uint32_t)
GC_INT_HELPERS(int64_t, uint64_t)
GC_UINT_HELPERS(uint8_t)
GC_UINT_HELPERS(uint64_t)

/* numpy's npy_divmod for floats: floor division and remainder with Python's sign rules. */
#define GC_FLOAT_HELPERS(T, SFX)                                                                         \
static inline GC_DEVICE T gc_floordiv_##T(T a, T b) {                                                              \
    if (b == 0) return a / b;                                                                            \
    T mod = fmod##SFX(a, b);                                                                             \
    T div = (a - mod) / b;                                                                               \
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;                                                    \
    if (div == 0) return copysign##SFX((T)0, a / b);                                                     \
    T fl = floor##SFX(div);                                                                              \
    if (div - fl > (T)0.5) fl += 1;                                                                      \
    return fl;                                                                                           \
}                                                                                                        \
static inline GC_DEVICE T gc_mod_##T(T a, T b) {                                                                   \
    if (b == 0) return fmod##SFX(a, b);                                                                  \
    T mod = fmod##SFX(a, b);                                                                             \
    if (mod != 0) { if ((b < 0) != (mod < 0)) mod += b; }                                                \
    else mod = copysign##SFX((T)0, b);                                                                   \
    return mod;                                                                                          \
}                                                                                                        \
static inline GC_DEVICE T gc_sigmoid_##T(T x) {                                                                    \
    T e = exp##SFX(-fabs##SFX(x));                                                                       \
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);                                                           \
}                                                                                                        \
static inline GC_DEVICE T gc_softplus_##T(T x) {                                                                   \
    return log1p##SFX(exp##SFX(-fabs##SFX(x))) + (x > 0 ? x : 0);                                        \
}                                                                                                        \
static inline GC_DEVICE T gc_sign_##T(T x) { return isnan(x) ? x : (T)((x > 0) - (x < 0)); }                       \
static inline GC_DEVICE T gc_max_##T(T a, T b) { return (isnan(a) || a > b) ? a : b; }  /* a tie: b, as numpy */  \
static inline GC_DEVICE T gc_min_##T(T a, T b) { return (isnan(a) || a < b) ? a : b; }                             \
/* numpy's clip: x itself on a tie with a bound (clip(-0.0, 0, 1) is -0.0), NaN from x, then from the bounds */       \
static inline GC_DEVICE T gc_clip_##T(T x, T lo, T hi) {                                                            \
    T m = isnan(x) ? x : isnan(lo) ? lo : (x < lo ? lo : x);                                                     \
    return isnan(m) ? m : isnan(hi) ? hi : (m > hi ? hi : m);                                                    \
}
typedef float float32_t;
typedef double float64_t;
GC_FLOAT_HELPERS(float32_t, f)
GC_FLOAT_HELPERS(float64_t, )

/* Float to integer conversion, defined for every input (C leaves NaN and out-of-range values undefined): it
 * truncates toward zero and gives x86-64's "integer indefinite" INT_MIN for NaN and values out of range, as numpy
 * does on x86-64. Narrower integers go through int32 and wrap, as numpy's casts compiled for x86-64 do. */
static inline GC_DEVICE int64_t gc_f2i64(double x) {
    return (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? (int64_t)x : INT64_MIN;
}
static inline GC_DEVICE int32_t gc_f2i32(double x) {
    return (x > -2147483649.0 && x < 2147483648.0) ? (int32_t)x : INT32_MIN;
}

#endif
