"""graphc, C backend, default mode: each workload is one ``gc.function``."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

import graphc as gc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from train_digits import build, cross_entropy  # noqa: E402

from bench.workloads import mlp_loss  # noqa: E402

VERSION = f"{gc.__version__} (c backend)"
m = SimpleNamespace(exp=gc.exp, sin=gc.sin, tanh=gc.tanh, softmax=gc.softmax,
                    logsumexp=lambda a: gc.logsumexp(a, axis=-1),  # its default axis is None, as scipy's
                    cross_entropy=lambda logits, y: cross_entropy(gc.softmax(logits), y))


def setup(variant: str) -> None:
    pass


def compile(fn: Callable[..., Any], arrays: list[np.ndarray], trust: bool = False) -> Callable[[], Any]:
    inputs = [gc.tensor(f"in{i}", str(a.dtype), shape=(None,) * a.ndim) for i, a in enumerate(arrays)]
    f = gc.function(inputs, fn(*inputs))
    f.trust_input = trust
    return lambda: f(*arrays)


def train_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               example: bool = False) -> tuple[Callable[[], Any], Callable[[], list[np.ndarray]]]:
    """The training function as examples/train_digits.py's ``build`` makes it: ``example=True`` calls ``build``
    itself (which also compiles a predictor, so compile times use the same graph made here alone)."""
    shared = [gc.shared(p.copy()) for p in params]
    if example:
        train = build(list(zip(shared[::2], shared[1::2])), lr)[0]
    else:
        xs, ys = gc.matrix("x", dtype="float32"), gc.ivector("y")
        loss = mlp_loss(m, shared, xs, ys)
        train = gc.function([xs, ys], loss, updates=[(v, v - lr * g) for v, g in zip(shared, gc.grad(loss, shared))])
    return lambda: train(x, y), lambda: [v.get_value() for v in shared]


def to_numpy(value: Any) -> np.ndarray:
    return np.asarray(value)
