"""The C compiler: which one, with which flags, and what identifies a build (for cache keys).

Compilers are always run with an argument list, never through a shell."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from graphc.config import config
from graphc.resources import resource_dir


class CompileError(RuntimeError):
    """The C compiler rejected generated code: a graphc bug; the message holds the compiler's output."""


@dataclass(frozen=True)
class Toolchain:
    cc: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    identity: str

    def compile_shared(self, source: Path, output: Path) -> None:
        run_compiler([self.cc, *self.cflags, str(source), "-o", str(output), *self.ldflags])

    def compile_units(self, sources: list[Path], output: Path) -> None:
        """One library from several translation units, compiled at the same time (one compiler process each),
        then linked; the objects are removed."""
        if len(sources) == 1:
            return self.compile_shared(sources[0], output)
        import subprocess
        objects = [source.with_suffix(".o") for source in sources]
        compile_flags = [flag for flag in self.cflags if flag != "-shared"]
        procs = [subprocess.Popen([self.cc, *compile_flags, "-c", str(source), "-o", str(obj)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for source, obj in zip(sources, objects)]
        failures = [(proc.args, err) for proc, (_, err) in ((p, p.communicate()) for p in procs) if proc.returncode]
        if failures:
            raise compile_error(*failures[0])
        try:
            run_compiler([self.cc, *self.cflags, *map(str, objects), "-o", str(output), *self.ldflags])
        finally:
            for obj in objects:
                obj.unlink(missing_ok=True)


def run_compiler(cmd: list[str]) -> None:
    """Run a compiler command (an argument list, never a shell); its errors become a CompileError."""
    import subprocess     # (here, not at the top: a warm start runs no compiler and skips the import)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise compile_error(cmd, proc.stderr)


def compile_error(cmd: list[str], stderr: str) -> CompileError:
    return CompileError(f"C compilation failed ({' '.join(cmd)}):\n{stderr[-8000:]}")


@lru_cache(maxsize=1)
def _blas() -> tuple[str, str, str, str]:
    """(include dir, lib dir, library name, identity of the library file) of the scipy-openblas32 wheel, found
    without importing it (its import reads package metadata: a quarter of a warm start's time)."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise CompileError("the scipy-openblas32 package is missing: reinstall graphc (it provides BLAS)")
    package = Path(next(iter(spec.submodule_search_locations)))
    libdir = package / "lib"
    library = next((p for p in sorted(libdir.glob("libscipy_openblas*")) if p.suffix in (".so", ".dylib")), None)
    if library is None:
        raise CompileError(f"no OpenBLAS library in {libdir}: reinstall scipy-openblas32")
    return str(package / "include"), str(libdir), library.stem[3:], _file_identity(str(library))


def _file_identity(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.realpath(path)}:{st.st_size}:{int(st.st_mtime)}"


@lru_cache(maxsize=None)
def _cpu_target(march: str) -> str:
    """The CPU the code is built for; -march=native output must not be reused on another CPU."""
    if march != "native":
        return march
    try:
        text = Path("/proc/cpuinfo").read_text()
        model = next((l for l in text.splitlines() if l.startswith(("model name", "flags", "Features"))), "")
        flags = next((l for l in text.splitlines() if l.startswith(("flags", "Features"))), "")
        return hashlib.sha256((model + flags).encode()).hexdigest()[:16]
    except OSError:
        return platform.processor() or platform.machine()


PORTABLE_MARCH = {"x86_64": "x86-64-v2", "aarch64": "armv8-a"}


def portable_march() -> str:
    """A CPU baseline that every machine of this architecture runs ("" where none is known: no -march flag)."""
    return PORTABLE_MARCH.get(platform.machine(), "")


def toolchain(march: str | None = None, venv_rpath: bool = True) -> Toolchain:
    """The compiler and flags. Defaults suit this process's own builds (``config.march``, an rpath into this
    environment's OpenBLAS); an ahead-of-time build passes a portable ``march`` and ``venv_rpath=False``, since its
    library must not depend on this machine or this checkout (whoever links it provides OpenBLAS).
    ``config.cflags_extra`` (e.g. sanitizers) is read on every call, so setting it takes effect at once."""
    return _toolchain(config.march if march is None else march, venv_rpath, config.cflags_opt,
                      _split_flags(config.cflags_extra))


def _split_flags(text: str) -> tuple[str, ...]:
    """Extra compiler flags as the shell would split them (quotes allowed); shlex only when there are any."""
    if not text.strip():
        return ()
    import shlex
    return tuple(shlex.split(text))


@lru_cache(maxsize=None)
def _toolchain(march: str, venv_rpath: bool, opt: str, extra: tuple[str, ...]) -> Toolchain:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise CompileError("no C compiler found: install gcc (or set CC) to use the 'c' backend")
    cc = shutil.which(cc) or cc
    inc, libdir, lib, blas_version = _blas()
    # -fwrapv: signed integers wrap as numpy's do; -ffp-contract=off: a*b+c is rounded twice, as numpy rounds it
    # (a fused multiply-add would differ in the last bit)
    # -mprefer-vector-width=512: where the CPU has AVX-512, loops use all of it (gcc stops at 256 bits by default),
    # and the math calls glibc's 16-lane variants; a CPU without it is unaffected
    wide = ("-mprefer-vector-width=512",) if march == "native" and platform.machine() == "x86_64" else ()
    cflags = (opt, "-g0", "-std=gnu11", "-fPIC", "-shared", "-fwrapv", "-ffp-contract=off",
              "-fno-math-errno", "-fopenmp", *([f"-march={march}"] if march else []), *wide, "-Wno-unused-function",
              *extra, f"-I{resource_dir('csrc')}", f"-I{inc}")
    ldflags = (f"-L{libdir}", f"-l{lib}", *([f"-Wl,-rpath,{libdir}"] if venv_rpath else []), "-lmvec", "-lm")
    identity = "|".join([_file_identity(cc), " ".join(cflags[:-2]), " ".join(ldflags[1:2] + ldflags[-2:]),
                         _cpu_target(march), f"blas={lib}-{blas_version}", f"py={sys.implementation.cache_tag}",
                         sysconfig.get_platform()])
    return Toolchain(cc, cflags, ldflags, identity)
