"""Where the C headers (csrc/) and Jinja templates (templates/) live: inside an installed wheel they sit in the
package; in a source checkout, beside it."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=None)
def resource_dir(name: str) -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"graphc's {name}/ directory is missing (looked in {package} and its parent); "
                            f"reinstall graphc")
