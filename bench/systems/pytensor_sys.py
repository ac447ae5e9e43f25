"""PyTensor, Theano's successor, with symbolic graphs, gradients and updates as graphc has them. Two variants:
"pytensor" is its default mode (FAST_RUN with the "auto" linker, which PyTensor 3 maps to Numba) and
"pytensor-c" its C backend, mode="CVM" (FAST_RUN rewrites, the C virtual machine linking per-op C modules)."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pytensor
import pytensor.tensor as pt

from bench.workloads import mlp_loss

VERSION = pytensor.__version__
MODE: str | None = None
"""None: PyTensor's default mode; "CVM": the C backend."""


def _cross_entropy(logits: Any, y: Any) -> Any:
    return -pt.mean(pt.special.log_softmax(logits, axis=-1)[pt.arange(y.shape[0]), y])


m = SimpleNamespace(exp=pt.exp, sin=pt.sin, tanh=pt.tanh, softmax=lambda a: pt.special.softmax(a, axis=-1),
                    logsumexp=lambda a: pt.logsumexp(a, axis=-1), cross_entropy=_cross_entropy)


def setup(variant: str) -> None:
    global MODE, VERSION
    MODE = "CVM" if variant == "pytensor-c" else None
    if MODE:
        # without BLAS flags PyTensor's C GEMM falls back to numpy's C API: worth saying next to its times
        blas = "BLAS linked" if pytensor.config.blas__ldflags else "no BLAS linked, GEMM through numpy"
        VERSION = f"{pytensor.__version__} (mode=CVM, {blas})"
    else:
        linker = type(pytensor.compile.mode.get_default_mode().linker).__name__.removesuffix("Linker")
        VERSION = f"{pytensor.__version__} (default mode: {linker} linker)"


def compile(fn: Callable[..., Any], arrays: list[np.ndarray], trust: bool = False) -> Callable[[], Any]:
    inputs = [pt.tensor(f"in{i}", dtype=str(a.dtype), shape=(None,) * a.ndim) for i, a in enumerate(arrays)]
    f = pytensor.function(inputs, fn(*inputs), mode=MODE)
    f.trust_input = trust
    return lambda: f(*arrays)


def train_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               example: bool = False) -> tuple[Callable[[], Any], Callable[[], list[np.ndarray]]]:
    shared = [pytensor.shared(p.copy()) for p in params]
    xs, ys = pt.matrix("x", dtype="float32"), pt.ivector("y")
    loss = mlp_loss(m, shared, xs, ys)
    updates = [(v, v - np.float32(lr) * g) for v, g in zip(shared, pytensor.grad(loss, shared))]
    train = pytensor.function([xs, ys], loss, updates=updates, mode=MODE)
    return lambda: train(x, y), lambda: [v.get_value() for v in shared]


def to_numpy(value: Any) -> np.ndarray:
    return np.asarray(value)
