"""The call path's CPython extension (csrc/graphc_callmodule.c): built on first use for this installation, Python
and numpy (see ``installation_root``), then imported. Every compiled C function calls through it, so checking and
marshalling arguments is one piece of C shared by all of them, not Python code run on every call."""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from graphc.resources import resource_dir

SOURCE = "graphc_callmodule.c"


def _include_dirs() -> list[str]:
    import numpy as np
    return [sysconfig.get_paths()["include"], np.get_include(), str(resource_dir("csrc"))]


@lru_cache(maxsize=1)
def runtime_key() -> str:
    """The extension's key: its source and what it is built against (Python, numpy); any C compiler will do."""
    import numpy as np
    csrc = resource_dir("csrc")
    key_text = "\n".join([(csrc / SOURCE).read_text(), (csrc / "graphc_abi.h").read_text(),
                          sysconfig.get_config_var("EXT_SUFFIX") or "", sys.version, np.__version__,
                          *_include_dirs()])
    return hashlib.sha256(key_text.encode()).hexdigest()


@lru_cache(maxsize=1)
def call_module() -> ModuleType:
    """The extension module, built on first use (a fraction of a second) and imported."""
    import numpy as np
    from graphc.toolchain.cache import LIBRARY, installation_root, lookup_or_build
    from graphc.toolchain.compiler import run_compiler, toolchain
    source = (resource_dir("csrc") / SOURCE).read_text()
    cc = toolchain().cc
    includes = _include_dirs()

    def build(tmp: Path) -> dict:
        (tmp / SOURCE).write_text(source)
        run_compiler([cc, "-O2", "-g0", "-fPIC", "-shared", "-std=gnu11", *(f"-I{d}" for d in includes),
                      str(tmp / SOURCE), "-o", str(tmp / LIBRARY)])
        return {"module": "_graphc_call", "python": sys.version, "numpy": np.__version__}

    entry, _, _ = lookup_or_build(runtime_key(), build, source=SOURCE, root=installation_root())
    spec = importlib.util.spec_from_file_location("_graphc_call", entry / LIBRARY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
