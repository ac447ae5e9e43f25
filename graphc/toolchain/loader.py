"""Opening compiled libraries with cffi (ABI mode: no extra build step, a few ms to open)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from graphc.resources import resource_dir


@lru_cache(maxsize=1)
def ffi():
    """One FFI for every graphc library: all export the same ABI (csrc/graphc_abi.h)."""
    import cffi
    text = (resource_dir("csrc") / "graphc_abi.h").read_text()
    declarations = text[text.index("#define GC_MAX_NDIM"):]
    body = "\n".join(line for line in declarations.splitlines()
                     if not line.startswith("#") or line.startswith("#define GC_MAX_NDIM"))
    out = cffi.FFI()
    out.cdef(body)
    out.cdef("void free(void *);")
    return out


@lru_cache(maxsize=1)
def libc():
    return ffi().dlopen(None)


_LOADED: dict[str, object] = {}


def load(path: Path):
    key = str(path)
    lib = _LOADED.get(key)
    if lib is None:
        lib = _LOADED[key] = ffi().dlopen(key)
    return lib
