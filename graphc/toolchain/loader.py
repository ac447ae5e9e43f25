"""Opening compiled C libraries, once per process, through the call extension (graphc.toolchain.runtime)."""
from __future__ import annotations

import os
from pathlib import Path

_LOADED: dict[str, object] = {}


def _passive_openmp_threads() -> None:
    """Idle OpenMP threads sleep instead of spinning (unless the user chose a policy): spinning workers take the
    cores that the BLAS library's own threads need next, which made a BLAS-bound step ten times slower on two
    cores. libgomp reads the policy once, when it is first loaded, i.e. with the first graphc library."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_FORK_HOOKED: list = []   # the library whose libgomp the fork hooks call (kept loaded)


def _fork_safe(lib) -> None:
    """libgomp's thread pool does not survive fork(): a child that runs a parallel loop waits forever for threads
    it does not have. So before os.fork() (multiprocessing included) the pool is shut down with OpenMP 5's
    omp_pause_resource_all, to be started again by the next parallel loop; where that fails, the child runs its
    loops on one thread. Registered once, with the first library."""
    if _FORK_HOOKED:
        return
    paused = [True]

    def before() -> None:
        paused[0] = lib.pause_openmp()

    def in_child() -> None:
        if not paused[0]:
            lib.single_thread()

    os.register_at_fork(before=before, after_in_child=in_child)
    _FORK_HOOKED.append(lib)


def load(path: Path):
    """The library at ``path`` (a ``_graphc_call.Library``), opened once per process."""
    key = str(path)
    lib = _LOADED.get(key)
    if lib is None:
        from graphc.toolchain.runtime import call_module
        _passive_openmp_threads()
        lib = _LOADED[key] = call_module().Library(key)
        _fork_safe(lib)
    return lib
