/* graphc's call path: one small CPython extension shared by every compiled C function.
 *
 * A compiled graph is a shared library exporting graphc_run (csrc/graphc_abi.h). This module opens such libraries
 * and calls them with numpy arrays: each argument is checked (exact ndarray, dtype, ndim, static sizes, alignment)
 * and described to graphc_run without a Python-level loop, the GIL is released for the run, and the buffers the
 * library allocated become the outputs' memory (freed with the last array that views them). An argument that is not
 * already the right kind of array goes through the input type's Python filter, which converts it or raises an error
 * naming the input. Built on first use by graphc.toolchain.runtime into the compile cache. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "graphc_abi.h"

typedef int (*gc_run_fn)(gc_status *, const gc_array *, gc_array *);

/* ---- Library: one dlopen'ed graph library ---------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    void *handle;
    gc_run_fn run;
} Library;

static void library_dealloc(Library *self) {
    /* never dlclose: arrays returned earlier may still be freed later, and libgomp does not survive unloading */
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int library_init(Library *self, PyObject *args, PyObject *kwargs) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return -1;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        PyErr_Format(PyExc_OSError, "cannot load compiled graph %s: %s", path, dlerror());
        return -1;
    }
    gc_run_fn run = (gc_run_fn)dlsym(handle, "graphc_run");
    if (!run) {
        PyErr_Format(PyExc_OSError, "%s exports no graphc_run: not a graphc library", path);
        return -1;
    }
    self->handle = handle;
    self->run = run;
    return 0;
}

/* OpenMP's thread pool does not survive fork(); these let the fork hooks pause it (graphc.toolchain.loader). */
static PyObject *library_pause_openmp(Library *self, PyObject *unused) {
    int (*pause)(int) = (int (*)(int))dlsym(self->handle, "omp_pause_resource_all");
    if (!pause) Py_RETURN_FALSE;
    return PyBool_FromLong(pause(2 /* omp_pause_hard */) == 0);
}

static PyObject *library_single_thread(Library *self, PyObject *unused) {
    void (*set_threads)(int) = (void (*)(int))dlsym(self->handle, "omp_set_num_threads");
    if (set_threads) set_threads(1);
    Py_RETURN_NONE;
}

static PyMethodDef library_methods[] = {
    {"pause_openmp", (PyCFunction)library_pause_openmp, METH_NOARGS,
     "Shut down the library's OpenMP thread pool (before fork); True if it was."},
    {"single_thread", (PyCFunction)library_single_thread, METH_NOARGS,
     "Run the library's parallel loops on one thread (in a child whose pool could not be paused)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LibraryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "graphc._graphc_call.Library",
    .tp_doc = "Library(path): a compiled graphc library, opened once",
    .tp_basicsize = sizeof(Library),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)library_init,
    .tp_dealloc = (destructor)library_dealloc,
    .tp_methods = library_methods,
};

/* ---- Caller: the checked call of one library's graphc_run ------------------------------------------------ */

typedef struct {
    PyArray_Descr *dtype;
    int ndim;
    npy_intp static_shape[GC_MAX_NDIM];   /* -1 where the size is only known at run time */
    PyObject *filter;                     /* callable(value, name) -> ndarray, or None (shared variables) */
    PyObject *name;
} InputSpec;

typedef struct {
    PyObject_HEAD
    PyObject *library;
    gc_run_fn run;
    Py_ssize_t n_in, n_out;
    InputSpec *inputs;
    PyArray_Descr **out_dtypes;
    gc_array *last_outputs;    /* each output's shape in the last call (ndim -1 before the first): the likely next */
} Caller;

static void caller_dealloc(Caller *self) {
    for (Py_ssize_t i = 0; i < self->n_in && self->inputs; ++i) {
        Py_XDECREF(self->inputs[i].dtype);
        Py_XDECREF(self->inputs[i].filter);
        Py_XDECREF(self->inputs[i].name);
    }
    for (Py_ssize_t k = 0; k < self->n_out && self->out_dtypes; ++k) Py_XDECREF(self->out_dtypes[k]);
    PyMem_Free(self->inputs);
    PyMem_Free(self->out_dtypes);
    PyMem_Free(self->last_outputs);
    Py_XDECREF(self->library);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Caller(library, inputs, out_dtypes): inputs is a sequence of (dtype, static shape with None for unknown sizes,
 * filter or None, name). */
static int caller_init(Caller *self, PyObject *args, PyObject *kwargs) {
    PyObject *library, *inputs, *out_dtypes;
    if (!PyArg_ParseTuple(args, "O!OO", &LibraryType, &library, &inputs, &out_dtypes)) return -1;
    PyObject *in_seq = PySequence_Fast(inputs, "inputs must be a sequence");
    PyObject *out_seq = in_seq ? PySequence_Fast(out_dtypes, "out_dtypes must be a sequence") : NULL;
    if (!out_seq) { Py_XDECREF(in_seq); return -1; }
    int ok = -1;
    self->n_in = PySequence_Fast_GET_SIZE(in_seq);
    self->n_out = PySequence_Fast_GET_SIZE(out_seq);
    self->inputs = PyMem_Calloc((size_t)self->n_in + 1, sizeof(InputSpec));
    self->out_dtypes = PyMem_Calloc((size_t)self->n_out + 1, sizeof(PyArray_Descr *));
    self->last_outputs = PyMem_Calloc((size_t)self->n_out + 1, sizeof(gc_array));
    if (!self->inputs || !self->out_dtypes || !self->last_outputs) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t k = 0; k < self->n_out; ++k) self->last_outputs[k].ndim = -1;
    for (Py_ssize_t i = 0; i < self->n_in; ++i) {
        InputSpec *spec = &self->inputs[i];
        PyObject *dtype, *shape, *filter, *name;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(in_seq, i), "OOOU", &dtype, &shape, &filter, &name))
            goto done;
        if (!PyArray_DescrConverter(dtype, &spec->dtype)) goto done;
        Py_ssize_t nd = PySequence_Length(shape);
        if (nd < 0) goto done;
        if (nd > GC_MAX_NDIM) { PyErr_SetString(PyExc_ValueError, "too many dimensions"); goto done; }
        spec->ndim = (int)nd;
        for (Py_ssize_t d = 0; d < nd; ++d) {
            PyObject *size = PySequence_GetItem(shape, d);
            if (!size) goto done;
            spec->static_shape[d] = size == Py_None ? -1 : PyLong_AsSsize_t(size);
            Py_DECREF(size);
            if (spec->static_shape[d] == -1 && PyErr_Occurred()) goto done;
        }
        spec->filter = filter == Py_None ? NULL : Py_NewRef(filter);
        spec->name = Py_NewRef(name);
    }
    for (Py_ssize_t k = 0; k < self->n_out; ++k)
        if (!PyArray_DescrConverter(PySequence_Fast_GET_ITEM(out_seq, k), &self->out_dtypes[k])) goto done;
    self->library = Py_NewRef(library);
    self->run = ((Library *)library)->run;
    ok = 0;
done:
    Py_DECREF(in_seq);
    Py_DECREF(out_seq);
    return ok;
}

/* Whether value can be passed as it is: an exact ndarray of the input's dtype, rank and static sizes, aligned
 * (strides are then whole elements, which is what graphc_run reads). */
static int ready(PyObject *value, const InputSpec *spec) {
    if (!PyArray_CheckExact(value)) return 0;
    PyArrayObject *arr = (PyArrayObject *)value;
    if (PyArray_NDIM(arr) != spec->ndim || !PyArray_ISALIGNED(arr)) return 0;
    if (PyArray_DESCR(arr) != spec->dtype && !PyArray_EquivTypes(PyArray_DESCR(arr), spec->dtype)) return 0;
    const npy_intp *shape = PyArray_DIMS(arr);
    for (int d = 0; d < spec->ndim; ++d)
        if (spec->static_shape[d] >= 0 && shape[d] != spec->static_shape[d]) return 0;
    return 1;
}

/* A new reference to value as an array graphc_run can read, or NULL with an exception set. */
static PyObject *admit(PyObject *value, const InputSpec *spec) {
    if (ready(value, spec)) return Py_NewRef(value);
    PyObject *converted = spec->filter ? PyObject_CallFunctionObjArgs(spec->filter, value, spec->name, NULL)
                                       : Py_NewRef(value);
    if (!converted) return NULL;
    if (!ready(converted, spec)) {
        /* unaligned or a subclass: an aligned, contiguous copy of the filter's result */
        PyObject *copy = PyArray_FromAny(converted, (PyArray_Descr *)Py_NewRef(spec->dtype), spec->ndim, spec->ndim,
                                         NPY_ARRAY_CARRAY | NPY_ARRAY_ENSURECOPY | NPY_ARRAY_ENSUREARRAY, NULL);
        Py_DECREF(converted);
        if (!copy) return NULL;
        converted = copy;
        if (!ready(converted, spec)) {
            Py_DECREF(converted);
            PyErr_Format(PyExc_TypeError, "input %R: expected %d dimension(s) of dtype %R of the declared sizes",
                         spec->name, spec->ndim, (PyObject *)spec->dtype);
            return NULL;
        }
    }
    return converted;
}

static void describe(PyArrayObject *arr, gc_array *desc) {
    int nd = PyArray_NDIM(arr);
    npy_intp itemsize = PyArray_ITEMSIZE(arr);
    desc->data = PyArray_BYTES(arr);
    desc->ndim = nd;
    desc->owned = 0;
    for (int d = 0; d < nd; ++d) {
        desc->shape[d] = PyArray_DIM(arr, d);
        desc->strides[d] = PyArray_STRIDE(arr, d) / itemsize;
    }
}

/* The bytes [lo, hi) that an array's elements span (numpy's may_share_memory bounds test). */
static void extent(PyArrayObject *arr, char **lo, char **hi) {
    char *low = PyArray_BYTES(arr), *high = low + PyArray_ITEMSIZE(arr);
    for (int d = 0; d < PyArray_NDIM(arr); ++d) {
        npy_intp reach = (PyArray_DIM(arr, d) - 1) * PyArray_STRIDE(arr, d);
        if (PyArray_DIM(arr, d) == 0) { *lo = *hi = low; return; }
        if (reach < 0) low += reach; else high += reach;
    }
    *lo = low;
    *hi = high;
}

/* Offer a previous output as the buffer for output k (borrow=True), unless an input overlaps it. */
static void offer(PyObject *old, PyArrayObject **ins, Py_ssize_t n_in, gc_array *desc) {
    desc->data = NULL;
    if (!PyArray_CheckExact(old)) return;
    PyArrayObject *arr = (PyArrayObject *)old;
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISWRITEABLE(arr) || PyArray_NDIM(arr) > GC_MAX_NDIM) return;
    char *lo, *hi;
    extent(arr, &lo, &hi);
    for (Py_ssize_t i = 0; i < n_in; ++i) {
        char *ilo, *ihi;
        extent(ins[i], &ilo, &ihi);
        if (ilo < hi && lo < ihi) return;
    }
    describe(arr, desc);
}

/* ---- recycled output buffers ----------------------------------------------------------------------------
 * A large output's memory goes back to a small pool when its last array dies, and the next call whose output has
 * that size writes straight into it (offered to graphc_run as a caller buffer): fresh memory from the system
 * costs a page fault and the zeroing of every page, as much as the kernel's own pass over the data. Used with the
 * GIL held only. */
enum { POOL_SLOTS = 8 };
#define POOL_MIN_BYTES ((size_t)1 << 20)
#define POOL_MAX_BYTES ((size_t)256 << 20)

static struct { void *data; size_t bytes; } pool[POOL_SLOTS];   /* freed buffers, by size */
static int pool_count;
static size_t pool_bytes;

static size_t padded(size_t nbytes) { return (nbytes + 63) / 64 * 64; }   /* as gc_alloc_shape sizes buffers */

static void *pool_take(size_t bytes) {
    for (int i = 0; i < pool_count; ++i)
        if (pool[i].bytes == bytes) {
            void *data = pool[i].data;
            pool[i] = pool[--pool_count];
            pool_bytes -= bytes;
            return data;
        }
    return NULL;
}

static void pool_give(void *data, size_t bytes) {
    if (bytes >= POOL_MIN_BYTES && pool_count < POOL_SLOTS && pool_bytes + bytes <= POOL_MAX_BYTES) {
        pool[pool_count].data = data;
        pool[pool_count++].bytes = bytes;
        pool_bytes += bytes;
    } else {
        free(data);
    }
}

typedef struct { void *data; size_t bytes; } Recycled;   /* a buffer offered to one call, and its size */

static void release_capsule(PyObject *capsule) {
    pool_give(PyCapsule_GetPointer(capsule, NULL), (size_t)(uintptr_t)PyCapsule_GetContext(capsule));
}

static size_t desc_bytes(const gc_array *desc, const PyArray_Descr *dtype) {
    size_t n = (size_t)PyDataType_ELSIZE(dtype);
    for (int d = 0; d < desc->ndim; ++d) n *= (size_t)desc->shape[d];
    return padded(n);
}

/* The array for output k: the library's buffer or the recycled one it wrote into (owned by the array from now
 * on), the reused array (borrow=True), or an empty one. */
static PyObject *wrap(gc_array *desc, PyArray_Descr *dtype, PyObject *reused, void *recycled) {
    npy_intp shape[GC_MAX_NDIM];
    for (int d = 0; d < desc->ndim; ++d) shape[d] = (npy_intp)desc->shape[d];
    if (!desc->owned && !(recycled && desc->data == recycled)) {
        if (reused && desc->data && desc->data == PyArray_BYTES((PyArrayObject *)reused)) return Py_NewRef(reused);
        return PyArray_Zeros(desc->ndim, shape, (PyArray_Descr *)Py_NewRef(dtype), 0);   /* a size-0 result */
    }
    PyObject *owner = PyCapsule_New(desc->data, NULL, release_capsule);
    if (!owner || PyCapsule_SetContext(owner, (void *)(uintptr_t)desc_bytes(desc, dtype)) < 0) {
        Py_XDECREF(owner);
        free(desc->data);
        return NULL;
    }
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, (PyArray_Descr *)Py_NewRef(dtype), desc->ndim, shape, NULL,
                                         desc->data, NPY_ARRAY_CARRAY, NULL);
    if (!arr || PyArray_SetBaseObject((PyArrayObject *)arr, owner) < 0) {
        Py_XDECREF(arr);
        Py_DECREF(owner);
        return NULL;
    }
    return arr;
}

static PyObject *raise_status(int rc, const gc_status *status) {
    PyObject *kind = rc == GC_ERR_VALUE ? PyExc_ValueError : rc == GC_ERR_INDEX ? PyExc_IndexError
                   : rc == GC_ERR_MEMORY ? PyExc_MemoryError : rc == GC_ERR_TYPE ? PyExc_TypeError
                   : PyExc_RuntimeError;
    PyObject *message = PyUnicode_DecodeUTF8(status->message, (Py_ssize_t)strnlen(status->message,
                                             sizeof status->message), "replace");
    if (message) {
        PyErr_SetObject(kind, message);
        Py_DECREF(message);
    }
    return NULL;
}

/* caller.run(args, shared, reuse) -> list of outputs. args: the explicit inputs' values (checked); shared: the
 * shared variables' values or None; reuse: last call's outputs to write into (borrow=True), or None. */
static PyObject *caller_run(Caller *self, PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 3 || !PyTuple_Check(argv[0])) {
        PyErr_SetString(PyExc_TypeError, "run(args: tuple, shared, reuse)");
        return NULL;
    }
    PyObject *args = argv[0], *shared = argv[1], *reuse = argv[2];
    Py_ssize_t n_args = PyTuple_GET_SIZE(args);
    Py_ssize_t n_shared = shared == Py_None ? 0 : PySequence_Size(shared);
    if (n_shared < 0) return NULL;
    if (n_args + n_shared != self->n_in) {
        PyErr_Format(PyExc_TypeError, "expected %zd input values, got %zd", self->n_in, n_args + n_shared);
        return NULL;
    }
    enum { LOCAL = 8 };
    gc_array in_local[LOCAL], out_local[LOCAL];
    PyArrayObject *arr_local[LOCAL];
    gc_array *ins = self->n_in <= LOCAL ? in_local : PyMem_Malloc(sizeof(gc_array) * (size_t)self->n_in);
    gc_array *outs = self->n_out <= LOCAL ? out_local : PyMem_Malloc(sizeof(gc_array) * (size_t)self->n_out);
    PyArrayObject **arrays = self->n_in <= LOCAL ? arr_local : PyMem_Malloc(sizeof(PyObject *) * (size_t)self->n_in);
    PyObject *result = NULL;
    Py_ssize_t admitted = 0;
    if (!ins || !outs || !arrays) { PyErr_NoMemory(); goto done; }
    for (; admitted < self->n_in; ++admitted) {
        Py_ssize_t i = admitted;
        PyObject *value = i < n_args ? PyTuple_GET_ITEM(args, i) : PySequence_GetItem(shared, i - n_args);
        if (!value) goto done;
        PyObject *arr = admit(value, &self->inputs[i]);
        if (i >= n_args) Py_DECREF(value);
        if (!arr) goto done;
        arrays[i] = (PyArrayObject *)arr;
        describe(arrays[i], &ins[i]);
    }
    memset(outs, 0, sizeof(gc_array) * (size_t)self->n_out);
    PyObject *reused = reuse == Py_None ? NULL : PySequence_Fast(reuse, "reuse must be a sequence or None");
    if (reuse != Py_None && !reused) goto done;
    if (reused && PySequence_Fast_GET_SIZE(reused) == self->n_out)
        for (Py_ssize_t k = 0; k < self->n_out; ++k)
            offer(PySequence_Fast_GET_ITEM(reused, k), arrays, self->n_in, &outs[k]);
    Recycled recycled_local[LOCAL] = {{0}};
    Recycled *recycled = self->n_out <= LOCAL ? recycled_local : PyMem_Calloc((size_t)self->n_out, sizeof(Recycled));
    if (!recycled) { Py_XDECREF(reused); PyErr_NoMemory(); goto done; }
    for (Py_ssize_t k = 0; k < self->n_out && !reused; ++k) {
        const gc_array *last = &self->last_outputs[k];
        if (last->ndim < 0) continue;
        recycled[k].bytes = desc_bytes(last, self->out_dtypes[k]);
        if ((recycled[k].data = pool_take(recycled[k].bytes)) == NULL) continue;
        outs[k] = *last;
        outs[k].data = recycled[k].data;
        outs[k].owned = 0;
    }
    gc_status status;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = self->run(&status, ins, outs);
    Py_END_ALLOW_THREADS
    if (rc != GC_OK) {
        raise_status(rc, &status);
    } else if ((result = PyList_New(self->n_out))) {
        for (Py_ssize_t k = 0; k < self->n_out; ++k) {
            PyObject *old = reused && PySequence_Fast_GET_SIZE(reused) == self->n_out
                                ? PySequence_Fast_GET_ITEM(reused, k) : NULL;
            int wrote_recycled = recycled[k].data && !outs[k].owned && outs[k].data == recycled[k].data;
            PyObject *out = wrap(&outs[k], self->out_dtypes[k], old, recycled[k].data);
            if (wrote_recycled) recycled[k].data = NULL;     /* the array owns it now (or wrap freed it) */
            if (!out) {   /* free what the remaining outputs own */
                for (Py_ssize_t j = k + 1; j < self->n_out; ++j) if (outs[j].owned) free(outs[j].data);
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, k, out);
            self->last_outputs[k] = outs[k];
        }
    }
    for (Py_ssize_t k = 0; k < self->n_out; ++k)    /* offered but not written into: back to the pool */
        if (recycled[k].data) pool_give(recycled[k].data, recycled[k].bytes);
    if (recycled != recycled_local) PyMem_Free(recycled);
    Py_XDECREF(reused);
done:
    for (Py_ssize_t i = 0; i < admitted; ++i) Py_DECREF(arrays[i]);
    if (ins != in_local) PyMem_Free(ins);
    if (outs != out_local) PyMem_Free(outs);
    if (arrays != arr_local) PyMem_Free(arrays);
    return result;
}

static PyMethodDef caller_methods[] = {
    {"run", (PyCFunction)(void (*)(void))caller_run, METH_FASTCALL,
     "run(args, shared, reuse) -> list of output arrays"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CallerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "graphc._graphc_call.Caller",
    .tp_doc = "Caller(library, inputs, out_dtypes): checks arguments and calls the library's graphc_run",
    .tp_basicsize = sizeof(Caller),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)caller_init,
    .tp_dealloc = (destructor)caller_dealloc,
    .tp_methods = caller_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_graphc_call", "graphc's call path for compiled C graphs", -1, NULL,
};

PyMODINIT_FUNC PyInit__graphc_call(void) {
    import_array();
    if (PyType_Ready(&LibraryType) < 0 || PyType_Ready(&CallerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Library", (PyObject *)&LibraryType) < 0 ||
        PyModule_AddObjectRef(m, "Caller", (PyObject *)&CallerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
