"""Small regression tests for what the fuzzer found (the program's seed in each docstring)."""
import numpy as np
import pytest

import graphc as gc


def test_max_gradient_over_duplicated_values_counts_them_once(backend):
    """seed 572: max over x[[0, 0]] is x[0]; tied positions share the gradient instead of each taking all of it."""
    x = gc.dvector("x")
    dup = x[np.array([0, 0, 1])]
    cost = gc.sum(gc.max(dup, axis=0) * 3) + gc.sum(gc.min(gc.stack([x, x]), axis=0))
    got = gc.function([x], gc.grad(cost, x), backend=backend)(np.array([2.0, 1.0]))
    np.testing.assert_allclose(got, [4.0, 1.0])


def test_set_subtensor_gradient_reaches_only_the_last_write(backend):
    """seed 513913: with repeated indices only the last write to a position reaches the output, so only it (and
    the value elements it came from) gets a gradient; a broadcast value counts each surviving write."""
    x, y, s = gc.dvector("x"), gc.dvector("y"), gc.dscalar("s")
    idx = np.array([0, 2, 0, 0])
    out = gc.set_subtensor(x[idx], y) * 2 + gc.set_subtensor(x[np.array([1, 1])], s)
    f = gc.function([x, y, s], gc.grad(gc.sum(out * np.arange(1.0, 4.0)), [x, y, s]), backend=backend)
    gx, gy, gs = f(np.zeros(3), np.ones(4), np.float64(1))
    np.testing.assert_allclose(gx, [1.0, 4.0, 3.0])     # each set overwrites what the other passes through
    np.testing.assert_allclose(gy, [0.0, 6.0, 0.0, 2.0])
    np.testing.assert_allclose(gs, 2.0)


def test_multiply_add_is_rounded_twice_as_in_numpy(backend):
    """seed 7378015610648672380: a*b - a compiled to a fused multiply-subtract differed from numpy in the last bit;
    generated C is built with -ffp-contract=off."""
    a, b = gc.dvector("a"), gc.dvector("b")
    av = np.array([0.4307128483332099, 0.1, 1 / 3])
    bv = np.array([0.34829313192414646, 0.7, 3.0])
    got = gc.function([a, b], [b * a - a, a * b + b * b], backend=backend)(av, bv)
    np.testing.assert_array_equal(got[0], bv * av - av)
    np.testing.assert_array_equal(got[1], av * bv + bv * bv)


def test_signed_zeros_tie_as_in_numpy(backend):
    """seed 6324500536866825076: minimum(-0.0, 0) gave -0.0. numpy's maximum/minimum give the second operand on a
    tie, its max/min reductions the later element, and its clip x itself."""
    a, b = gc.dvector("a"), gc.dvector("b")
    av, bv = np.array([-0.0, 0.0, -0.0, 0.0]), np.array([0.0, -0.0, -0.0, 0.0])
    outs = [gc.maximum(a, b), gc.minimum(a, b), gc.max(a), gc.min(gc.stack([a, b]), axis=0), gc.clip(a, 0.0, 1.0),
            gc.clip(a, -1.0, -0.0), gc.relu(a), gc.minimum(a, 0)]
    want = [np.maximum(av, bv), np.minimum(av, bv), np.max(av), np.min(np.stack([av, bv]), axis=0),
            np.clip(av, 0.0, 1.0), np.clip(av, -1.0, -0.0), np.maximum(av, 0.0), np.minimum(av, 0)]
    for k, (g, w) in enumerate(zip(gc.function([a, b], outs, backend=backend)(av, bv), want)):
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w), err_msg=f"output {k}")


def test_integer_power_inside_a_fused_reduction(backend):
    """seed 427812250986738824: sum(x_int8 ** 2) fused into the reduction did not compile (its error flag was
    undeclared); a negative exponent there raises as it does elsewhere."""
    x, y = gc.bvector("x"), gc.bvector("y")
    f = gc.function([x, y], [gc.sum(x ** 2), gc.sum(x ** y, axis=0)], backend=backend)
    xv = np.array([3, -4, 100], "int8")
    got = f(xv, np.array([1, 2, 3], "int8"))
    assert got[0] == np.sum(xv ** 2) and got[1] == np.sum(xv ** np.array([1, 2, 3], "int8"))
    with pytest.raises(ValueError, match="negative integer powers"):
        f(xv, np.array([1, -1, 2], "int8"))


def test_inc_subtensor_with_a_value_broadcast_over_a_2d_repeated_index_adds_every_time(backend):
    """seed 1513358432208818060: inc_subtensor(x[[[0, 1], [-2, -1]]], x) on a length-2 x adds x twice, as a loop
    of single additions does; numpy 2.4's np.add.at (the reference) added it once when the value is broadcast."""
    x = gc.dvector("x")
    out = gc.inc_subtensor(gc.transpose(x, (0,))[(np.array([[0, 1], [-2, -1]]),)], x) ** 3
    value = np.array([0.03204887763183395, 9.0, -0.3841197748106602])[::2]
    np.testing.assert_allclose(gc.function([x], out, backend=backend)(value), (3 * value) ** 3)


def test_a_fused_output_that_skips_an_empty_input_is_still_computed(backend):
    """seed 1184491467055973981 (run 2): in one fused kernel, ``x1 - lt(x0, x2)`` with x1 of shape (0, 3) made the
    shared loop empty, so ``lt(x0, x2)`` of shape (1, 3), also an output, was never written (garbage came back)."""
    x0, x1, x2 = gc.fvector("x0"), gc.lmatrix("x1"), gc.imatrix("x2")
    less = gc.lt(x0, x2)
    f = gc.function([x0, x1, x2], [x1 - less, less, gc.exp(x0) * x2], backend=backend)
    a = np.array([0.673, -1.879, 0.909], np.float32)
    b = np.array([[1, 2147483647, -2]], np.int32)
    diff, got, scaled = f(a, np.zeros((0, 3), np.int64), b)
    assert diff.shape == (0, 3)
    np.testing.assert_array_equal(got, np.less(a, b))
    np.testing.assert_allclose(scaled, np.exp(a) * b, rtol=1e-6)


def test_dot_with_a_scalar_is_multiply_even_for_a_zero_times_nan(backend):
    """seed 4938987469017340906 (run 3): numpy documents dot with a 0-d operand as multiply, so 0 * NaN is NaN;
    np.dot itself (BLAS scaling by zero) returns 0 there, and the fuzzer's reference now follows the documentation."""
    s, v = gc.dscalar("s"), gc.dvector("v")
    got = gc.function([s, v], gc.dot(s, v), backend=backend)(np.float64(0.0), np.array([np.nan, 1.0]))
    np.testing.assert_array_equal(np.isnan(got), [True, False])
    np.testing.assert_array_equal(got[1], 0.0)
