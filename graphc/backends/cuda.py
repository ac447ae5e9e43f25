"""The CUDA backend: the graph becomes one .cu file, built by nvcc into the compile cache and loaded with cffi, as
the C backend's library is. Building never touches a GPU; calling needs one, and says so clearly without.

Inputs may be numpy arrays (copied in for the call) or any object exposing ``__cuda_array_interface__`` (CuPy,
torch, numba, pycuda, graphc's own ``DeviceArray``); outputs are pycuda ``GPUArray``s where pycuda imports, else
``DeviceArray``s, or numpy arrays with ``outputs_on="host"``. Shared variables a CUDA function uses stay on the
device between calls, as DeviceArrays."""
from __future__ import annotations

import hashlib
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from graphc.backends.c import ERRORS, GRAPHC_VERSION, code_fingerprint
from graphc.graph.basic import SharedVariable, Variable
from graphc.graph.fg import FunctionGraph
from graphc.graph.signature import graph_signature
from graphc.resources import resource_dir

SOURCE = "graph.cu"
CUDA_DECLARATIONS = """
int graphc_cuda_devices(gc_status *st);
int graphc_cuda_alloc(gc_status *st, void **ptr, size_t bytes);
void graphc_cuda_free(void *ptr);
int graphc_cuda_copy(gc_status *st, void *dst, const void *src, size_t bytes, int kind);
int graphc_cuda_sync(gc_status *st);
int graphc_cuda_poison(gc_status *st, size_t bytes);
"""
HOST_TO_DEVICE, DEVICE_TO_HOST = 1, 2


class NoCudaDevice(RuntimeError):
    """A CUDA function was called where no CUDA device (or no driver) is available."""


@lru_cache(maxsize=1)
def cuda_ffi():
    """The C ABI of every graphc library plus the CUDA library's device-memory entry points."""
    import cffi
    ffi = cffi.FFI()
    ffi.cdef(abi_declarations())
    ffi.cdef(CUDA_DECLARATIONS)
    return ffi


def abi_declarations() -> str:
    """The C ABI every graphc library exports (csrc/graphc_abi.h), as cffi declarations."""
    text = (resource_dir("csrc") / "graphc_abi.h").read_text()
    declarations = text[text.index("#define GC_MAX_NDIM"):]
    return "\n".join(line for line in declarations.splitlines()
                     if not line.startswith("#") or line.startswith("#define GC_MAX_NDIM"))


_OPENED: dict[str, object] = {}


def _open(path: Path):
    """The CUDA library at ``path``, opened once per process."""
    key = str(path)
    if key not in _OPENED:
        _OPENED[key] = cuda_ffi().dlopen(key)
    return _OPENED[key]


class _Memory:
    """Device memory owned by graphc, given back through the library that allocated it."""

    __slots__ = ("ptr", "lib")

    def __init__(self, ptr: int, lib):
        self.ptr, self.lib = ptr, lib

    def __del__(self):
        if self.ptr:
            self.lib.graphc_cuda_free(cuda_ffi().cast("void *", self.ptr))
            self.ptr = 0

    def __int__(self) -> int:   # pycuda takes any gpudata that converts to the device address
        return self.ptr


class DeviceArray:
    """An n-d array in device memory: ``__cuda_array_interface__`` for other GPU libraries, ``get()`` (or
    ``np.asarray``) to copy it to the host. Contiguous, in C order."""

    def __init__(self, memory: _Memory, shape: tuple[int, ...], dtype: np.dtype):
        self._memory, self.shape, self.dtype = memory, tuple(shape), np.dtype(dtype)

    @classmethod
    def from_host(cls, array: np.ndarray, lib) -> "DeviceArray":
        array = np.ascontiguousarray(array)
        ffi = cuda_ffi()
        status, ptr = ffi.new("gc_status *"), ffi.new("void **")
        _check(lib.graphc_cuda_alloc(status, ptr, array.nbytes), status)
        out = cls(_Memory(int(ffi.cast("uintptr_t", ptr[0])), lib), array.shape, array.dtype)
        if array.nbytes:
            _check(lib.graphc_cuda_copy(status, ptr[0], ffi.from_buffer(array), array.nbytes, HOST_TO_DEVICE), status)
        return out

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self._memory.ptr, False), "version": 3,
                "strides": None}

    def get(self) -> np.ndarray:
        """A numpy copy (waits for the work that computes this array)."""
        out = np.empty(self.shape, self.dtype)
        if out.nbytes:
            ffi = cuda_ffi()
            status = ffi.new("gc_status *")
            source = ffi.cast("void *", self._memory.ptr)
            _check(self._memory.lib.graphc_cuda_copy(status, ffi.from_buffer(out), source, out.nbytes, DEVICE_TO_HOST),
                   status)
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.get()
        return out if dtype is None else out.astype(dtype, copy=False)

    def __float__(self) -> float:
        return float(self.get())

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype})"


@lru_cache(maxsize=1)
def _pycuda_gpuarray():
    """pycuda's GPUArray class where pycuda imports (it needs the driver library), else None."""
    try:
        from pycuda.gpuarray import GPUArray
    except Exception:  # ImportError, or OSError from a missing libcuda
        return None
    return GPUArray


def _check(rc: int, status) -> None:
    if rc != 0:
        message = cuda_ffi().string(status.message).decode("utf-8", "replace")
        raise ERRORS.get(rc, RuntimeError)(message)


_DEVICE_CHECKED: list[bool] = []


def require_device(lib) -> None:
    """Raise NoCudaDevice unless the CUDA runtime sees a device (asked once per process)."""
    if _DEVICE_CHECKED:
        return
    status = cuda_ffi().new("gc_status *")
    count = lib.graphc_cuda_devices(status)
    if count <= 0:
        reason = cuda_ffi().string(status.message).decode("utf-8", "replace") or "the runtime reports 0 devices"
        raise NoCudaDevice(f"no CUDA device: {reason}. The function was compiled for CUDA (nvcc); calling it needs an "
                           f"NVIDIA GPU and its driver. Use backend='c' on this machine.")
    _DEVICE_CHECKED.append(True)


class CudaProgram:
    """One CUDA library for one graph; ``run`` takes numpy or device arrays and returns device arrays."""

    def __init__(self, user_fgraph: FunctionGraph, optimized: Callable[[], FunctionGraph], options: str = "",
                 n_outputs: int | None = None, outputs_on: str = "device"):
        """The first ``n_outputs`` outputs (default: all) are the user's, returned on ``outputs_on`` ("device" or
        "host"); the others are shared-variable updates, which stay on the device as DeviceArrays."""
        from graphc.toolchain.cache import LIBRARY, lookup_or_build
        from graphc.toolchain.nvcc import nvcc_toolchain
        start = time.perf_counter()
        tc = nvcc_toolchain()
        key_text = "\n".join([f"graphc {GRAPHC_VERSION} cuda", code_fingerprint(), tc.identity, options,
                              graph_signature(user_fgraph)])
        self.key = hashlib.sha256(key_text.encode()).hexdigest()

        def build(tmp: Path) -> dict:
            from graphc.codegen.cuda import generate
            (tmp / SOURCE).write_text(generate(optimized(), GRAPHC_VERSION))
            tc.compile_shared(tmp / SOURCE, tmp / LIBRARY)
            return {"graphc": GRAPHC_VERSION, "toolchain": tc.identity}

        self.entry, self.meta, self.compiled = lookup_or_build(self.key, build, SOURCE)
        self.library_path = self.entry / LIBRARY
        self.lib = _open(self.library_path)
        self._inputs = user_fgraph.inputs
        self._n_out = len(user_fgraph.outputs)
        self._out_dtypes = [np.dtype(v.dtype) for v in user_fgraph.outputs]
        self._n_user = self._n_out if n_outputs is None else n_outputs
        self._outputs_on = outputs_on
        self._local = threading.local()
        self.compile_seconds = time.perf_counter() - start

    @property
    def source(self) -> str:
        return (self.entry / SOURCE).read_text()

    def resident(self, shared: Sequence[SharedVariable]) -> list:
        """The shared variables' values on the device, moved there (and kept there) on first use."""
        values = []
        for s in shared:
            if isinstance(s._value, np.ndarray):
                require_device(self.lib)
                s._value = DeviceArray.from_host(s._value, self.lib)
            values.append(s._value)
        return values

    def filter(self, var: Variable) -> Callable:
        """The argument check for ``var``: device arrays by dtype and rank, anything else as the C backend does."""
        def check(value, name: str):
            if not hasattr(value, "__cuda_array_interface__"):
                return var.type.filter(value, name)
            cai = value.__cuda_array_interface__
            if np.dtype(cai["typestr"]) != np.dtype(var.dtype) or len(cai["shape"]) != var.ndim:
                raise TypeError(f"input {name}: a device array of dtype {np.dtype(cai['typestr'])} and rank "
                                f"{len(cai['shape'])}, expected {var.dtype} of rank {var.ndim}")
            return value
        return check

    def _buffers(self):
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            ffi = cuda_ffi()
            meta_len = sum(2 * v.ndim for v in self._inputs)
            bufs = self._local.bufs = (ffi.new("gc_status *"), ffi.new("char *[]", max(len(self._inputs), 1)),
                                       ffi.new("int64_t[]", max(meta_len, 1)),
                                       ffi.new("gc_array[]", max(self._n_out, 1)))
        return bufs

    def run(self, values: list, borrow: bool = False) -> list:
        require_device(self.lib)
        ffi = cuda_ffi()
        status, data, meta, outs = self._buffers()
        keep, layout = [], ()
        for i, value in enumerate(values):
            if not hasattr(value, "__cuda_array_interface__"):
                value = DeviceArray.from_host(value, self.lib)
                keep.append(value)
            cai = value.__cuda_array_interface__
            shape = tuple(cai["shape"])
            itemsize = np.dtype(cai["typestr"]).itemsize
            strides = cai.get("strides") or _contiguous_strides(shape, itemsize)
            data[i] = ffi.cast("char *", cai["data"][0])
            layout += shape + tuple(strides)
        if layout:
            meta[0:len(layout)] = layout
        rc = self.lib.graphc_call(status, data, meta, outs, 0)
        del keep   # freed in stream order: after the kernels that read them
        _check(rc, status)
        results = [self._wrap(outs[k], self._out_dtypes[k]) for k in range(self._n_out)]
        user = results[:self._n_user]
        if self._outputs_on == "host":
            user = [r.get() for r in user]
        elif _pycuda_gpuarray() is not None:
            user = [_pycuda_gpuarray()(r.shape, r.dtype, gpudata=r._memory) for r in user]
        return user + results[self._n_user:]

    def _wrap(self, desc, dtype: np.dtype) -> DeviceArray:
        shape = tuple(desc.shape[0:desc.ndim])
        return DeviceArray(_Memory(int(cuda_ffi().cast("uintptr_t", desc.data)), self.lib), shape, dtype)


def _contiguous_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))
