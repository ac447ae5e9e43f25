/* graphc's C ABI: what a generated library exports and what the Python side passes in.
 *
 * One entry point per library:
 *     int graphc_run(gc_status *status, const gc_array *inputs, gc_array *outputs);
 * - inputs: one descriptor per function input (explicit inputs, then shared variables), read only.
 *   data points at the first element; shape and strides (in ELEMENTS, not bytes) are read at run time.
 * - outputs: on entry, outputs[k].data is either NULL or a caller buffer of outputs[k].shape that the library
 *   may write into (borrowed outputs reused between calls). On return, outputs[k] describes the result,
 *   contiguous in C order; outputs[k].owned == 1 means the library allocated data with malloc-compatible
 *   allocation and the caller must free() it, 0 means the result was written into the caller's buffer.
 * - Return value: GC_OK (0) or an error code; status->message then says what went wrong (which node, which
 *   shapes). Errors raised inside OpenMP regions are collected and reported after the region.
 * - On error, every buffer the library allocated is freed, no output is owned, and nothing the caller
 *   passed was written except borrowed output buffers.
 * The library keeps no global state: two threads may call graphc_run at once. */
#ifndef GRAPHC_ABI_H
#define GRAPHC_ABI_H
#include <stdint.h>

#define GC_MAX_NDIM 16

typedef struct gc_array {
    char *data;
    int64_t shape[GC_MAX_NDIM];
    int64_t strides[GC_MAX_NDIM];
    int32_t ndim;
    int32_t owned;
} gc_array;

typedef struct gc_status {
    int32_t code;
    char message[1024];
} gc_status;

enum { GC_OK = 0, GC_ERR_VALUE = 1, GC_ERR_INDEX = 2, GC_ERR_MEMORY = 3, GC_ERR_TYPE = 4, GC_ERR_RUNTIME = 5 };

int graphc_run(gc_status *status, const gc_array *inputs, gc_array *outputs);

/* A compact form of the inputs, unpacked by code shared by every library: what the CUDA backend's Python side
 * calls (the C backend's call extension, csrc/graphc_callmodule.c, fills gc_array descriptors for graphc_run).
 * data[i] points at input i's first element; meta holds, for each input in turn, its shape then its strides in
 * BYTES (numpy's own form). Strides must be multiples of the itemsize (aligned arrays). If reuse_outputs is 0,
 * the output descriptors are cleared first, so the caller need not reset them between calls. */
int graphc_call(gc_status *status, char *const *data, const int64_t *meta, gc_array *outputs, int reuse_outputs);
#endif
