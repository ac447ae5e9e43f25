"""Helpers for the rewrite tests: compile with and without the optimizer, count ops, compare values."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import graphc as gc
from graphc.graph.basic import Constant
from tests.utils import assert_close

SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5, -2.5, 1e300, -1e-300])
"""Float inputs that catch rewrites which are not exact: NaN, infinities, signed zeros, extremes."""


@pytest.fixture(autouse=True)
def checked(monkeypatch):
    """Every rewrite test re-validates the graph after each pass."""
    monkeypatch.setattr(gc.config, "check_rewrites", 1)


def op_counts(f: gc.Function) -> Counter:
    """How many nodes of each op (as printed) the optimized graph has."""
    return Counter(str(node.op) for node in f.fgraph.toposort())


def constants(f: gc.Function) -> list[Constant]:
    """The distinct Constant objects the optimized graph uses."""
    found = {id(v): v for node in f.fgraph.toposort() for v in node.inputs if isinstance(v, Constant)}
    found.update({id(v): v for v in f.fgraph.outputs if isinstance(v, Constant)})
    return list(found.values())


LATER_PASSES = ["fusion", "gemm", "inplace"]
"""Passes that run after the graph-level rewrites; left out so a test sees the graph the rewrites made."""


def optimized(inputs, outputs, backend: str = "py", exclude=(), **options) -> gc.Function:
    """gc.function with the graph-level rewrites of ``options`` only."""
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    return gc.function(inputs, outputs, backend=backend, exclude=LATER_PASSES + exclude, **options)


def compile_pair(inputs, outputs, backend: str = "py", **options) -> tuple[gc.Function, gc.Function]:
    """(optimized function, the same graph compiled with mode="none")."""
    return optimized(inputs, outputs, backend, **options), gc.function(inputs, outputs, backend=backend, mode="none")


def as_list(result) -> list[np.ndarray]:
    return result if isinstance(result, list) else [result]


def assert_identical(got, want) -> None:
    """Bit-for-bit equality (NaN where NaN, and the sign of every zero), dtype and shape included."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    np.testing.assert_array_equal(got, want)
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def same_values(inputs, outputs, values, backend: str = "py", exact: bool = False, **options) -> gc.Function:
    """Compile with and without rewrites, check both give the same results on ``values``; return the optimized."""
    opt, plain = compile_pair(inputs, outputs, backend, **options)
    for got, want in zip(as_list(opt(*values)), as_list(plain(*values)), strict=True):
        (assert_identical if exact else assert_close)(got, want)
    return opt
