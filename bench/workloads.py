"""The workloads, written once: sizes, inputs, and the math every system runs through its own namespace ``m``
(``m.exp``, ``m.softmax``, ``m.cross_entropy``, ...), so the systems differ only where their APIs do."""
from __future__ import annotations

from typing import Any

import numpy as np

N = 10_000_000
"""Elements of each elementwise input: 40 MB of float32, far beyond any cache."""
ROWS = 4096
"""Softmax and logsumexp run over the rows of a ROWS x ROWS float32 matrix."""
MLP = (784, 512, 10)
MLP_BATCH = 256
DIGITS = (64, 128, 10)
DIGITS_BATCH = 32
LR = 0.1

ELEMWISE_BYTES = 16
"""Bytes per element an elementwise workload must move: three float32 inputs read, one output written."""
ROWWISE_BYTES = {"softmax": 8, "logsumexp": 4}
"""Bytes per matrix element: softmax reads it and writes one output; logsumexp only reads it."""


def transcendental(m: Any, x: Any, y: Any, z: Any) -> Any:
    """Compute-heavy: three transcendental functions per element."""
    return m.exp(-x * x) * m.sin(y) + 0.5 * z * m.tanh(x)


def arithmetic(m: Any, x: Any, y: Any, z: Any) -> Any:
    """Memory-bound: seven + - * / ops over three inputs, nothing but bandwidth once fused."""
    return ((x + y) * z - x / (y + 2.0)) * 0.5 + z


def softmax(m: Any, a: Any) -> Any:
    return m.softmax(a)


def logsumexp(m: Any, a: Any) -> Any:
    return m.logsumexp(a)


def add(m: Any, x: Any, y: Any) -> Any:
    """The call-overhead probe: on 1-element vectors nothing but the call is left to time."""
    return x + y


def mlp_loss(m: Any, params: list, x: Any, y: Any) -> Any:
    """tanh hidden layers, softmax cross-entropy: the loss examples/train_digits.py's ``build`` compiles."""
    h = x
    for k in range(0, len(params), 2):
        h = h @ params[k] + params[k + 1]
        if k + 2 < len(params):
            h = m.tanh(h)
    return m.cross_entropy(h, y)


def elemwise_inputs(seed: int = 0) -> list[np.ndarray]:
    """x, y, z uniform in [-1, 1): y + 2 never comes near 0."""
    rng = np.random.default_rng(seed)
    return [rng.random(N, dtype=np.float32) * 2 - 1 for _ in range(3)]


def matrix_input(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((ROWS, ROWS), dtype=np.float32) * 4


def mlp_problem(sizes: tuple[int, ...], batch: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Glorot weights and zero biases as train_digits.py draws them ([W0, b0, W1, b1]), and a random batch. The
    step's time does not depend on the values, so the digits step runs on random standardized features too
    (loading scikit-learn's data set would add a second to every worker process)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from train_digits import glorot

    rng = np.random.default_rng(seed)
    params: list[np.ndarray] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [glorot(rng, n_in, n_out), np.zeros(n_out, np.float32)]
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    return params, x, y


def mismatch(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> str | None:
    """None when ``got`` is ``want`` to the tolerance (and float32, like the inputs), else what differs."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if got.dtype != np.float32:
        return f"dtype {got.dtype}, not float32"
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        return f"{bad.sum()} elements differ, e.g. [{i}] {got.flat[i]!r} != {want.flat[i]!r}"
    return None
