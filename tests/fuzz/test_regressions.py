"""Small regression tests for what the fuzzer found (the program's seed in each docstring)."""
import numpy as np

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
