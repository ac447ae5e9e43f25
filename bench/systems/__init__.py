"""The systems under test. Each module imports its library at the top (so an ImportError means "not installed")
and exposes the same four things:

- ``m``: the namespace the workloads' math is written against (exp, sin, tanh, softmax, logsumexp, cross_entropy);
- ``compile(fn, arrays, trust=False)``: ``fn`` compiled for inputs shaped like ``arrays``, as a thunk that runs it
  once on them and returns the result, finished (``trust=True``: the unchecked call, or None where there is none);
- ``train_step(params, x, y, lr, example=False)``: one compiled SGD step of ``workloads.mlp_loss`` that replaces
  the parameters with the updated ones, as a thunk returning the loss, and a function returning the parameters as
  numpy arrays (``example=True``: made by the digits example's own code, where the system has one);
- ``to_numpy(value)``.
"""
from __future__ import annotations

import importlib
from types import ModuleType

SYSTEMS: dict[str, tuple[str, str]] = {
    # key: (label, module); the key is also the variant a module's ``setup`` receives
    "graphc": ("graphc", "graphc_sys"),
    "numpy": ("numpy", "numpy_sys"),
    "pytensor": ("PyTensor", "pytensor_sys"),
    "pytensor-c": ("PyTensor C", "pytensor_sys"),
    "jax": ("JAX jit", "jax_sys"),
    "torch": ("torch.compile", "torch_sys"),
}
COMPILED = [k for k in SYSTEMS if k != "numpy"]


def load(key: str) -> ModuleType:
    """The system's module, set up for ``key``'s variant; ImportError when its library is not installed."""
    module = importlib.import_module(f"bench.systems.{SYSTEMS[key][1]}")
    module.setup(key)
    return module
