"""Ahead-of-time artifacts of one function, for use without Python: the generated C source, a header documenting
its entry point, the runtime headers the source includes, a manifest, and the shared library built from them.

Everything but the library is byte-for-byte deterministic for a given graph and options: no paths, no timestamps,
nothing read from this machine (the CPU target is a portable baseline unless asked otherwise), so CI can commit
the artifacts and diff them (``graphc compile --check``). The library has no rpath into this environment: whoever
links it provides OpenBLAS, and the manifest says which libraries it needs."""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from graphc.backends.c import GRAPHC_VERSION
from graphc.codegen.c import generate, render
from graphc.config import config
from graphc.function import Function
from graphc.graph.type import TensorType
from graphc.resources import resource_dir, runtime_headers
from graphc.toolchain.compiler import Toolchain, toolchain
from graphc.toolchain.nvcc import NvccToolchain

ENTRY_POINT = "graphc_run"
RUNTIME_LIBRARIES = ("scipy_openblas", "gomp", "m", "c")
C_TYPES = {"bool": "bool", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
           "int64": "int64_t", "float32": "float", "float64": "double"}


@dataclass(frozen=True)
class Change:
    """One artifact file that differs from what compiling now gives."""

    file: str
    status: str  # "changed" or "missing"
    added: int
    removed: int
    diff: str


@dataclass
class Artifacts:
    """The deterministic files (name -> text) and how to build the library from them."""

    name: str
    files: dict[str, str]
    toolchain: Toolchain | NvccToolchain
    extension: str = "c"    # "cu" for the CUDA backend

    @property
    def source(self) -> str:
        return f"{self.name}.{self.extension}"

    @property
    def library(self) -> str:
        return f"lib{self.name}.so"

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for file, text in self.files.items():
            (out / file).write_text(text)

    def build_library(self, out: Path) -> Path:
        """Compile the written source in ``out`` into ``out/lib<name>.so`` (raises CompileError)."""
        self.toolchain.compile_shared(out / self.source, out / self.library)
        return out / self.library

    def changes(self, committed: Path) -> list[Change]:
        """How the files in ``committed`` differ from these (the library is not compared: compilers differ)."""
        out = []
        for file, text in self.files.items():
            path = committed / file
            if not path.is_file():
                out.append(Change(file, "missing", text.count("\n"), 0, ""))
                continue
            old = path.read_text()
            if old != text:
                diff = list(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                 f"{committed / file} (committed)", f"{file} (now)", n=2))
                added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
                removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
                out.append(Change(file, "changed", added, removed, "".join(diff)))
        return out


def artifacts(f: Function, name: str, march: str, baked: bool, backend: str = "c") -> Artifacts:
    """The artifacts of ``f`` (its optimized graph) for a library called ``lib<name>.so``: C for the CPU, or with
    ``backend="cuda"`` a .cu source built by nvcc for the SM targets of ``config.cuda_arch`` (``march`` unused)."""
    if backend == "cuda":
        from graphc.codegen.cuda import generate as generate_cuda
        from graphc.toolchain.nvcc import nvcc_toolchain
        tc: Toolchain | NvccToolchain = nvcc_toolchain()
        source = generate_cuda(f.fgraph, GRAPHC_VERSION)
        compiler = {"nvcc": Path(tc.nvcc).name, "cuda_arch": config.cuda_arch,
                    "flags": [flag for flag in tc.flags if not flag.startswith("-I")]}
        libraries = runtime_libraries(backend, source)
    else:
        tc = toolchain(march, venv_rpath=False)
        source = generate(f.fgraph, GRAPHC_VERSION, config.openmp_threshold)
        compiler = {"cc": Path(tc.cc).name, "march": march or None,
                    "cflags": [flag for flag in tc.cflags if not flag.startswith("-I")],
                    "ldflags": [flag for flag in tc.ldflags if not flag.startswith("-L")]}
        libraries = runtime_libraries(backend, source)
    extension = "cu" if backend == "cuda" else "c"
    inputs, outputs = _signature(f)
    header = _header(name, inputs, outputs, backend, libraries)
    manifest = {
        "graphc": GRAPHC_VERSION,
        "name": name,
        "backend": backend,
        "entry_point": ENTRY_POINT,
        "files": {"source": f"{name}.{extension}", "header": f"{name}.h", "library": f"lib{name}.so"},
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "baked_weights": baked,
        "compiler": compiler,
        "runtime_libraries": [f"lib{lib}" for lib in libraries],
        "inputs": inputs,
        "outputs": outputs,
    }
    files = {f"{name}.{extension}": source, f"{name}.h": header}
    files.update((h, (resource_dir("csrc") / h).read_text()) for h in runtime_headers(source))
    files[f"{name}.manifest.json"] = json.dumps(manifest, indent=2) + "\n"
    return Artifacts(name, files, tc, extension)


def runtime_libraries(backend: str, source: str) -> tuple[str, ...]:
    """The shared libraries a built library needs at run time (nvcc links the CUDA runtime statically)."""
    if backend != "cuda":
        return RUNTIME_LIBRARIES
    cublas = ("cublas",) if "graphc_cublas.h" in runtime_headers(source) else ()
    return ("cuda", *cublas, "stdc++", "m", "c")


def _signature(f: Function) -> tuple[list[dict], list[dict]]:
    """The entry point's inputs (explicit, then shared) and outputs (results, then updates), in ABI order."""
    n_explicit = len(f.inputs)
    inputs = [_describe(var.name, f.fgraph.inputs[i].type, "input" if i < n_explicit else "shared")
              for i, var in enumerate(f.user_fgraph.inputs)]
    outputs = [_describe(var.name, f.fgraph.outputs[k].type, "output") for k, var in
               enumerate(f.user_fgraph.outputs[:f.n_outputs])]
    for k, (target, _) in enumerate(f.updates):
        entry = _describe(target.name, f.fgraph.outputs[f.n_outputs + k].type, "update")
        outputs.append(entry)
    return inputs, outputs


def _describe(name: str | None, type_: TensorType, kind: str) -> dict:
    return {"name": name, "kind": kind, "dtype": type_.dtype, "ndim": type_.ndim, "shape": list(type_.shape)}


def _header(name: str, inputs: list[dict], outputs: list[dict], backend: str, libraries: tuple[str, ...]) -> str:
    prefix = c_identifier(name).upper()
    if not prefix or prefix[0].isdigit():
        prefix = f"GRAPHC_{prefix}".rstrip("_")      # a C identifier whatever the name
    kinds = {"input": "input", "shared": "shared variable: pass its current value", "output": "output",
             "update": "update: the shared variable's new value"}
    enum: list[tuple[str, int]] = []
    rows = []
    for group, entries in (("INPUT", inputs), ("OUTPUT", outputs)):
        table = []
        taken: set[str] = set()
        for i, entry in enumerate(entries):
            label = c_identifier(entry["name"] or "").upper()
            constant = f"{prefix}_{'UPDATE' if entry['kind'] == 'update' else group}_{label or i}"
            if constant in taken or not label:
                constant = f"{prefix}_{group}_{i}"
            taken.add(constant)
            enum.append((constant, i))
            dims = ", ".join("?" if s is None else str(s) for s in entry["shape"])
            table.append([f"[{i}]", _comment_text(entry["name"] or "(unnamed)"),
                          f"{entry['dtype']} ({C_TYPES[entry['dtype']]})",
                          f"rank {entry['ndim']}", f"({dims}{',' if entry['ndim'] == 1 else ''})",
                          kinds[entry["kind"]]])
        rows.append(_align(table))
    return render("aot_header.h.j2", name=_comment_text(name), version=GRAPHC_VERSION, prefix=prefix,
                  inputs=rows[0], outputs=rows[1], updates=any(e["kind"] == "update" for e in outputs), enum=enum,
                  cuda=backend == "cuda", libraries=", ".join(f"lib{lib}" for lib in libraries))


def _align(table: list[list[str]]) -> list[str]:
    if not table:
        return []
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in table]


def _comment_text(text: str) -> str:
    """``text`` inside a /* */ comment: escaped as a Python string literal (newlines, quotes, backslashes, non-ASCII)
    and with no comment marker, so a variable's name cannot end the comment and become code."""
    return ascii(text)[1:-1].replace("*/", "*\\/").replace("/*", "/\\*")


def c_identifier(text: str) -> str:
    """``text`` with every run of characters not allowed in a C identifier made one ``_``."""
    return re.sub(r"\W+", "_", text, flags=re.ASCII).strip("_")
