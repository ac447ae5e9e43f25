"""Opening compiled libraries with cffi (ABI mode: no extra build step, a few ms to open)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from graphc.resources import resource_dir


def abi_declarations() -> str:
    """The C ABI every graphc library exports (csrc/graphc_abi.h), as cffi declarations."""
    text = (resource_dir("csrc") / "graphc_abi.h").read_text()
    declarations = text[text.index("#define GC_MAX_NDIM"):]
    return "\n".join(line for line in declarations.splitlines()
                     if not line.startswith("#") or line.startswith("#define GC_MAX_NDIM"))


@lru_cache(maxsize=1)
def ffi():
    """One FFI for every graphc library: all export the same ABI (csrc/graphc_abi.h)."""
    import cffi
    out = cffi.FFI()
    out.cdef(abi_declarations())
    out.cdef("void free(void *);")
    out.cdef("int omp_pause_resource_all(int); void omp_set_num_threads(int);")   # libgomp, for _fork_safe
    return out


@lru_cache(maxsize=1)
def libc():
    return ffi().dlopen(None)


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
    loops on one thread. Registered once, with the first library that links libgomp."""
    if _FORK_HOOKED:
        return
    try:
        pause, one_thread = lib.omp_pause_resource_all, lib.omp_set_num_threads
    except AttributeError:
        return
    paused = [True]

    def before() -> None:
        paused[0] = pause(2) == 0     # omp_pause_hard

    def in_child() -> None:
        if not paused[0]:
            one_thread(1)

    os.register_at_fork(before=before, after_in_child=in_child)
    _FORK_HOOKED.append(lib)


def load(path: Path, with_ffi=None):
    """The library at ``path``, opened once per process (through ``with_ffi`` when it exports more than the ABI)."""
    key = str(path)
    lib = _LOADED.get(key)
    if lib is None:
        _passive_openmp_threads()
        lib = _LOADED[key] = (with_ffi or ffi()).dlopen(key)
        _fork_safe(lib)
    return lib
