"""The C backend: key the graph, find or build its library in the cache, and call it through cffi."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from graphc.config import config
from graphc.graph.fg import FunctionGraph
from graphc.graph.signature import graph_signature

ERRORS = {1: ValueError, 2: IndexError, 3: MemoryError, 4: TypeError, 5: RuntimeError}
GRAPHC_VERSION = "0.1.0"


class CProgram:
    """One compiled library for one graph. ``run`` marshals arrays in, calls ``graphc_run`` once, wraps results."""

    def __init__(self, fgraph: FunctionGraph, user_fgraph: FunctionGraph):
        from graphc.toolchain.cache import LIBRARY, lookup_or_build
        from graphc.toolchain.compiler import toolchain
        from graphc.toolchain.loader import ffi, libc, load
        start = time.perf_counter()
        tc = toolchain()
        key_text = "\n".join([f"graphc {GRAPHC_VERSION}", tc.identity, f"par_threshold={config.openmp_threshold}",
                              graph_signature(user_fgraph)])
        self.key = hashlib.sha256(key_text.encode()).hexdigest()
        self.fgraph = fgraph

        def build(tmp: Path) -> dict:
            from graphc.codegen.c import generate
            source = generate(fgraph, GRAPHC_VERSION, config.openmp_threshold)
            (tmp / "graph.c").write_text(source)
            tc.compile_shared(tmp / "graph.c", tmp / LIBRARY)
            return {"graphc": GRAPHC_VERSION, "toolchain": tc.identity}

        self.entry, self.meta, self.compiled = lookup_or_build(self.key, build)
        self.library_path = self.entry / LIBRARY
        self.lib = load(self.library_path)
        self._ffi = ffi()
        self._free = libc().free
        self._run = self.lib.graphc_run
        self._n_in = len(fgraph.inputs)
        self._n_out = len(fgraph.outputs)
        self._out_dtypes = [np.dtype(v.dtype) for v in fgraph.outputs]
        self._itemsizes = [v.type.np_dtype.itemsize for v in fgraph.inputs]
        self.compile_seconds = time.perf_counter() - start
        self._previous: list[np.ndarray] | None = None

    @property
    def source(self) -> str:
        return (self.entry / "graph.c").read_text()

    def _describe(self, desc, arr: np.ndarray, itemsize: int) -> np.ndarray:
        """Fill one gc_array from ``arr``; returns the array to keep alive (a copy if it had odd strides)."""
        if not arr.flags.c_contiguous:
            if any(s % itemsize for s in arr.strides) or not arr.flags.aligned:
                arr = np.ascontiguousarray(arr)
        nd = arr.ndim
        if arr.flags.c_contiguous:
            desc.data = self._ffi.from_buffer(arr, require_writable=False)
            shape = arr.shape
            desc.shape[0:nd] = shape
            stride = 1
            for d in range(nd - 1, -1, -1):
                desc.strides[d] = stride
                stride *= shape[d]
        else:
            desc.data = self._ffi.cast("char *", arr.__array_interface__["data"][0])
            desc.shape[0:nd] = arr.shape
            desc.strides[0:nd] = [s // itemsize for s in arr.strides]
        desc.ndim = nd
        return arr

    def run(self, values: list[np.ndarray], borrow: bool = False) -> list[np.ndarray]:
        ffi = self._ffi
        ins = ffi.new("gc_array[]", max(self._n_in, 1))
        outs = ffi.new("gc_array[]", max(self._n_out, 1))
        status = ffi.new("gc_status *")
        keep = [self._describe(ins[i], v, size) for i, (v, size) in enumerate(zip(values, self._itemsizes))]
        previous = self._previous if borrow else None
        if previous is not None:
            for k, old in enumerate(previous):
                if old.flags.c_contiguous and old.flags.writeable and \
                        not any(np.may_share_memory(old, v) for v in values):
                    self._describe(outs[k], old, old.itemsize)
        rc = self._run(status, ins, outs)
        del keep
        if rc != 0:
            message = ffi.string(status.message).decode("utf-8", "replace")
            raise ERRORS.get(rc, RuntimeError)(message)
        results = [self._wrap(outs[k], self._out_dtypes[k], previous[k] if previous else None)
                   for k in range(self._n_out)]
        if borrow:
            self._previous = results
        return results

    def _wrap(self, desc, dtype: np.dtype, reused: np.ndarray | None) -> np.ndarray:
        shape = tuple(desc.shape[0:desc.ndim])
        if not desc.owned:
            return reused
        count = 1
        for s in shape:
            count *= s
        owner = self._ffi.gc(desc.data, self._free)
        flat = np.frombuffer(self._ffi.buffer(owner, max(count, 1) * dtype.itemsize), dtype=dtype)
        return flat[:count].reshape(shape)
