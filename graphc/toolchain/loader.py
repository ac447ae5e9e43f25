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


def load(path: Path, with_ffi=None):
    """The library at ``path``, opened once per process (through ``with_ffi`` when it exports more than the ABI)."""
    key = str(path)
    lib = _LOADED.get(key)
    if lib is None:
        _passive_openmp_threads()
        lib = _LOADED[key] = (with_ffi or ffi()).dlopen(key)
    return lib
