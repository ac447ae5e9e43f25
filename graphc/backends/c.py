"""The C backend: key the graph, find or build its library in the cache, and call it through cffi."""
from __future__ import annotations

import hashlib
import threading
from functools import lru_cache
import time
from pathlib import Path
from typing import Callable

import numpy as np

from graphc.config import config
from graphc.graph.fg import FunctionGraph
from graphc.graph.signature import graph_signature

ERRORS = {1: ValueError, 2: IndexError, 3: MemoryError, 4: TypeError, 5: RuntimeError}
GRAPHC_VERSION = "0.1.0"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of graphc's own sources, templates and headers: a changed code generator never reuses old builds."""
    from graphc.resources import resource_dir
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for root in (package, resource_dir("templates"), resource_dir("csrc")):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".j2", ".h") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


class CProgram:
    """One compiled library for one graph. ``run`` marshals arrays in, calls ``graphc_run`` once, wraps results.

    The key is computed from the user's graph and ``options`` (text naming whatever else changes the code, such as
    the enabled rewrites); ``optimized()`` gives the graph to generate code from, and is called only to build, so
    a cache hit skips rewriting. Both graphs have the same input and output types."""

    def __init__(self, user_fgraph: FunctionGraph, optimized: Callable[[], FunctionGraph], options: str = ""):
        from graphc.toolchain.cache import LIBRARY, lookup_or_build
        from graphc.toolchain.compiler import toolchain
        from graphc.toolchain.loader import ffi, libc, load
        start = time.perf_counter()
        tc = toolchain()
        key_text = "\n".join([f"graphc {GRAPHC_VERSION}", code_fingerprint(), tc.identity, f"par_threshold={config.openmp_threshold}",
                              options, graph_signature(user_fgraph)])
        self.key = hashlib.sha256(key_text.encode()).hexdigest()
        self._inputs = user_fgraph.inputs

        def build(tmp: Path) -> dict:
            from graphc.codegen.c import generate
            source = generate(optimized(), GRAPHC_VERSION, config.openmp_threshold)
            (tmp / "graph.c").write_text(source)
            tc.compile_shared(tmp / "graph.c", tmp / LIBRARY)
            return {"graphc": GRAPHC_VERSION, "toolchain": tc.identity}

        self.entry, self.meta, self.compiled = lookup_or_build(self.key, build)
        self.library_path = self.entry / LIBRARY
        self.lib = load(self.library_path)
        self._ffi = ffi()
        self._free = libc().free
        self._call = self.lib.graphc_call
        self._local = threading.local()
        self._from_buffer = self._ffi._backend.from_buffer  # skips cffi's Python-level wrapper on the hot path
        self._char_array = self._ffi.typeof("char[]")
        self._n_in = len(user_fgraph.inputs)
        self._n_out = len(user_fgraph.outputs)
        self._out_dtypes = [np.dtype(v.dtype) for v in user_fgraph.outputs]
        self._itemsizes = [v.type.np_dtype.itemsize for v in user_fgraph.inputs]
        self.compile_seconds = time.perf_counter() - start

    @property
    def source(self) -> str:
        return (self.entry / "graph.c").read_text()

    def _buffers(self):
        """Per-thread call buffers (status, data pointers, shape/stride metadata, output descriptors), made once:
        two threads may call one function at once, and the call path allocates nothing."""
        local = self._local
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            ffi = self._ffi
            meta_len = sum(2 * v.ndim for v in self._inputs)
            bufs = local.bufs = (ffi.new("gc_status *"), ffi.new("char *[]", max(self._n_in, 1)),
                                 ffi.new("int64_t[]", max(meta_len, 1)), ffi.new("gc_array[]", max(self._n_out, 1)))
        return bufs

    def run(self, values: list[np.ndarray], borrow: bool = False) -> list[np.ndarray]:
        ffi = self._ffi
        status, data, meta, outs = self._buffers()
        keep = []
        layout: tuple = ()
        from_buffer, char_array = self._from_buffer, self._char_array
        for i, arr in enumerate(values):
            if arr.flags.c_contiguous:
                ptr = from_buffer(char_array, arr, False)
            elif not arr.flags.aligned:
                arr = np.ascontiguousarray(arr)
                ptr = from_buffer(char_array, arr, False)
            else:
                ptr = ffi.cast("char *", arr.__array_interface__["data"][0])
            keep.append(ptr)
            data[i] = ptr
            layout += arr.shape + arr.strides
        if layout:
            meta[0:len(layout)] = layout
        previous = self._borrowed(values) if borrow else None
        rc = self._call(status, data, meta, outs, previous is not None)
        del keep
        if rc != 0:
            message = ffi.string(status.message).decode("utf-8", "replace")
            raise ERRORS.get(rc, RuntimeError)(message)
        results = [self._wrap(outs[k], self._out_dtypes[k], previous[k] if previous else None)
                   for k in range(self._n_out)]
        if borrow:
            self._local.previous = results
        return results

    def _borrowed(self, values: list[np.ndarray]) -> list[np.ndarray] | None:
        """Offer last call's outputs as buffers for this call's (``borrow=True``), unless an input shares them."""
        previous = getattr(self._local, "previous", None)
        if previous is None:
            return None
        outs = self._buffers()[3]
        for k, old in enumerate(previous):
            desc = outs[k]
            desc.owned = 0
            if old.flags.c_contiguous and old.flags.writeable and not any(np.may_share_memory(old, v) for v in values):
                desc.data = self._ffi.from_buffer(old)
                desc.ndim = old.ndim
                desc.shape[0:old.ndim] = old.shape
            else:
                desc.data = self._ffi.NULL
        return previous

    def _wrap(self, desc, dtype: np.dtype, reused: np.ndarray | None) -> np.ndarray:
        """An array owning the buffer the library allocated (freed with the last view of it)."""
        if not desc.owned:
            return reused
        shape = tuple(desc.shape[0:desc.ndim])
        nbytes = dtype.itemsize
        for s in shape:
            nbytes *= s
        owner = self._ffi.gc(desc.data, self._free)
        return np.ndarray(shape, dtype, self._ffi.buffer(owner, nbytes or 1))
