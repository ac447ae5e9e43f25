"""Constant folding and algebraic simplification: what is rewritten, what must not be, and identical values."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.graph.basic import Constant
from graphc.rewrite.fold import MAX_ELEMENTS
from tests.rewrite_helpers import optimized, SPECIAL, checked, constants, op_counts, same_values  # noqa: F401
from tests.utils import rand


# --- constant folding ----------------------------------------------------------------------------------------------
def test_constant_subexpressions_fold():
    x = gc.dvector("x")
    scale = gc.exp(gc.constant(np.array([0.0, 1.0]))) * 2.0 + gc.sum(gc.constant(np.arange(4.0)))
    f = same_values([x], x * scale, [rand(2)])
    assert op_counts(f) == {"Elemwise{mul}": 1}
    folded = [c for c in constants(f) if c.data.shape == (2,)]
    np.testing.assert_array_equal(folded[0].data, np.exp([0.0, 1.0]) * 2.0 + 6.0)


def test_folding_keeps_numpy_integer_semantics(backend):
    a = gc.constant(np.array([100, -128], "int8"))
    x = gc.bvector("x")
    f = same_values([x], x + (a + a) // gc.constant(np.array([3, 0], "int8")), [np.array([1, 2], "int8")],
                    backend=backend, exact=True)
    assert op_counts(f) == {"Elemwise{add}": 1}


def test_huge_constants_are_not_materialised():
    x = gc.dmatrix("x")
    small = gc.zeros((50, 50)) + 1.0
    big = gc.zeros((MAX_ELEMENTS + 1, 1)) + 1.0
    f = optimized([x], [x + small, gc.sum(big)])
    assert op_counts(f) == {"Elemwise{add}": 2, "Alloc": 1, "Sum{axes=(0, 1)}": 1}
    assert max(c.data.size for c in constants(f)) == 2500


def test_failing_constant_computations_fail_at_run_time():
    bad = gc.reshape(gc.constant(np.arange(6.0)), (4,))
    f = optimized([], bad)
    assert op_counts(f) == {"Reshape{1}": 1}
    with pytest.raises(ValueError, match="reshape"):
        f()


def test_nothing_that_depends_on_an_input_is_folded():
    x = gc.dscalar("x")
    f = same_values([x], gc.exp(x) + gc.exp(gc.constant(1.0)), [np.float64(0.5)])
    assert op_counts(f) == {"Elemwise{exp}": 1, "Elemwise{add}": 1}


# --- elementwise identities ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [lambda x: x * 1.0, lambda x: 1.0 * x, lambda x: x - 0.0, lambda x: x + -0.0,
                                   lambda x: -(-x), lambda x: gc.where(gc.constant(True), x, 0.0)])
def test_identities_vanish_and_keep_every_bit(build, backend):
    x = gc.dvector("x")
    f = same_values([x], build(x), [SPECIAL], backend=backend, exact=True)
    assert op_counts(f) == {}


def test_converting_identities_become_casts():
    i, b = gc.ivector("i"), gc.bvector("b")
    values = [np.array([-3, 0, 2**31 - 1], "int32"), np.array([-128, 0, 127], "int8")]
    f = same_values([i, b], [i * 1.0, b + 0, gc.cast(b, "bool") * 1, i - gc.constant(np.float32(0.0))], values,
                    exact=True)
    assert op_counts(f) == {"Elemwise{cast[float64]}": 1, "Elemwise{cast[bool]}": 1, "Elemwise{cast[int64]}": 1}


@pytest.mark.parametrize("build", [lambda x: x + 0.0, lambda x: x - (-0.0), lambda x: x * 0.0, lambda x: x - x,
                                   lambda x: x / x, lambda x: gc.exp(gc.log(x)), lambda x: x * gc.constant(np.ones(3))])
def test_unsafe_float_identities_are_left_alone(build):
    x = gc.dvector("x")
    before = op_counts(optimized([x], build(x), mode="none"))
    f = same_values([x], build(x), [np.array([-0.0, np.inf, np.nan])], exact=True)
    assert op_counts(f) == before


def test_integer_self_subtraction_is_zero_but_division_is_not_one():
    x = gc.ivector("x")
    f = same_values([x], [x - x, x / x, x // x], [np.array([0, 5, -2**31], "int32")], exact=True)
    assert op_counts(f)["Elemwise{sub}"] == 0 and op_counts(f)["Alloc"] == 1
    assert op_counts(f)["Elemwise{true_div}"] == 1 and op_counts(f)["Elemwise{floor_div}"] == 1


def test_log_of_exp_is_the_argument():
    x = gc.fvector("x")
    f = same_values([x], gc.log(gc.exp(x)), [np.array([-3.0, 0.5, 2.0], "float32")])
    assert op_counts(f) == {}
    assert f(np.array([100.0, -200.0], "float32")).tolist() == [100.0, -200.0]  # naive: inf, -inf


# --- shapes ----------------------------------------------------------------------------------------------------------
def test_double_transpose_vanishes_and_dimshuffle_chains_compose():
    x = gc.dtensor3("x")
    f = same_values([x], [x.T.T, gc.expand_dims(x.transpose(2, 0, 1), 0).transpose(1, 0, 2, 3)],
                    [rand((2, 3, 4))], exact=True)
    assert op_counts(f) == {"DimShuffle{(2,x,0,1)}": 1}


def test_reshape_of_a_flatten_is_one_reshape(backend):
    x = gc.dmatrix("x")
    f = same_values([x], x.flatten().reshape((3, 2)), [rand((2, 3))], backend=backend, exact=True)
    assert op_counts(f) == {"Reshape{2}": 1}


def test_reshape_chain_that_may_fail_is_kept():
    x = gc.dvector("x")
    y = x.reshape((2, -1)).reshape((-1,))
    f = optimized([x], y)
    assert op_counts(f) == {"Reshape{2}": 1, "Reshape{1}": 1}
    with pytest.raises(ValueError, match="reshape"):
        f(np.ones(5))


@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_of_a_broadcast_is_a_product(keepdims, backend):
    v, z = gc.dvector("v"), gc.dmatrix("z")
    y = gc.sum(gc.broadcast_to(v, (z.shape[0], z.shape[1], v.shape[0])), axis=(0, 1), keepdims=keepdims)
    f = same_values([v, z], y, [np.array([1.5, np.inf, np.nan]), np.ones((4, 3))], backend=backend)
    assert not any(name.startswith("Sum") for name in op_counts(f))
    empty = f(np.array([1.5, np.inf, np.nan]), np.ones((0, 3)))
    np.testing.assert_array_equal(empty.reshape(-1), [0.0, 0.0, 0.0])  # an empty sum, not inf * 0


def test_sum_of_a_broadcast_along_a_real_axis_is_kept():
    m, z = gc.dmatrix("m"), gc.dmatrix("z")
    y = gc.sum(gc.broadcast_to(m, (z.shape[0], 3, 2)), axis=1)
    f = same_values([m, z], y, [rand((3, 2)), rand((4, 1))])
    assert op_counts(f)["Sum{axes=(1,)}"] == 1


def test_a_folded_output_keeps_its_type():
    out = gc.exp(gc.constant(np.float32(0.0)))
    f = optimized([], out)
    assert isinstance(f.fgraph.outputs[0], Constant) and f().dtype == np.float32 and f() == 1.0
