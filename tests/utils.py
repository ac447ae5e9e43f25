"""Shared test helpers: run a graph on a backend, compare with numpy, check gradients numerically."""
from __future__ import annotations

import numpy as np

import graphc as gc

BACKENDS = ["py", "c"]
ALL_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64"]
FLOAT_DTYPES = ["float32", "float64"]


def rand(shape, dtype="float64", rng=None, low=-3, high=3):
    """Random values of any graphc dtype (ints in [low, high), floats uniform)."""
    rng = rng or np.random.default_rng(0)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind == "u":
        return rng.integers(0, max(high, 1), size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(low, high, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def noncontig(a: np.ndarray) -> np.ndarray:
    """The same values as ``a`` in a strided (non-contiguous) view."""
    big = np.empty(tuple(2 * s for s in a.shape) or (), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)] if a.ndim else big
    view[...] = a
    return view


def run(inputs, outputs, values, backend, **kwargs):
    """Compile on ``backend`` and call once."""
    return gc.function(inputs, outputs, backend=backend, **kwargs)(*values)


def assert_close(got, want, dtype=None, rtol=None, atol=None):
    """numpy-oracle comparison: exact for ints/bools, tolerances for floats; dtypes and shapes must match."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != numpy's {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != numpy's {want.shape}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        tol = 1e-5 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol or tol * 10, atol=atol or tol, equal_nan=True)


def numeric_grad(f, values, eps=1e-6):
    """Central finite differences of scalar ``f(*values)`` with respect to every array in ``values``."""
    grads = []
    for k, v in enumerate(values):
        g = np.zeros_like(v, dtype="float64")
        flat = v.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            hi = f(*values)
            flat[i] = old - eps
            lo = f(*values)
            flat[i] = old
            g.reshape(-1)[i] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def check_grad(build, values, backend="py", rtol=1e-5, atol=1e-7):
    """Compare gc.grad of the scalar cost ``build(*vars)`` with finite differences (float64 inputs)."""
    values = [np.array(v, dtype="float64") for v in values]
    xs = [gc.tensor(f"x{i}", "float64", shape=(None,) * v.ndim) for i, v in enumerate(values)]
    cost = build(*xs)
    f = gc.function(xs, cost, backend=backend)
    grads = gc.function(xs, gc.grad(cost, xs), backend=backend)(*values)
    expected = numeric_grad(lambda *a: float(f(*a)), values)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


_FUNCTIONS: dict = {}


def cached(key, backend, build):
    """Build (inputs, outputs, meta) once per (test module, key, backend) in this process and compile it once: one
    build serves every shape and layout a test then feeds it."""
    k = (build.__module__, key, backend)
    if k not in _FUNCTIONS:
        inputs, outputs, meta = build()
        _FUNCTIONS[k] = (gc.function(inputs, outputs, backend=backend), meta)
    return _FUNCTIONS[k]
