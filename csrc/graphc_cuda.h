/* Runtime support for generated CUDA (one .cu translation unit per function, built by nvcc).
 *
 * Shapes, broadcasting and error messages stay on the host and come from graphc_rt.h, as in the C backend; this
 * header adds device memory and the device twins of the C runtime's memory functions: gc_d<name> takes the same
 * arguments as gc_<name>, so the C lowerings of views, copies and indexing serve both backends. Every CUDA call is
 * checked; a kernel's launch error is caught by the check after each step, which names the node.
 *
 * All work goes to the legacy default stream, so the Python side's synchronous copies are ordered after it;
 * memory comes from the device's stream-ordered pool (cudaMallocAsync), cheap to take and give back per call. */
#ifndef GRAPHC_CUDA_H
#define GRAPHC_CUDA_H
#include <cuda_runtime.h>
extern "C" {
#include "graphc_abi.h"  /* the entry points keep C linkage */
}
#include "graphc_rt.h"
#define restrict __restrict__  /* host helpers rendered from the C backend's templates are C99 */

#define GC_THREADS 256

static int gc_cuda_error(gc_status *st, const char *label, const char *what, cudaError_t e) {
    return gc_error(st, e == cudaErrorMemoryAllocation ? GC_ERR_MEMORY : GC_ERR_RUNTIME, "%s: %s failed: %s (%s)",
                    label, what, cudaGetErrorName(e), cudaGetErrorString(e));
}
#define GC_CUDA(st, label, call)                                                                          \
    do {                                                                                                  \
        cudaError_t gc_e_ = (call);                                                                       \
        if (gc_e_ != cudaSuccess) return gc_cuda_error(st, label, #call, gc_e_);                          \
    } while (0)

/* After each step: did any kernel it launched fail to start? */
static int gc_dcheck(gc_status *st, const char *label) {
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? GC_OK : gc_cuda_error(st, label, "a kernel launch", e);
}

static unsigned gc_blocks(int64_t n) {
    int64_t b = (n + GC_THREADS - 1) / GC_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65536 ? 65536 : b);
}

static void gc_dfree(void *p) {
    if (p) cudaFreeAsync(p, 0);
}

/* gc_alloc on the device: the same shape and reuse rules, device memory in buf. */
static int gc_dalloc(gc_status *st, gc_array *a, gc_buffer *buf, int nd, const int64_t *shape, size_t itemsize,
                     const gc_array *reuse) {
    size_t bytes = 0;
    int taken = gc_alloc_shape(st, a, nd, shape, itemsize, reuse, &bytes);
    if (taken) return taken > 0 ? GC_OK : st->code;
    if (buf->data == NULL || buf->cap < bytes) {
        void *p = NULL;
        cudaError_t e = cudaMallocAsync(&p, bytes, 0);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return gc_error(st, GC_ERR_MEMORY, "out of device memory allocating %zu bytes (%s)", bytes,
                            cudaGetErrorString(e));
        }
        gc_dfree(buf->data);
        buf->data = p;
        buf->cap = bytes;
    }
    a->data = (char *)buf->data;
    return GC_OK;
}

/* ---- broadcast copies ------------------------------------------------------------------------------------ */
typedef struct {
    int nd;
    int64_t n, shape[GC_MAX_NDIM], dst[GC_MAX_NDIM], src[GC_MAX_NDIM];
} gc_bcast_map;

/* Element offsets (in dst and src) of flat index i of dst's shape. */
static __device__ void gc_bcast_offsets(const gc_bcast_map &m, int64_t i, int64_t *od, int64_t *os) {
    int64_t d_off = 0, s_off = 0;
    for (int d = m.nd - 1; d >= 0; --d) {
        int64_t j = i % m.shape[d];
        i /= m.shape[d];
        d_off += j * m.dst[d];
        s_off += j * m.src[d];
    }
    *od = d_off;
    *os = s_off;
}

template <typename T, bool ADD>
__global__ void gc_bcast_kernel(T *dst, const T *src, const gc_bcast_map m) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m.n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t od, os;
        gc_bcast_offsets(m, i, &od, &os);
        dst[od] = ADD ? (T)(dst[od] + src[os]) : src[os];
    }
}

static gc_bcast_map gc_bcast_map_of(const gc_array *dst, const gc_array *src) {
    gc_bcast_map m;
    m.nd = dst->ndim;
    m.n = gc_size(dst);
    for (int d = 0; d < dst->ndim; ++d) { m.shape[d] = dst->shape[d]; m.dst[d] = dst->strides[d]; }
    gc_bcast_strides(src, dst->ndim, dst->shape, m.src);
    return m;
}

template <typename T, bool ADD>
static void gc_dbcast(gc_array *dst, const gc_array *src) {
    gc_bcast_map m = gc_bcast_map_of(dst, src);
    if (m.n == 0) return;
    gc_bcast_kernel<T, ADD><<<gc_blocks(m.n), GC_THREADS>>>((T *)dst->data, (const T *)src->data, m);
}

/* gc_copy_bcast on the device: dst[...] = src broadcast to dst's shape (one copy call when both are contiguous). */
static void gc_dcopy_bcast(gc_array *dst, const gc_array *src, size_t itemsize) {
    int64_t n = gc_size(dst);
    if (n == 0) return;
    if (gc_is_contiguous(dst) && src->ndim == dst->ndim && gc_is_contiguous(src) &&
        memcmp(src->shape, dst->shape, sizeof(int64_t) * (size_t)dst->ndim) == 0) {
        cudaMemcpyAsync(dst->data, src->data, (size_t)n * itemsize, cudaMemcpyDeviceToDevice, 0);
        return;
    }
    switch (itemsize) {
        case 1: gc_dbcast<uint8_t, false>(dst, src); break;
        case 2: gc_dbcast<uint16_t, false>(dst, src); break;
        case 4: gc_dbcast<uint32_t, false>(dst, src); break;
        default: gc_dbcast<uint64_t, false>(dst, src); break;
    }
}

/* dst[...] = the one element of the host array src: the value travels as a kernel argument, so a fill with a
 * value computed on the host (a size, a constant) needs no copy and no wait. */
template <typename T>
__global__ void gc_fill_kernel(T *dst, T value, const gc_bcast_map m) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < m.n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t od, os;
        gc_bcast_offsets(m, i, &od, &os);
        dst[od] = value;
    }
}

template <typename T>
static void gc_dfill_as(gc_array *dst, const gc_array *src) {
    gc_bcast_map m = gc_bcast_map_of(dst, src);
    if (m.n > 0) gc_fill_kernel<T><<<gc_blocks(m.n), GC_THREADS>>>((T *)dst->data, *(const T *)src->data, m);
}

static void gc_dfill(gc_array *dst, const gc_array *src, size_t itemsize) {
    switch (itemsize) {
        case 1: gc_dfill_as<uint8_t>(dst, src); break;
        case 2: gc_dfill_as<uint16_t>(dst, src); break;
        case 4: gc_dfill_as<uint32_t>(dst, src); break;
        default: gc_dfill_as<uint64_t>(dst, src); break;
    }
}

static int gc_dcopy_new(gc_status *st, gc_array *dst, gc_buffer *buf, const gc_array *src, size_t itemsize,
                        const gc_array *reuse) {
    if (gc_dalloc(st, dst, buf, src->ndim, src->shape, itemsize, reuse) != GC_OK) return st->code;
    gc_dcopy_bcast(dst, src, itemsize);
    return GC_OK;
}

static int gc_doutput(gc_status *st, gc_array *out, const gc_array *v, gc_buffer *own, size_t itemsize) {
    return gc_output_via(st, out, v, own, itemsize, gc_dcopy_new);
}

/* gc_add_bcast_T on the device: dst += src broadcast (dst is a basic-index region: no element twice). */
template <typename T>
static void gc_dadd_bcast(gc_array *dst, const gc_array *src) { gc_dbcast<T, true>(dst, src); }
#define gc_dadd_bcast_bool gc_dadd_bcast<bool>
#define gc_dadd_bcast_int8_t gc_dadd_bcast<int8_t>
#define gc_dadd_bcast_uint8_t gc_dadd_bcast<uint8_t>
#define gc_dadd_bcast_int16_t gc_dadd_bcast<int16_t>
#define gc_dadd_bcast_int32_t gc_dadd_bcast<int32_t>
#define gc_dadd_bcast_int64_t gc_dadd_bcast<int64_t>
#define gc_dadd_bcast_uint64_t gc_dadd_bcast<uint64_t>
#define gc_dadd_bcast_float32_t gc_dadd_bcast<float32_t>
#define gc_dadd_bcast_float64_t gc_dadd_bcast<float64_t>

/* ---- errors found inside kernels ------------------------------------------------------------------------- */
/* A kernel that finds a bad value (an index out of bounds, a negative integer power) records the first one in a
 * flag in device memory, with the node's label and the host function that turns it into numpy's error. The host
 * reads the flag once, at the end of the call (or before it next waits for the device anyway), so such kernels
 * cost no extra wait. One flag per host thread: concurrent calls do not mix theirs up. */
typedef struct gc_dflag gc_dflag;
typedef int (*gc_dreport)(gc_status *st, const char *label, const gc_dflag *f);
struct gc_dflag {
    int bad, dim;
    long long value, size;
    unsigned long long label, report;   /* host pointers, carried as integers */
};

/* What a kernel needs to raise: the flag, and who it speaks for. */
typedef struct {
    gc_dflag *flag;
    unsigned long long label, report;
} gc_dsite;

static __device__ void gc_dflag_raise(const gc_dsite &site, int dim, long long value, long long size) {
    gc_dflag *f = site.flag;
    if (atomicCAS(&f->bad, 0, 1) == 0) {
        f->dim = dim;
        f->value = value;
        f->size = size;
        f->label = site.label;
        f->report = site.report;
    }
}

static thread_local struct { gc_dflag *flag; int armed; } gc_dflags;

/* At the start of a call: nothing raised yet. */
static void gc_dflags_begin(void) { gc_dflags.armed = 0; }

/* The site for a kernel of node `label` whose errors `report` describes; clears the flag at its first use in a call. */
static int gc_dsite_for(gc_status *st, const char *label, gc_dreport report, gc_dsite *site) {
    if (!gc_dflags.flag) GC_CUDA(st, label, cudaMalloc((void **)&gc_dflags.flag, sizeof(gc_dflag)));
    if (!gc_dflags.armed) {
        GC_CUDA(st, label, cudaMemsetAsync(gc_dflags.flag, 0, sizeof(gc_dflag), 0));
        gc_dflags.armed = 1;
    }
    site->flag = gc_dflags.flag;
    site->label = (unsigned long long)(uintptr_t)label;
    site->report = (unsigned long long)(uintptr_t)report;
    return GC_OK;
}

/* Waits for the kernels launched so far and reports the first bad value one of them found. */
static int gc_dflags_check(gc_status *st) {
    if (!gc_dflags.armed) return GC_OK;
    gc_dflags.armed = 0;
    gc_dflag f;
    GC_CUDA(st, "reading the kernels' error flag", cudaMemcpy(&f, gc_dflags.flag, sizeof f, cudaMemcpyDeviceToHost));
    if (!f.bad) return GC_OK;
    return ((gc_dreport)(uintptr_t)f.report)(st, (const char *)(uintptr_t)f.label, &f);
}

/* ---- values that cross between host and device ----------------------------------------------------------- */
/* A contiguous device copy of the host array src (a size or an index computed on the host, fed to a kernel). */
static int gc_to_device(gc_status *st, const char *label, gc_array *dst, gc_buffer *buf, const gc_array *src,
                        size_t itemsize) {
    gc_array flat = *src;
    gc_buffer tmp = {0};
    if (!gc_is_contiguous(src) && gc_copy_new(st, &flat, &tmp, src, itemsize, NULL) != GC_OK) return st->code;
    int rc = gc_dalloc(st, dst, buf, src->ndim, src->shape, itemsize, NULL);
    cudaError_t e = rc == GC_OK ? cudaMemcpy(dst->data, flat.data, (size_t)gc_size(src) * itemsize,
                                             cudaMemcpyHostToDevice) : cudaSuccess;
    free(tmp.data);
    if (rc != GC_OK) return rc;
    return e == cudaSuccess ? GC_OK : gc_cuda_error(st, label, "copying a host value to the device", e);
}

/* A contiguous host copy of the device array src (a size or an index the host needs to shape the next step). */
static int gc_to_host(gc_status *st, const char *label, gc_array *dst, gc_buffer *buf, const gc_array *src,
                      size_t itemsize) {
    if (gc_dflags_check(st) != GC_OK) return st->code;  /* src may hold what a failed kernel left */
    gc_array flat = *src;
    gc_buffer tmp = {0};
    if (!gc_is_contiguous(src) && gc_dcopy_new(st, &flat, &tmp, src, itemsize, NULL) != GC_OK) return st->code;
    int rc = gc_alloc(st, dst, buf, src->ndim, src->shape, itemsize, NULL);
    cudaError_t e = rc == GC_OK ? cudaMemcpy(dst->data, flat.data, (size_t)gc_size(src) * itemsize,
                                             cudaMemcpyDeviceToHost) : cudaSuccess;
    gc_dfree(tmp.data);
    if (rc != GC_OK) return rc;
    return e == cudaSuccess ? GC_OK : gc_cuda_error(st, label, "copying a device value to the host", e);
}

/* A constant array compiled into the library (a __device__ symbol): its device address. */
static int gc_dsymbol(gc_status *st, gc_array *a, const void *symbol) {
    void *p = NULL;
    GC_CUDA(st, "constant", cudaGetSymbolAddress(&p, symbol));
    a->data = (char *)p;
    return GC_OK;
}

/* ---- reductions ------------------------------------------------------------------------------------------ */
/* Whether (b, ib) beats (a, ia) for argmax (MAX) or argmin: numpy's first NaN, else the extreme value, ties going to
 * the lower index; index -1 marks a thread that saw no element. Threads see indices out of order, hence ib < ia. */
template <typename T, bool MAX>
static __device__ bool gc_arg_better(T b, int64_t ib, T a, int64_t ia) {
    if (ib < 0) return false;
    if (ia < 0) return true;
    const bool bn = b != b, an = a != a;
    if (an || bn) return bn && (!an || ib < ia);
    return (MAX ? b > a : b < a) || (b == a && ib < ia);
}

/* ---- what the Python side calls besides graphc_call (declared in graphc/backends/cuda.py) ---------------- */
/* How many CUDA devices there are; -1 with the runtime's reason in st when there is no usable driver or device. */
extern "C" int graphc_cuda_devices(gc_status *st) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        snprintf(st->message, sizeof st->message, "%s (%s)", cudaGetErrorName(e), cudaGetErrorString(e));
        return -1;
    }
    return n;
}

extern "C" int graphc_cuda_alloc(gc_status *st, void **ptr, size_t bytes) {
    GC_CUDA(st, "device array", cudaMallocAsync(ptr, bytes ? bytes : 1, 0));
    return GC_OK;
}

extern "C" void graphc_cuda_free(void *ptr) {
    gc_dfree(ptr);
}

/* Waits for all work on the device: for timings. */
extern "C" int graphc_cuda_sync(gc_status *st) {
    GC_CUDA(st, "device", cudaDeviceSynchronize());
    return GC_OK;
}

/* Fills `bytes` of the device's memory pool with 0xFF (NaN for floats) and keeps them in the pool, so that the
 * buffers graphc takes next start as garbage: a kernel that leaves an element unwritten shows. For checks. */
extern "C" int graphc_cuda_poison(gc_status *st, size_t bytes) {
    int device = 0;
    cudaMemPool_t pool;
    uint64_t keep = UINT64_MAX;
    void *p = NULL;
    GC_CUDA(st, "poison", cudaGetDevice(&device));
    GC_CUDA(st, "poison", cudaDeviceGetDefaultMemPool(&pool, device));
    GC_CUDA(st, "poison", cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
    GC_CUDA(st, "poison", cudaMallocAsync(&p, bytes, 0));
    GC_CUDA(st, "poison", cudaMemsetAsync(p, 0xFF, bytes, 0));
    GC_CUDA(st, "poison", cudaFreeAsync(p, 0));
    GC_CUDA(st, "poison", cudaStreamSynchronize(0));
    return GC_OK;
}

/* kind: 1 host to device, 2 device to host, 3 device to device (cudaMemcpyKind). Synchronous. */
extern "C" int graphc_cuda_copy(gc_status *st, void *dst, const void *src, size_t bytes, int kind) {
    GC_CUDA(st, "device array", cudaMemcpy(dst, src, bytes, (cudaMemcpyKind)kind));
    return GC_OK;
}
#endif
