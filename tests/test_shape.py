"""Shape ops against numpy as the oracle, on both backends: reshape (with -1 and symbolic entries), dimshuffle,
transpose, squeeze, expand_dims, arange with symbolic bounds, zeros/ones/alloc/broadcast_to, shape/size.

Each test compiles one function with many outputs and calls it on several shapes and memory layouts."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from tests.utils import assert_close, noncontig, rand

_FUNCTIONS: dict = {}


def cached(key, backend, build):
    k = (key, backend)
    if k not in _FUNCTIONS:
        inputs, outputs = build()
        _FUNCTIONS[k] = gc.function(inputs, outputs, backend=backend)
    return _FUNCTIONS[k]


def check_all(got, want, label=""):
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        try:
            assert_close(g, np.asarray(w))
        except AssertionError as exc:
            raise AssertionError(f"output {k}{label}: {exc}") from None


# --- reshape -------------------------------------------------------------------------------------------
def _reshape_function(backend):
    def build():
        x = gc.tensor("x", "float64", shape=(None, None))
        n = gc.lscalar("n")
        outs = [x.reshape((-1,)), x.flatten(), x.reshape((x.shape[1], -1)), x.reshape((2, -1, 1)),
                gc.reshape(x, (n, -1)), x.reshape((-1, 2)) + 1, x.reshape(x.shape), gc.reshape(x, (1, -1, n))]
        return [x, n], outs
    return cached("reshape", backend, build)


def _reshape_want(x, n):
    return [x.reshape(-1), x.flatten(), x.reshape(x.shape[1], -1), x.reshape(2, -1, 1), x.reshape(n, -1),
            x.reshape(-1, 2) + 1, x.reshape(x.shape), x.reshape(1, -1, n)]


@pytest.mark.parametrize("layout", ["contiguous", "noncontig", "fortran", "reversed"])
def test_reshape(layout, backend):
    """Views of contiguous inputs, C-order copies of the others: numpy's element order either way."""
    f = _reshape_function(backend)
    base = np.arange(12.0).reshape(2, 6) * 1.5
    x = {"contiguous": base, "noncontig": noncontig(base), "fortran": np.asfortranarray(base),
         "reversed": base[::-1, ::-1]}[layout]
    for n in (3, 4, 12):
        check_all(f(x, n), _reshape_want(x, n), f" n={n}")


def test_reshape_size_zero(backend):
    f = _reshape_function(backend)
    x = np.zeros((0, 6))
    # (n, -1) with n = 2 resolves -1 to 0; (1, -1, n) too
    check_all(f(x, 2), _reshape_want(x, 2))


def test_reshape_errors(backend):
    f = _reshape_function(backend)
    x = np.arange(12.0).reshape(2, 6)
    with pytest.raises(ValueError):
        x.reshape(5, -1)
    with pytest.raises(ValueError):
        f(x, 5)                              # 12 is not a multiple of 5
    with pytest.raises(ValueError):
        f(np.zeros((3, 5)), 3)               # (2, -1, 1) of 15 elements
    with pytest.raises(ValueError):
        np.zeros((0, 6)).reshape(0, -1)
    with pytest.raises(ValueError):
        f(np.zeros((0, 6)), 0)               # -1 is ambiguous next to a 0
    with pytest.raises(ValueError):
        f(x, -2)                             # a negative size other than -1
    x_sym = gc.dmatrix("x")
    with pytest.raises(ValueError):
        x_sym.reshape((-1, -1))
    with pytest.raises(ValueError):
        x_sym.reshape((-3, 4))
    with pytest.raises(TypeError):
        x_sym.reshape((gc.dscalar("s"), 2))  # shape entries are integers


def test_reshape_static_shapes():
    x = gc.tensor("x", "float64", shape=(3, 4))
    assert x.reshape((-1,)).type.shape == (12,)
    assert x.reshape((2, -1)).type.shape == (2, 6)
    assert x.reshape((6, 2)).type.shape == (6, 2)
    y = gc.dmatrix("y")
    assert y.reshape((2, -1)).type.shape == (2, None)
    assert y.reshape((y.shape[0], 3)).type.shape == (None, 3)


def test_reshape_to_and_from_scalar(backend):
    def build():
        m = gc.tensor("m", "int32", shape=(None, None))
        s = gc.tensor("s", "int32", shape=())
        return [m, s], [gc.reshape(m, ()), gc.reshape(s, (1, 1)), gc.reshape(s, (-1,))]
    f = cached("reshape0d", backend, build)
    m, s = np.array([[7]], "int32"), np.int32(-3)
    check_all(f(m, s), [m.reshape(()), np.reshape(s, (1, 1)), np.reshape(s, (-1,))])
    with pytest.raises(ValueError):
        f(np.ones((1, 2), "int32"), s)


# --- dimshuffle / transpose ------------------------------------------------------------------------------
def _permute_function(backend):
    def build():
        t = gc.tensor("t", "int16", shape=(None, None, None))
        outs = [t.T, t.transpose(1, 0, 2), t.transpose((-1, 0, 1)), t.dimshuffle(0, "x", 1, 2),
                t.dimshuffle("x", 2, 1, 0), t.T + 1, t.T.reshape((-1,)), gc.transpose(t, (2, 0, 1)) * t.dimshuffle(2, 0, 1),
                gc.transpose(t), t.dimshuffle(2, 1, 0).sum(axis=0), t.transpose(0, 2, 1).T]
        return [t], outs
    return cached("permute", backend, build)


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 3, 1), (0, 3, 4), (2, 1, 5)])
@pytest.mark.parametrize("layout", ["contiguous", "noncontig", "transposed"])
def test_dimshuffle_transpose(shape, layout, backend):
    f = _permute_function(backend)
    base = rand(shape, "int16", low=-100, high=100)
    t = {"contiguous": base, "noncontig": noncontig(base),
         "transposed": np.ascontiguousarray(base.transpose(2, 1, 0)).transpose(2, 1, 0)}[layout]
    want = [t.T, t.transpose(1, 0, 2), t.transpose((-1, 0, 1)), t[:, None], t.transpose(2, 1, 0)[None],
            t.T + np.int16(1), t.T.reshape(-1), t.transpose(2, 0, 1) * t.transpose(2, 0, 1), t.T,
            t.transpose(2, 1, 0).sum(axis=0), t.transpose(0, 2, 1).T]
    check_all(f(t), want, f" {shape} {layout}")


def test_dimshuffle_errors():
    t = gc.tensor("t", "float64", shape=(None, 1, None))
    with pytest.raises(ValueError):
        t.dimshuffle(0, 1)                   # drops dim 2, which is not known to be 1
    with pytest.raises(ValueError):
        t.dimshuffle(0, 0, 1, 2)
    with pytest.raises(ValueError):
        t.dimshuffle(0, 1, 3)
    with pytest.raises(ValueError):
        gc.transpose(t, (0, 1))
    with pytest.raises(ValueError):
        gc.transpose(t, (0, 1, 1))
    assert t.dimshuffle(0, 2).type.shape == (None, None)
    assert t.dimshuffle("x", 2, 0, 1).type.shape == (1, None, None, 1)
    assert t.T.type.shape == (None, 1, None)
    assert gc.transpose(gc.tensor("u", shape=(2, 3, 4)), (-1, 0, 1)).type.shape == (4, 2, 3)


def test_squeeze_expand_dims(backend):
    def build():
        u = gc.tensor("u", "float32", shape=(None, 1, None))
        v = gc.tensor("v", "bool", shape=(1, 1))
        outs = [u.squeeze(), gc.squeeze(u, 1), gc.squeeze(u, -2), gc.expand_dims(u, 0), gc.expand_dims(u, -1),
                gc.expand_dims(u, 2), u.dimshuffle(2, 0), v.squeeze(), gc.squeeze(v, 0), gc.expand_dims(v, 1)]
        return [u, v], outs
    f = cached("squeeze", backend, build)
    for shape in [(2, 1, 3), (0, 1, 4), (1, 1, 1)]:
        u = rand(shape, "float32")
        v = np.array([[True]])
        want = [u.squeeze(1), u.squeeze(1), u.squeeze(-2), u[None], u[..., None], np.expand_dims(u, 2),
                u[:, 0, :].T, v.squeeze(), v.squeeze(0), np.expand_dims(v, 1)]
        check_all(f(u, v), want, f" {shape}")
        check_all(f(noncontig(u), v), want, f" {shape} noncontig")
    with pytest.raises(ValueError):
        f(np.ones((2, 2, 3), "float32"), np.array([[True]]))   # dim 1 is declared 1
    assert gc.squeeze(gc.dmatrix("m")).type.shape == (None, None)    # nothing known to be 1: no-op
    with pytest.raises(ValueError):
        gc.squeeze(gc.dmatrix("m"), 0)


# --- arange ------------------------------------------------------------------------------------------------
def test_arange_dtypes():
    """numpy's rule: at least int64, promoted with the bounds' dtypes."""
    cases = [((gc.lscalar("n"),), (np.int64(5),)), ((gc.iscalar("n"),), (np.int32(5),)),
             ((gc.fscalar("f"),), (np.float32(2.5),)),
             ((gc.fscalar("a"), gc.fscalar("b"), gc.fscalar("c")), (np.float32(0), np.float32(1), np.float32(.1))),
             ((gc.tensor("u", "uint8", shape=()),), (np.uint8(5),)),
             ((gc.dscalar("a"), 4), (np.float64(0.5), 4)), ((2, gc.lscalar("n"), 0.5), (2, np.int64(5), 0.5))]
    for args, np_args in cases:
        assert gc.arange(*args).dtype == np.arange(*np_args).dtype.name, np_args
    assert gc.arange(5).type.shape == (5,)
    assert gc.arange(1, 10, 3).type.shape == (3,)
    assert gc.arange(gc.lscalar("n")).type.shape == (None,)
    with pytest.raises(TypeError):
        gc.arange(gc.lvector("v"))


def test_arange_symbolic(backend):
    def build():
        n, a, b, s = gc.lscalar("n"), gc.lscalar("a"), gc.lscalar("b"), gc.lscalar("s")
        fa, fb, fs = gc.dscalar("fa"), gc.dscalar("fb"), gc.dscalar("fs")
        x = gc.tensor("x", "float32", shape=(None, None))
        f32 = gc.fscalar("f32")
        outs = [gc.arange(n), gc.arange(a, b, s), gc.arange(fa, fb, fs), gc.arange(x.shape[0]),
                gc.arange(n, dtype="int32"), gc.arange(a, b, s) * x.shape[1], gc.arange(0, f32, 0.5),
                gc.arange(f32, 3, 1)]
        return [n, a, b, s, fa, fb, fs, x, f32], outs
    f = cached("arange", backend, build)
    for n, (a, b, s), (fa, fb, fs), xs, f32 in [
            (5, (2, 11, 3), (0.0, 1.0, 0.1), (4, 3), 2.5),
            (0, (10, 0, -2), (1.0, -1.0, -0.25), (0, 2), -1.0),
            (-3, (0, 0, 1), (0.5, 0.5, 1.0), (1, 0), 1e-3),
            (1, (5, 2, 1), (-2.0, 3.0, 0.7), (7, 1), 3.0)]:
        x = np.zeros(xs, "float32")
        vals = (np.int64(n), np.int64(a), np.int64(b), np.int64(s), np.float64(fa), np.float64(fb), np.float64(fs),
                x, np.float32(f32))
        # float(...): numpy computes an np.float32 start's second element in float32 arithmetic (a quirk of its
        # fill); graphc's arange of a float32 bound is numpy's arange of that bound's value
        want = [np.arange(n), np.arange(a, b, s), np.arange(fa, fb, fs), np.arange(xs[0]),
                np.arange(n, dtype="int32"), np.arange(a, b, s) * xs[1], np.arange(0, float(np.float32(f32)), 0.5),
                np.arange(float(np.float32(f32)), 3, 1)]
        check_all(f(*vals), want, f" bounds {vals[:7]}")
    zero_step = (np.int64(3), np.int64(0), np.int64(5), np.int64(0), np.float64(0), np.float64(1),
                 np.float64(0.5), np.zeros((1, 1), "float32"), np.float32(1))
    with pytest.raises(ValueError):
        f(*zero_step)


# --- alloc, zeros, ones, broadcast_to, shape -------------------------------------------------------------
def test_alloc_zeros_ones(backend):
    def build():
        n, m = gc.lscalar("n"), gc.lscalar("m")
        v = gc.tensor("v", "float32", shape=(None,))
        x = gc.tensor("x", "int16", shape=(None, None))
        outs = [gc.zeros((n, m)), gc.ones((n, 3), dtype="int8"), gc.alloc(v, (n, v.shape[0])), gc.zeros_like(x),
                gc.ones_like(x, dtype="bool"), gc.alloc(2.5, (n,)), gc.broadcast_to(v, (2, n, v.shape[0])),
                gc.zeros((), dtype="uint8"), gc.ones(x.shape, dtype="float32"), gc.alloc(np.int8(-4), (m, n)),
                gc.broadcast_to(v, (n, m))]
        return [n, m, v, x], outs
    f = cached("alloc", backend, build)
    for n, m, v_len, x_shape in [(3, 4, 4, (2, 5)), (0, 1, 1, (0, 3)), (1, 0, 1, (1, 1)), (2, 5, 1, (3, 0))]:
        v = rand((v_len,), "float32")
        x = rand(x_shape, "int16")
        want = [np.zeros((n, m)), np.ones((n, 3), "int8"), np.broadcast_to(v, (n, v_len)), np.zeros_like(x),
                np.ones_like(x, dtype=bool), np.full((n,), 2.5), np.broadcast_to(v, (2, n, v_len)),
                np.zeros((), "uint8"), np.ones(x_shape, "float32"), np.full((m, n), -4, "int8"),
                np.broadcast_to(v, (n, m))]
        check_all(f(np.int64(n), np.int64(m), v, x), want, f" n={n} m={m} len(v)={v_len}")
    with pytest.raises(ValueError):
        np.broadcast_to(np.ones(3), (2, 4))
    with pytest.raises(ValueError):
        f(np.int64(2), np.int64(4), np.ones(3, "float32"), np.ones((1, 1), "int16"))     # (3,) to (2, 4)
    with pytest.raises(ValueError):
        np.zeros((-1, 2))
    with pytest.raises(ValueError):
        f(np.int64(-1), np.int64(1), np.ones(1, "float32"), np.ones((1, 1), "int16"))     # negative size


def test_alloc_static_errors():
    with pytest.raises(ValueError):
        gc.broadcast_to(gc.tensor("v", shape=(3,)), (2, 4))
    with pytest.raises(ValueError):
        gc.broadcast_to(gc.dmatrix("m"), (5,))
    assert gc.zeros((2, 3)).type.shape == (2, 3)
    assert gc.zeros((2, 3)).dtype == np.zeros((2, 3)).dtype.name
    assert gc.ones((gc.lscalar("n"), 3)).type.shape == (None, 3)
    with pytest.raises(TypeError):
        gc.zeros((gc.dscalar("s"),))


def test_shape_and_size(backend):
    def build():
        x = gc.tensor("x", "float64", shape=(None, None, None))
        s = gc.tensor("s", "int8", shape=())
        outs = [x.shape, gc.shape(s), x.size, x.shape[0], x.shape[-1] * 2, s.size, x.shape[1] + x.shape[2]]
        return [x, s], outs
    f = cached("shape", backend, build)
    for shape in [(2, 3, 4), (0, 5, 1), (1, 1, 1)]:
        x = np.zeros(shape)
        want = [np.array(shape, "int64"), np.array((), "int64").reshape(0), np.int64(x.size), np.int64(shape[0]),
                np.int64(shape[-1] * 2), np.int64(1), np.int64(shape[1] + shape[2])]
        check_all(f(x, np.int8(1)), want, f" {shape}")
        check_all(f(noncontig(x), np.int8(1)), want, f" {shape} noncontig")


def test_outputs_do_not_alias_inputs(backend):
    """A view op's output (transpose, reshape, dimshuffle) comes back as its own array: writing to it does not
    change the caller's input, and outputs do not share memory with each other."""
    def build():
        x = gc.tensor("x", "float64", shape=(None, None))
        return [x], [x, x.T, x.reshape((-1,)), x.dimshuffle("x", 0, 1), gc.squeeze(x.dimshuffle(0, "x", 1), 1)]
    f = cached("alias", backend, build)
    x = np.arange(6.0).reshape(2, 3)
    keep = x.copy()
    outs = f(x)
    check_all(outs, [x, x.T, x.reshape(-1), x[None], x])
    for k, o in enumerate(outs):
        assert not np.shares_memory(o, x), k
        for j in range(k):
            assert not np.shares_memory(o, outs[j]), (j, k)
        o[...] = -1
    np.testing.assert_array_equal(x, keep)


def test_axis_arguments_as_numpy():
    """Out-of-range axes raise AxisError (never wrap around), repeated ones ValueError; expand_dims takes tuples."""
    a = np.ones((2, 1, 3))
    x = gc.tensor("x", "float64", shape=(None, 1, None))
    cases = [(lambda m, v: m.transpose(v, (0, 1, 5)), np.exceptions.AxisError),
             (lambda m, v: m.transpose(v, (0, 1, -4)), np.exceptions.AxisError),
             (lambda m, v: m.transpose(v, (0, 1, 1)), ValueError),
             (lambda m, v: m.expand_dims(v, 4), np.exceptions.AxisError),
             (lambda m, v: m.expand_dims(v, -5), np.exceptions.AxisError),
             (lambda m, v: m.expand_dims(v, (0, 0)), ValueError),
             (lambda m, v: m.squeeze(v, 3), np.exceptions.AxisError),
             (lambda m, v: m.squeeze(v, -4), np.exceptions.AxisError),
             (lambda m, v: m.squeeze(v, 0), ValueError)]
    for k, (call, exc) in enumerate(cases):
        with pytest.raises(exc):
            call(np, a)
        with pytest.raises(exc):
            call(gc, x)
    for axis in [0, 3, -1, -4, (0, 2), (-1, 1), (0, 1, 2)]:
        want = np.expand_dims(a, axis).shape
        got = gc.expand_dims(x, axis).type.shape
        assert tuple(1 if s == 1 else None for s in want) == tuple(1 if s == 1 else None for s in got), axis
    assert gc.transpose(x, (-1, 0, 1)).type.shape == (None, None, 1)


def test_expand_dims_tuple(backend):
    def build():
        x = gc.tensor("x", "int32", shape=(None, None))
        return [x], [gc.expand_dims(x, (0, 2)), gc.expand_dims(x, (-1, 1)), gc.expand_dims(x, (0, 1, 2, 3))]
    f = cached("expand_tuple", backend, build)
    x = np.arange(6, dtype="int32").reshape(2, 3)
    for v in (x, x.T.copy().T, noncontig(x)):
        check_all(f(v), [np.expand_dims(v, (0, 2)), np.expand_dims(v, (-1, 1)), np.expand_dims(v, (0, 1, 2, 3))])
