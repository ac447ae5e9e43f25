"""Pictures of graphs through Graphviz's ``dot`` program, found on PATH (a system tool, not a Python dependency)."""
from __future__ import annotations

import shutil
import subprocess

FORMATS = ("svg", "png")
INSTALL_HINT = ("install Graphviz (apt-get install graphviz, dnf install graphviz, brew install graphviz or "
                "conda install graphviz), or use --format dot and render it elsewhere")


class RenderError(RuntimeError):
    """``dot`` is missing or failed."""


def render(dot_source: str, fmt: str) -> bytes:
    """The picture, in ``fmt`` (svg or png), of the graph that ``dot_source`` describes."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(f"--format {fmt} needs Graphviz's `dot` program, which is not on PATH: {INSTALL_HINT}")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode(), capture_output=True)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"dot -T{fmt} failed: {message[-1] if message else f'exit status {proc.returncode}'}")
    return proc.stdout
