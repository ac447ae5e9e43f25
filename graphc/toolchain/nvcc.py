"""nvcc, the CUDA libraries' headers and libraries, and what identifies a CUDA build (for cache keys).

cuBLAS and cuDNN come from NVIDIA's wheels (``pip install graphc[cuda]``: ``site-packages/nvidia/cu13`` and
``nvidia/cudnn``, libraries under versioned names only) or from the toolkit nvcc belongs to. Finding them never
touches a GPU: building works on machines without one."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graphc.config import config
from graphc.resources import resource_dir, runtime_headers
from graphc.toolchain.compiler import CompileError

LIBRARIES = {  # header a generated source includes -> (library's header, its versioned file, wheel folder)
    "graphc_cublas.h": ("cublas_v2.h", "libcublas.so.13", "cu13"),
}


class CudaUnavailable(RuntimeError):
    """No nvcc, or no CUDA library a graph needs: the CUDA backend cannot build it here."""


@dataclass(frozen=True)
class CudaLibrary:
    include: Path
    lib: Path
    file: str   # the shared library's file name (versioned)


@dataclass(frozen=True)
class NvccToolchain:
    nvcc: str
    flags: tuple[str, ...]
    identity: str

    def compile_shared(self, source: Path, output: Path) -> None:
        """Build ``source`` into a shared library, linking the CUDA libraries its includes ask for."""
        headers = runtime_headers(source.read_text())
        extra: list[str] = []
        for header in LIBRARIES:
            if header in headers:
                found = cuda_library(header)
                extra += [f"-I{found.include}", f"-L{found.lib}", f"-l:{found.file}", "-Xlinker", f"-rpath,{found.lib}"]
        cmd = [self.nvcc, *self.flags, *extra, str(source), "-o", str(output)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(f"nvcc failed ({' '.join(cmd)}):\n{proc.stderr[-8000:]}")


def find_nvcc() -> str | None:
    """$NVCC, nvcc on PATH, or the default toolkit's."""
    for candidate in (os.environ.get("NVCC"), shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _toolkit_root(nvcc: str) -> Path:
    """The toolkit nvcc belongs to (through a wrapper script, the real nvcc's)."""
    proc = subprocess.run([nvcc, "--dryrun", "--version"], capture_output=True, text=True)
    for line in proc.stderr.splitlines():
        if "TOP=" in line:
            return Path(line.split("TOP=", 1)[1].strip())
    return Path(os.path.realpath(nvcc)).parent.parent


@lru_cache(maxsize=None)
def cuda_library(header: str) -> CudaLibrary:
    """Where the library behind graphc's ``header`` is: NVIDIA's wheel, else nvcc's toolkit."""
    lib_header, versioned, wheel = LIBRARIES[header]
    for base in (Path(p) / "nvidia" / wheel for p in sys.path if p):
        if (base / "include" / lib_header).is_file() and (base / "lib" / versioned).is_file():
            return CudaLibrary(base / "include", base / "lib", versioned)
    nvcc = find_nvcc()
    if nvcc:
        root = _toolkit_root(nvcc)
        for lib in (root / "lib64", root / "lib"):
            if (root / "include" / lib_header).is_file() and (lib / versioned).is_file():
                return CudaLibrary(root / "include", lib, versioned)
    raise CudaUnavailable(f"{lib_header} and {versioned} were not found (looked in site-packages/nvidia/{wheel} and "
                          f"in nvcc's toolkit): pip install 'graphc[cuda]'")


def arch_flags(arch: str) -> tuple[str, ...]:
    """-gencode flags: machine code for each listed SM (e.g. "80,90"), and PTX of the first for newer GPUs."""
    sms = [a.strip() for a in arch.split(",") if a.strip()]
    if not sms or not all(a.isdigit() for a in sms):
        raise ValueError(f"cuda_arch must list SM numbers such as '80,90', got {arch!r}")
    flags = [f"-gencode=arch=compute_{sm},code=sm_{sm}" for sm in sms]
    return (*flags, f"-gencode=arch=compute_{sms[0]},code=compute_{sms[0]}")


@lru_cache(maxsize=None)
def _nvcc_version(nvcc: str) -> str:
    out = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    return hashlib.sha256(out.encode()).hexdigest()[:16]


def nvcc_toolchain(arch: str | None = None) -> NvccToolchain:
    """nvcc and its flags for the SM targets ``arch`` (default: ``config.cuda_arch``)."""
    return _nvcc_toolchain(config.cuda_arch if arch is None else arch)


@lru_cache(maxsize=None)
def _nvcc_toolchain(arch: str) -> NvccToolchain:
    nvcc = find_nvcc()
    if nvcc is None:
        raise CudaUnavailable("nvcc was not found (set $NVCC, or put the CUDA toolkit's bin/ on PATH): the 'cuda' "
                              "backend needs it to build")
    # -O1 is the host compiler's level (device code is always optimized): host code only checks shapes and launches
    # kernels, and gcc's -O3 over it costs minutes. No contraction of a*b+c into one FMA, on either side: results
    # round as numpy's do, as in the C backend (elementwise kernels are bound by memory, not arithmetic).
    flags = ("-shared", "-std=c++17", "-O1", "--fmad=false", "-Xcompiler", "-ffp-contract=off", "-Xcompiler", "-fPIC",
             "-Xcompiler", "-Wno-unused-function",
             "-Wno-deprecated-gpu-targets", *arch_flags(arch), f"-I{resource_dir('csrc')}")
    libraries = []
    for header in LIBRARIES:
        try:
            libraries.append(str(cuda_library(header).lib / cuda_library(header).file))
        except CudaUnavailable:
            libraries.append(f"no {header}")
    identity = "|".join([os.path.realpath(nvcc), _nvcc_version(nvcc), " ".join(flags[:-1]), *libraries])
    return NvccToolchain(nvcc, flags, identity)
