"""Where the C headers (csrc/) and Jinja templates (templates/) live: inside an installed wheel they sit in the
package; in a source checkout, beside it."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_INCLUDE = re.compile(r'^#include "([^"]+)"', re.MULTILINE)


@lru_cache(maxsize=None)
def resource_dir(name: str) -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"graphc's {name}/ directory is missing (looked in {package} and its parent); "
                            f"reinstall graphc")


def runtime_headers(source: str) -> list[str]:
    """graphc's own headers that ``source`` includes, directly or through each other (to ship them with it, or to
    know which libraries it needs)."""
    found: list[str] = []
    pending = _INCLUDE.findall(source)
    while pending:
        header = pending.pop(0)
        if header not in found:
            found.append(header)
            pending += _INCLUDE.findall((resource_dir("csrc") / header).read_text())
    return sorted(found)
