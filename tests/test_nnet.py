"""softmax, log_softmax and logsumexp against scipy.special; infinities, empty axes, large inputs, gradients."""
import numpy as np
import pytest
import scipy.special as sp

import graphc as gc
from graphc.ops.join import Join
from tests.test_blas import inferred_shape
from tests.utils import assert_close, check_grad, noncontig, rand

# (function name, keyword arguments): one compiled function evaluates them all
CASES = [("softmax", {"axis": -1}), ("softmax", {"axis": 0}), ("softmax", {"axis": (0, 2)}),
         ("log_softmax", {"axis": -1}), ("log_softmax", {"axis": 1}), ("logsumexp", {}),
         ("logsumexp", {"axis": -1}), ("logsumexp", {"axis": (0, 2), "keepdims": True})]


def _naive(kind, x, axis=None, keepdims=False):
    """The textbook formulas: exact enough for small inputs, and defined for empty ones (where scipy raises)."""
    total = np.sum(np.exp(x), axis=axis, keepdims=keepdims or kind != "logsumexp")
    if kind == "softmax":
        return np.exp(x) / total
    with np.errstate(divide="ignore"):
        return np.log(total) if kind == "logsumexp" else x - np.log(total)


def _reference(kind, kwargs, x):
    """scipy's value (the naive one for empty inputs) in numpy's result dtype: floats keep theirs, ints give
    float64."""
    want = getattr(sp, kind)(x, **kwargs) if x.size else _naive(kind, x.astype("float64"), **kwargs)
    return np.asarray(want).astype(x.dtype if x.dtype.kind == "f" else "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_against_scipy(backend, dtype):
    """Every axis form, size-1 and empty dims (an empty reduction gives -inf; softmax of it is empty)."""
    x = gc.tensor("x", dtype, shape=(None, None, None))
    f = gc.function([x], [getattr(gc, kind)(x, **kw) for kind, kw in CASES], backend=backend)
    rng = np.random.default_rng(3)
    for shape in [(2, 3, 4), (1, 1, 1), (3, 1, 2), (0, 2, 3), (2, 0, 3), (0, 0, 0)]:
        for layout in (np.asarray, noncontig):
            xv = layout(rand(shape, dtype, rng, low=-5, high=5))
            for (kind, kw), got in zip(CASES, f(xv)):
                assert_close(got, _reference(kind, kw, xv))


def test_special_values(backend):
    """Rows of -inf, +inf, NaN and huge magnitudes behave as scipy's logsumexp and stay finite otherwise."""
    inf = np.inf
    xv = np.array([[-inf, -inf, -inf], [inf, 1.0, -inf], [1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1e300],
                   [np.nan, 0.0, 1.0], [-inf, 2.0, 3.0]])
    x = gc.matrix("x")
    f = gc.function([x], [gc.logsumexp(x, -1), gc.softmax(x), gc.log_softmax(x)], backend=backend)
    lse, sm, lsm = f(xv)
    assert_close(lse, sp.logsumexp(xv, axis=-1))
    with np.errstate(invalid="ignore"):
        assert_close(sm[2:], sp.softmax(xv[2:], axis=-1))
        assert_close(lsm[2:], sp.log_softmax(xv[2:], axis=-1))
    assert np.isnan(sm[0]).all() and np.isnan(lsm[0]).all()


def test_stable_forms_copy_nothing():
    """The max is seeded with -inf (numpy's ``initial``), so no axis needs a padding copy to allow emptiness."""
    from graphc.graph.basic import toposort
    joins = lambda out: sum(isinstance(n.op, Join) for n in toposort([out]))
    assert joins(gc.softmax(gc.tensor("x", shape=(None, None)))) == 0
    assert joins(gc.logsumexp(gc.tensor("x", shape=(None, 5)), axis=None)) == 0


GRAD_CASES = [
    lambda x, w: (gc.softmax(x) * w).sum(),
    lambda x, w: (gc.softmax(x, axis=0) * w).sum(),
    lambda x, w: (gc.log_softmax(x) * w).sum(),
    lambda x, w: (gc.log_softmax(x, axis=(0, 1)) * w).sum(),
    lambda x, w: (gc.logsumexp(x, axis=-1) * gc.sum(w, axis=1)).sum(),
    lambda x, w: gc.sin(gc.logsumexp(x, axis=None)),
]


@pytest.mark.parametrize("k", range(len(GRAD_CASES)))
def test_grad_finite_differences(backend, k):
    w = gc.constant(rand((3, 4), rng=np.random.default_rng(4)))
    check_grad(lambda x: GRAD_CASES[k](x.T, w), [rand((4, 3))], backend)


def test_grad_large_inputs(backend):
    """Gradients are shift invariant; at +-1000 they stay finite and equal those at the unshifted point."""
    x = gc.matrix("x")
    w = gc.constant(rand((3, 4), rng=np.random.default_rng(5)))
    cost = sum(GRAD_CASES[k](x, w) for k in (0, 2, 4))
    g = gc.function([x], gc.grad(cost, x), backend=backend)
    xv = rand((3, 4))
    base = g(xv)
    for shift in (1000.0, -1000.0):
        shifted = g(xv + shift)
        assert np.isfinite(shifted).all()
        np.testing.assert_allclose(shifted, base, rtol=1e-9, atol=1e-9)


def test_stop_gradient(backend):
    x = gc.vector("x")
    y = gc.stop_gradient(x)
    assert y.type == x.type
    f = gc.function([x], [y, gc.grad((y * x).sum(), x), inferred_shape(y)], backend=backend)
    xv = rand((3,))
    value, grad, shape = f(xv)
    assert list(shape) == [3]
    assert_close(value, xv)
    assert_close(grad, xv)
    with pytest.raises(gc.DisconnectedInputError):
        gc.grad(y.sum(), x)
