"""The vectorized reduction paths (rows of 16 or more along the last dim; reducing it, or keeping it) against
numpy, across chunk boundaries, with NaN, infinities and signed zeros placed where the chunking could see them."""
import numpy as np
import pytest

import graphc as gc

LENGTHS = [16, 37, 1024, 1030, 2100]


def _compile(dtype, ndim, reducer, axis):
    x = gc.tensor("x", dtype, shape=(None,) * ndim)
    return gc.function([x], reducer(x, axis=axis))


def _check(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-5 if want.dtype == np.float32 else 1e-12, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["max", "min", "sum", "prod"])
@pytest.mark.parametrize("axis", [-1, 0, (0, 1), (1, 2)])
def test_float_reductions_match_numpy(dtype, name, axis):
    rng = np.random.default_rng(1)
    f = _compile(dtype, 3, getattr(gc, name), axis)
    for n in LENGTHS[::2]:
        x = rng.uniform(0.5, 1.5, (3, 4, n)).astype(dtype) if name == "prod" else \
            rng.standard_normal((3, 4, n)).astype(dtype)
        if name in ("max", "min"):
            x[0, 1, n - 1] = np.nan                    # last element of a row: the vectorized chunk sees it
            x[1, 2, :] = -np.inf if name == "max" else np.inf
            x[2, 0, 1023 % n] = np.nan
        _check(f(x), getattr(np, name)(x, axis=axis))
        _check(f(x[:, ::2, :]), getattr(np, name)(x[:, ::2, :], axis=axis))     # strided outer dim
        _check(f(x.transpose(0, 2, 1)), getattr(np, name)(x.transpose(0, 2, 1), axis=axis))


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("name", ["max", "min"])
def test_signed_zero_ties_and_first_nan_are_numpys(n, name):
    rng = np.random.default_rng(2)
    x = rng.choice(np.array([0.0, -0.0], np.float32), (4, n))
    x[1] = -np.abs(x[1]) if name == "max" else np.abs(x[1])
    f = _compile("float32", 2, getattr(gc, name), -1)
    got, want = f(x), getattr(np, name)(x, axis=-1)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    x[2, n // 2] = np.float32(np.nan)
    assert np.isnan(f(x)[2])


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
@pytest.mark.parametrize("name", ["max", "min", "sum"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_integer_reductions_match_numpy(dtype, name, axis):
    info = np.iinfo(dtype)
    x = np.random.default_rng(3).integers(info.min, info.max, (5, 1030), dtype=dtype, endpoint=True)
    f = _compile(dtype, 2, getattr(gc, name), axis)
    _check(f(x), getattr(np, name)(x, axis=axis))


def test_fused_reduce_with_a_broadcast_column_matches_numpy():
    a = gc.fmatrix("a")
    m = a.max(axis=1, keepdims=True)
    outs = [gc.exp(a - m).sum(axis=1), gc.logsumexp(a, axis=1), gc.softmax(a)]
    f, reference = gc.function([a], outs), gc.function([a], outs, backend="py")
    x = np.random.default_rng(4).standard_normal((7, 1030)).astype(np.float32)
    x[3, 5] = np.inf
    x[4, :] = -np.inf
    x[5, 700] = np.nan
    with np.errstate(all="ignore"):
        for got, want in zip(f(x), reference(x)):
            _check(got, want)


def test_an_input_broadcast_by_its_type_is_read_once_per_row():
    """``m`` of static shape (n, 1) is loaded once a row in the vectorized path (not spread over a buffer)."""
    a = gc.fmatrix("a")
    m = gc.tensor("m", "float32", shape=(None, 1))
    f = gc.function([a, m], [gc.exp(a - m).sum(axis=1), gc.max(a * m, axis=-1)])
    assert "const float32_t r1 = p1[o1];" in f.program.source
    x = np.random.default_rng(6).standard_normal((6, 2050)).astype(np.float32)
    mv = x.max(axis=1, keepdims=True)
    mv[2] = np.nan
    s, mx = f(x, mv)
    with np.errstate(invalid="ignore"):
        _check(s, np.exp(x - mv).astype(np.float64).sum(axis=1).astype(np.float32))
        _check(mx, np.max(x * mv, axis=-1))
