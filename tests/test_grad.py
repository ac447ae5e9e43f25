"""gc.grad against central finite differences (float64) on both backends, and grad's errors.

Every differentiable elementwise op, the reductions (sum, prod with zeros, max, min, mean) and the shape ops
(reshape, transpose, dimshuffle, alloc/broadcast_to, runtime broadcasting through sum_to). To keep the number of
compiled graphs small, each group is one cost with one input per op (so each input's gradient tests one op), and
the cost and all its gradients are one compiled function."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from tests.utils import numeric_grad

_FUNCTIONS: dict = {}


_NUMERIC: dict = {}


def finite_differences(key, terms, names, values):
    """Central differences of each term with respect to its own inputs, from the numpy reference backend (one small
    function per term, so each evaluation is cheap and a large term elsewhere adds no rounding noise)."""
    if key not in _NUMERIC:
        out = []
        for n, vs in zip(names, values):
            xs = [gc.tensor(f"{n}{i}", "float64", shape=(None,) * v.ndim) for i, v in enumerate(vs)]
            f = gc.function(xs, terms[n][1](*xs), backend="py")
            out.append(numeric_grad(lambda *a: float(f(*a)), [v.copy() for v in vs]))
        _NUMERIC[key] = out
    return _NUMERIC[key]


def check_group(key, terms, backend, rtol=1e-5, atol=1e-7):
    """``terms``: name -> (values, build), where build maps that term's input variables to a scalar cost term.
    The cost is the sum of the terms (one compiled function for the cost and all its gradients); every input's
    gradient is compared with finite differences of its own term."""
    names = list(terms)
    values = [[np.array(v, dtype="float64") for v in terms[n][0]] for n in names]
    flat_values = [v for vs in values for v in vs]
    k = (key, backend)
    if k not in _FUNCTIONS:
        xs = [[gc.tensor(f"{n}{i}", "float64", shape=(None,) * v.ndim) for i, v in enumerate(vs)]
              for n, vs in zip(names, values)]
        cost = None
        for n, group in zip(names, xs):
            term = terms[n][1](*group)
            assert term.ndim == 0, n
            cost = term if cost is None else cost + term
        flat = [x for group in xs for x in group]
        _FUNCTIONS[k] = gc.function(flat, gc.grad(cost, flat), backend=backend)
    got = iter(_FUNCTIONS[k](*flat_values))
    for n, vs, want in zip(names, values, finite_differences(key, terms, names, values)):
        for i, (v, w) in enumerate(zip(vs, want)):
            g = next(got)
            assert g.shape == v.shape and g.dtype == np.float64, (n, i)
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"d cost / d {n} input {i} ({backend})")


def _rng(seed):
    return np.random.default_rng(seed)


def away(rng, shape, low, high, gap=0.15):
    """Uniform values in [low, high) at least ``gap`` away from 0 (the kink of abs, relu, sign)."""
    v = rng.uniform(low, high, size=shape)
    return np.where(np.abs(v) < gap, np.copysign(gap, v) + v, v)


def weights(shape, seed):
    """A fixed, non-uniform weighting so that gradients differ element by element."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


def wsum(y, seed):
    shape = tuple(1 if s is None else s for s in y.type.shape)
    if any(s is None for s in y.type.shape):
        return (y * y).sum() * 0.5 + y.sum()          # shape unknown statically: a non-linear, non-uniform cost
    return (y * weights(shape, seed)).sum()


# --- elementwise -----------------------------------------------------------------------------------------
def unary_terms():
    r = _rng(0)
    s = (3, 4)
    W = lambda k: weights(s, k)  # noqa: E731
    return {
        "neg": ([r.uniform(-2, 2, s)], lambda x: (gc.neg(x) * W(1)).sum()),
        "abs": ([away(r, s, -2, 2)], lambda x: (gc.abs(x) * W(2)).sum()),
        "sign": ([away(r, s, -2, 2)], lambda x: (gc.sign(x) * W(3)).sum() + x.sum()),
        "exp": ([r.uniform(-2, 2, s)], lambda x: (gc.exp(x) * W(4)).sum()),
        "log": ([r.uniform(0.5, 3, s)], lambda x: (gc.log(x) * W(5)).sum()),
        "log1p": ([r.uniform(-0.5, 3, s)], lambda x: (gc.log1p(x) * W(6)).sum()),
        "expm1": ([r.uniform(-2, 2, s)], lambda x: (gc.expm1(x) * W(7)).sum()),
        "sqrt": ([r.uniform(0.5, 3, s)], lambda x: (gc.sqrt(x) * W(8)).sum()),
        "sin": ([r.uniform(-3, 3, s)], lambda x: (gc.sin(x) * W(9)).sum()),
        "cos": ([r.uniform(-3, 3, s)], lambda x: (gc.cos(x) * W(10)).sum()),
        "tanh": ([r.uniform(-2, 2, s)], lambda x: (gc.tanh(x) * W(11)).sum()),
        "sigmoid": ([r.uniform(-4, 4, s)], lambda x: (gc.sigmoid(x) * W(12)).sum()),
        "softplus": ([r.uniform(-4, 4, s)], lambda x: (gc.softplus(x) * W(13)).sum()),
        "relu": ([away(r, s, -2, 2)], lambda x: (gc.relu(x) * W(14)).sum()),
        "square": ([r.uniform(-2, 2, s)], lambda x: (gc.square(x) * W(15)).sum()),
        "weak_scalars": ([r.uniform(0.5, 2, s)], lambda x: (x * 2.0 + (3 - x) ** 2 + 2 ** x + x / 4).sum()),
        "cast_f32_roundtrip": ([r.uniform(-2, 2, s)],
                               lambda x: (gc.cast(gc.cast(x, "float32"), "float64") * 0 + x * W(16)).sum()),
        "floor_div": ([r.uniform(0.2, 0.8, s) + r.integers(-3, 3, s)],
                      lambda x: (gc.floor_div(x, 1.0) * W(17)).sum() + (x * W(18)).sum()),
        "chain": ([r.uniform(0.5, 2, s)], lambda x: gc.log(gc.sigmoid(gc.sqrt(x)) + gc.exp(-x)).sum()),
    }


def test_grad_unary(backend):
    check_group("unary", unary_terms(), backend)


def binary_terms():
    r = _rng(1)
    s = (3, 4)
    x = lambda: r.uniform(-2, 2, s)  # noqa: E731
    # mod and floor_div: quotients kept away from integers, where they jump
    y_mod = r.uniform(0.5, 2, s) * np.where(r.random(s) > 0.5, 1, -1)
    x_mod = (r.integers(-3, 3, s) + r.uniform(0.2, 0.8, s)) * y_mod
    a = r.uniform(-2, 2, s)
    b = a + np.where(r.random(s) > 0.5, 1, -1) * r.uniform(0.2, 1, s)        # never equal to a
    lo, hi = r.uniform(-1.5, -0.5, s), r.uniform(0.5, 1.5, (4,))
    xc = r.uniform(-2.5, 2.5, s)
    xc = np.where(np.minimum(np.abs(xc - lo), np.abs(xc - hi)) < 0.1, 0.0, xc)  # away from the clip bounds
    cond = r.random(s) > 0.5
    return {
        "add_bcast_vector": ([x(), r.uniform(-2, 2, (4,))], lambda p, q: wsum(gc.add(p, q), 1)),
        "sub_runtime_bcast_col": ([x(), r.uniform(-2, 2, (3, 1))], lambda p, q: wsum(gc.sub(p, q), 2)),
        "mul_runtime_bcast_row": ([r.uniform(-2, 2, (1, 4)), x()], lambda p, q: wsum(gc.mul(p, q), 3)),
        "mul_both_directions": ([r.uniform(-2, 2, (3, 1)), r.uniform(-2, 2, (1, 4))], lambda p, q: wsum(p * q, 4)),
        "true_div": ([x(), away(r, s, -2, 2, gap=0.5)], lambda p, q: wsum(gc.true_div(p, q), 5)),
        "pow": ([r.uniform(0.5, 2, s), r.uniform(-2, 2, s)], lambda p, q: wsum(gc.pow(p, q), 6)),
        "maximum": ([a, b], lambda p, q: wsum(gc.maximum(p, q), 7)),
        "minimum": ([a.copy(), b.copy()], lambda p, q: wsum(gc.minimum(p, q), 8)),
        "mod": ([x_mod, y_mod], lambda p, q: wsum(gc.mod(p, q), 9)),
        "floor_div_xy": ([x_mod.copy(), y_mod.copy()], lambda p, q: wsum(gc.floor_div(p, q) + p * q, 10)),
        "where": ([x(), x()], lambda p, q: wsum(gc.where(cond, p, q * 2), 11)),
        "clip_tensor_bounds": ([xc, lo, hi], lambda p, l, h: wsum(gc.clip(p, l, h), 12)),
        "clip_scalar_bounds": ([xc.copy()], lambda p: wsum(gc.clip(p, -1.0, 1.0), 13)),
        "same_input_twice": ([x()], lambda p: wsum(p * p + gc.maximum(p, p * 0.5 - 3), 14)),
    }


def test_grad_binary(backend):
    check_group("binary", binary_terms(), backend)


# --- reductions --------------------------------------------------------------------------------------------
def reduce_terms():
    r = _rng(2)
    s = (3, 4, 5)
    with_zeros = r.uniform(0.5, 1.5, s) * np.where(r.random(s) > 0.5, 1, -1)
    with_zeros[0, 0, 1] = 0.0                      # one zero in a row
    with_zeros[1, 2, 0] = with_zeros[1, 2, 3] = 0.0  # two zeros in a row
    distinct = r.permutation(60).reshape(s) * 0.1 - 3    # no ties, so max/min have one winner
    return {
        "sum_all": ([r.uniform(-2, 2, s)], lambda x: gc.sum(x * x)),
        "sum_axis0": ([r.uniform(-2, 2, s)], lambda x: wsum(gc.sum(gc.sin(x), axis=0), 1)),
        "sum_axes_keepdims": ([r.uniform(-2, 2, s)], lambda x: wsum(gc.sum(gc.exp(x), axis=(0, 2), keepdims=True), 2)),
        "sum_negative_axis": ([r.uniform(-2, 2, s)], lambda x: wsum(gc.sum(x * x, axis=-1), 3)),
        "mean_axis1": ([r.uniform(-2, 2, s)], lambda x: wsum(gc.mean(x ** 3, axis=1), 4)),
        "mean_all": ([r.uniform(-2, 2, s)], lambda x: gc.mean(gc.tanh(x))),
        "prod_axis_with_zeros": ([with_zeros], lambda x: wsum(gc.prod(x, axis=1), 5)),
        "prod_last_axis_with_zeros": ([with_zeros.copy()], lambda x: wsum(gc.prod(x, axis=-1, keepdims=True), 6)),
        "prod_all_no_zeros": ([r.uniform(0.8, 1.2, s)], lambda x: gc.prod(x)),
        "prod_all_one_zero": ([np.array([[1.5, -2.0, 0.0], [0.5, 3.0, -1.0]])], lambda x: gc.prod(x) * 2),
        "prod_all_two_zeros": ([np.array([[1.5, 0.0, 2.0], [0.5, 0.0, -1.0]])], lambda x: gc.prod(x * 1.5)),
        "max_axis": ([distinct], lambda x: wsum(gc.max(x, axis=1), 7)),
        "max_all": ([distinct.copy()], lambda x: gc.max(x) * 3),
        "min_axis_keepdims": ([distinct.copy()], lambda x: wsum(gc.min(x, axis=(0, 2), keepdims=True), 8)),
        "max_of_computed": ([distinct.copy() / 3], lambda x: gc.max(gc.exp(x), axis=None)),
    }


def test_grad_reductions(backend):
    check_group("reduce", reduce_terms(), backend)


# --- shape ops ---------------------------------------------------------------------------------------------
def shape_terms():
    r = _rng(3)
    s = (3, 4)
    return {
        "reshape_flat": ([r.uniform(-2, 2, s)], lambda x: wsum(gc.sin(x.reshape((-1,))), 1) + (x * 0).sum()),
        "reshape_2_6": ([r.uniform(-2, 2, s)], lambda x: (x.reshape((2, -1)) * weights((2, 6), 2)).sum()),
        "reshape_symbolic": ([r.uniform(-2, 2, s)], lambda x: wsum(x.reshape((x.shape[1], x.shape[0])) ** 2, 3)),
        "transpose": ([r.uniform(-2, 2, s)], lambda x: (x.T * weights((4, 3), 4)).sum()),
        "transpose_3d": ([r.uniform(-2, 2, (2, 3, 4))],
                         lambda x: (x.transpose(2, 0, 1) * weights((4, 2, 3), 5)).sum()),
        "dimshuffle_x": ([r.uniform(-2, 2, s)], lambda x: (x.dimshuffle(1, "x", 0) * weights((4, 2, 3), 6)).sum()),
        "expand_squeeze": ([r.uniform(-2, 2, s)],
                           lambda x: (gc.squeeze(gc.expand_dims(x, 1), 1) * weights(s, 7)).sum() + wsum(x, 0)),
        "alloc": ([r.uniform(-2, 2, (4,))], lambda v: (gc.alloc(v, (3, v.shape[0])) * weights(s, 8)).sum()),
        "broadcast_to": ([r.uniform(-2, 2, (1, 4))],
                         lambda v: (gc.broadcast_to(v, (2, 3, v.shape[1])) * weights((2, 3, 4), 9)).sum()),
        "runtime_bcast_row": ([r.uniform(-2, 2, (1, 4)), r.uniform(-2, 2, s)],
                              lambda p, q: ((p + q) ** 2 * weights(s, 10)).sum()),
        "runtime_bcast_col": ([r.uniform(-2, 2, (3, 1)), r.uniform(-2, 2, s)],
                              lambda p, q: (gc.exp(p * q) * weights(s, 11)).sum()),
        "runtime_bcast_1x1": ([r.uniform(-2, 2, (1, 1)), r.uniform(-2, 2, s)],
                              lambda p, q: (p * q * weights(s, 12)).sum()),
        "mean_of_reshape": ([r.uniform(-2, 2, (2, 6))], lambda x: gc.mean(x.reshape((3, 4)).T * weights((4, 3), 13))),
    }


def test_grad_shape_ops(backend):
    check_group("shape", shape_terms(), backend)


def test_grad_float32_dtypes():
    """Gradients have the dtype of the variable they are taken with respect to."""
    x = gc.fmatrix("x")
    y = gc.dvector("y")
    cost = (x * 2.0).sum() + gc.sum(x * y)            # float32 * float64 -> float64 cost
    gx, gy = gc.grad(cost, [x, y])
    assert (gx.dtype, gy.dtype) == ("float32", "float64")
    assert gc.grad(gc.sum(x), x).dtype == "float32"
    for backend in ("py", "c"):
        f = gc.function([x, y], [gx, gy], backend=backend)
        xv, yv = np.ones((2, 3), "float32"), np.arange(3.0)
        got_x, got_y = f(xv, yv)
        np.testing.assert_allclose(got_x, np.broadcast_to(2 + yv, (2, 3)).astype("float32"))
        assert got_x.dtype == np.float32
        np.testing.assert_allclose(got_y, xv.sum(axis=0))


# --- errors ----------------------------------------------------------------------------------------------------
def test_grad_errors():
    x = gc.dmatrix("x")
    y = gc.dvector("y")
    i = gc.lmatrix("i")
    with pytest.raises(TypeError, match="scalar"):
        gc.grad(x * 2, x)                                  # non-scalar cost
    with pytest.raises(TypeError, match="scalar"):
        gc.grad(x.sum(axis=0), x)
    with pytest.raises(TypeError):
        gc.grad(gc.sum(i), i)                              # integer cost
    with pytest.raises(TypeError):
        gc.grad(gc.sum(x * i), i)                          # integer wrt
    with pytest.raises(TypeError):
        gc.grad(gc.sum(x), [x, i])
    with pytest.raises(gc.DisconnectedInputError):
        gc.grad(gc.sum(x), [x, y])
    with pytest.raises(ValueError):                        # DisconnectedInputError is a ValueError
        gc.grad(gc.sum(x), y)
    with pytest.raises(ValueError):
        gc.grad(gc.sum(x), x, disconnected_inputs="warn")


def test_grad_disconnected_ignore(backend):
    x = gc.dmatrix("x")
    y = gc.tensor("y", "float64", shape=(None, None, None))
    z = gc.dvector("z")
    cost = gc.sum(x ** 2) + 0 * gc.sum(gc.floor_div(x, 1.0))
    gx, gy, gz = gc.grad(cost, [x, y, z], disconnected_inputs="ignore")
    f = gc.function([x, y, z], [gx, gy, gz], backend=backend)
    xv, yv, zv = np.arange(6.0).reshape(2, 3), np.ones((2, 1, 4)), np.ones(0)
    got_x, got_y, got_z = f(xv, yv, zv)
    np.testing.assert_allclose(got_x, 2 * xv)
    np.testing.assert_array_equal(got_y, np.zeros((2, 1, 4)))
    np.testing.assert_array_equal(got_z, np.zeros(0))
    # a path through integers or comparisons only carries no gradient: the input is disconnected
    c2 = gc.sum(gc.cast(x > 0, "float64")) + gc.sum(gc.cast(gc.cast(y, "int32"), "float64"))
    with pytest.raises(gc.DisconnectedInputError):
        gc.grad(c2, x)
    assert gc.grad(c2 + gc.sum(x), x, disconnected_inputs="ignore") is not None


def test_grad_consider_constant(backend):
    x = gc.dvector("x")
    h = gc.exp(x)
    cost = gc.sum(h * x)
    g_full = gc.grad(cost, x)
    g_const = gc.grad(cost, x, consider_constant=[h])
    f = gc.function([x], [g_full, g_const], backend=backend)
    xv = np.array([-1.0, 0.0, 0.5])
    full, const = f(xv)
    np.testing.assert_allclose(full, np.exp(xv) * (1 + xv))
    np.testing.assert_allclose(const, np.exp(xv))


def test_grad_runtime_broadcast_float32(backend):
    """sum_to decides at run time which dims were broadcast, for float32 too."""
    x = gc.fmatrix("x")
    y = gc.fmatrix("y")
    gx, gy = gc.grad(gc.sum((x * y) * 2.0), [x, y])
    f = gc.function([x, y], [gx, gy], backend=backend)
    for xs, ys in [((1, 3), (2, 3)), ((2, 1), (1, 3)), ((2, 3), (2, 3)), ((1, 1), (0, 3))]:
        xv = np.arange(1, 1 + np.prod(xs), dtype="float32").reshape(xs)
        yv = np.arange(1, 1 + np.prod(ys), dtype="float32").reshape(ys) * 0.5
        got_x, got_y = f(xv, yv)
        out = np.broadcast_shapes(xs, ys)
        want_x = (2 * np.broadcast_to(yv, out)).sum(axis=tuple(d for d in range(2) if xs[d] == 1 and out[d] != 1),
                                                    keepdims=True).reshape(xs)
        want_y = (2 * np.broadcast_to(xv, out)).sum(axis=tuple(d for d in range(2) if ys[d] == 1 and out[d] != 1),
                                                    keepdims=True).reshape(ys)
        assert got_x.dtype == got_y.dtype == np.float32
        np.testing.assert_allclose(got_x, want_x, rtol=1e-6)
        np.testing.assert_allclose(got_y, want_y, rtol=1e-6)
