"""Dependency pruning, merge (CSE), and StopGradient removal: the rewritten graph, and the same values."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ops.shape import shape
from tests.rewrite_helpers import optimized, checked, constants, op_counts, same_values  # noqa: F401
from tests.utils import rand


# --- prune ---------------------------------------------------------------------------------------------------------
def test_shape_of_a_unary_result_does_not_compute_it():
    x = gc.dmatrix("x")
    y = gc.tanh(gc.exp(x)).T
    f = same_values([x], [y.shape[0], shape(gc.sigmoid(x)), gc.exp(x).shape[1]], [rand((2, 3))])
    assert op_counts(f) == {"ShapeI{1}": 1, "Shape": 1}  # no exp, tanh or sigmoid left to run
    assert f.report().fired("shape_lift") >= 3


def test_static_sizes_of_inputs_become_constants():
    x = gc.tensor("x", "float32", shape=(4, None))
    f = same_values([x], [gc.cos(x).shape[0] * x.shape[1]], [rand((4, 5), "float32")])
    assert op_counts(f) == {"Elemwise{mul}": 1, "ShapeI{1}": 1}
    assert any(c.data == 4 for c in constants(f))


def test_shape_of_a_computation_that_can_fail_keeps_the_computation():
    x, y = gc.dvector("x"), gc.dvector("y")
    f = optimized([x, y], (x + y).shape[0])
    assert op_counts(f)["Elemwise{add}"] == 1
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones(3), np.ones(4))


# --- merge ---------------------------------------------------------------------------------------------------------
def test_identical_computations_merge():
    x, y = gc.dvector("x"), gc.dvector("y")
    out = gc.exp(x + y) * gc.exp(x + y) + gc.sum(x, axis=0) - gc.sum(x, axis=0)
    f = same_values([x, y], out, [rand(3), rand(3)])
    assert op_counts(f) == {"Elemwise{add}": 2, "Elemwise{exp}": 1, "Elemwise{mul}": 1, "Sum{axes=(0,)}": 1,
                            "Elemwise{sub}": 1}
    assert f.report().fired("nodes") == 3


def test_equal_constants_merge_but_not_across_dtypes():
    x = gc.dvector("x")
    a, b = gc.constant(np.array([1.5, 2.5])), gc.constant(np.array([1.5, 2.5]))
    f = same_values([x], [x * a + x * b, x * gc.constant(np.array([1.5, 2.5], "float32"))], [rand(2)],
                    exclude=["canonicalize"])
    values = sorted((c.dtype, tuple(c.data.tolist())) for c in constants(f))
    assert values == [("float32", (1.5, 2.5)), ("float64", (1.5, 2.5))]
    assert op_counts(f)["Elemwise{mul}"] == 2  # x * a and x * b became one node once a and b were one constant


def test_merged_outputs_are_still_separate_arrays(backend):
    x = gc.dvector("x")
    f = optimized([x], [gc.exp(x), gc.exp(x)], backend=backend)
    assert f.fgraph.outputs[0] is f.fgraph.outputs[1]
    first, second = f(np.zeros(2))
    first[0] = 5.0
    np.testing.assert_array_equal(second, [1.0, 1.0])


def test_merge_keeps_updates_right(backend):
    W = gc.shared(np.ones(3), "W")
    x = gc.dvector("x")
    f = optimized([x], gc.exp(x) + W, updates=[(W, W + gc.exp(x))], backend=backend)
    assert op_counts(f)["Elemwise{exp}"] == 1
    out = f(np.zeros(3))
    np.testing.assert_array_equal(out, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(W.get_value(), [2.0, 2.0, 2.0])


# --- StopGradient --------------------------------------------------------------------------------------------------
def test_stop_gradient_is_dropped_after_differentiation():
    x = gc.dvector("x")
    cost = gc.sum(gc.stop_gradient(x * x) * x)
    g = gc.grad(cost, x)
    f = same_values([x], [cost, g], [rand(4)])
    assert "StopGradient" not in op_counts(f)
    np.testing.assert_allclose(f(np.arange(3.0))[1], np.arange(3.0) ** 2)  # d/dx of c * x with c = x*x held fixed
