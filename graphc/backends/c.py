"""The C backend: key the graph, find or build its library in the cache, and call it through the call extension."""
from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
import time
from pathlib import Path
from typing import Callable, Sequence

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


def compile_jobs() -> int:
    """How many compiler processes one build may run at once: one per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class CProgram:
    """One compiled library for one graph. ``run`` hands the arrays to the call extension, which checks them, calls
    ``graphc_run`` once and wraps the results (see csrc/graphc_callmodule.c).

    The key is computed from the user's graph and ``options`` (text naming whatever else changes the code, such as
    the enabled rewrites); ``optimized()`` gives the graph to generate code from, and is called only to build, so
    a cache hit skips rewriting. Both graphs have the same input and output types."""

    def __init__(self, user_fgraph: FunctionGraph, optimized: Callable[[], FunctionGraph], options: str = "",
                 filters: Sequence[Callable | None] | None = None):
        """``filters[i]`` converts argument i when it is not already an array of its input's type (None for values
        that always are, such as shared variables'); by default, each input type's own ``filter``."""
        from graphc.toolchain.cache import LIBRARY, SOURCE, lookup_or_build
        from graphc.toolchain.compiler import toolchain
        from graphc.toolchain.loader import load
        from graphc.toolchain.runtime import call_module
        start = time.perf_counter()
        tc = toolchain()
        key_text = "\n".join([f"graphc {GRAPHC_VERSION}", code_fingerprint(), tc.identity, f"par_threshold={config.openmp_threshold}",
                              options, graph_signature(user_fgraph)])
        self.key = hashlib.sha256(key_text.encode()).hexdigest()

        def build(tmp: Path) -> dict:
            from graphc.codegen.c import generate_units
            units = generate_units(optimized(), GRAPHC_VERSION, config.openmp_threshold, compile_jobs())
            paths = [tmp / SOURCE] + [tmp / f"kernels{k}.c" for k in range(1, len(units))]
            for path, text in zip(paths, units):
                path.write_text(text)
            tc.compile_units(paths, tmp / LIBRARY)
            return {"graphc": GRAPHC_VERSION, "toolchain": tc.identity, "units": len(units)}

        self.entry, self.meta, self.compiled = lookup_or_build(self.key, build)
        self.library_path = self.entry / LIBRARY
        self.lib = load(self.library_path)
        inputs = user_fgraph.inputs
        if filters is None:
            filters = [v.type.filter for v in inputs]
        specs = [(v.type.np_dtype, v.type.shape, f, v.name or f"#{i}") for i, (v, f) in enumerate(zip(inputs, filters))]
        self._run = call_module().Caller(self.lib, specs, [np.dtype(v.dtype) for v in user_fgraph.outputs]).run
        self._local = threading.local()
        self.compile_seconds = time.perf_counter() - start

    @property
    def source(self) -> str:
        """The generated C: the unit with the entry point, then any units of kernels compiled beside it."""
        from graphc.toolchain.cache import SOURCE
        units = [self.entry / SOURCE] + sorted(self.entry.glob("kernels*.c"), key=lambda p: int(p.stem[7:]))
        return "\n".join(path.read_text() for path in units)

    def run(self, values: Sequence, borrow: bool = False, shared: Sequence | None = None) -> list[np.ndarray]:
        """Outputs for the inputs' ``values`` (converted where needed) followed by ``shared`` values. With
        ``borrow``, the outputs of this thread's previous call are offered as buffers to write into."""
        if not borrow:
            return self._run(tuple(values), shared, None)
        results = self._run(tuple(values), shared, getattr(self._local, "previous", None))
        self._local.previous = results
        return results
