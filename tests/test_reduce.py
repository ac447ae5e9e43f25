"""Reductions against numpy as the oracle, on both backends: sum prod max min mean argmax argmin.

numpy's dtype rules (small ints sum in (u)int64, bool sums as int64, means of ints are float64), negative and tuple
axes, keepdims, axis=None, NaN propagation (max/min give NaN, argmax/argmin the first NaN's index), size-0 and size-1
dims, empty reductions (sum 0, prod 1, mean NaN; max/argmax raise ValueError), and non-contiguous, transposed,
reversed and broadcast (stride-0) inputs. One function with many outputs is compiled per dtype and called on many
layouts."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphc as gc
from tests.utils import ALL_DTYPES, assert_close, cached, noncontig, rand

FLOATS = ["float32", "float64"]


def oracle(fn, *args, **kwargs):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(fn(*args, **kwargs))


NP = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min, "mean": np.mean, "argmax": np.argmax,
      "argmin": np.argmin}
GC = {"sum": gc.sum, "prod": gc.prod, "max": gc.max, "min": gc.min, "mean": gc.mean, "argmax": gc.argmax,
      "argmin": gc.argmin}

ALL_AXES = [(None, False), (0, False), (1, False), (-1, False), ((0, 2), False), ((-1, -2), False), ((), False),
            (None, True), (1, True), ((0, 2), True)]
SPECS = ([("sum", a, k) for a, k in ALL_AXES] + [("prod", a, k) for a, k in ALL_AXES]
         + [("max", a, k) for a, k in ALL_AXES]
         + [("min", a, k) for a, k in [(None, False), (0, False), (-1, False), ((0, 2), True)]]
         + [("mean", a, k) for a, k in [(None, False), (1, False), ((-3, -1), False), ((0, 2), True), ((), False)]]
         + [(kind, a, k) for kind in ("argmax", "argmin")
            for a, k in [(None, False), (0, False), (-1, False), (1, False), (None, True), (1, True)]])


def spec_label(spec):
    kind, axis, keepdims = spec
    return f"{kind}(axis={axis}{', keepdims' if keepdims else ''})"


def values(dtype, shape, seed=0, kind="random"):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if kind == "large" and dt.kind == "f":
        return rng.uniform(0.5, 1.5, size=shape).astype(dtype)     # products neither overflow nor cancel
    if kind == "extremes" and dt.kind == "b":
        return rng.random(shape) > 0.2
    if kind == "extremes" and dt.kind in "iu":
        info = np.iinfo(dt)
        return rng.choice(np.array([info.min, info.max, info.max - 1, 0, 1], dtype=dt), size=shape)
    if kind == "extremes":
        return rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.5, -2.5], dtype=dt), size=shape)
    return rand(shape, dtype, rng=rng, low=-3, high=4)


def layouts(dtype):
    a = values(dtype, (3, 4, 5))
    base_t = values(dtype, (5, 3, 4), seed=1)
    out = {
        "contiguous": a,
        "noncontig": noncontig(a),
        "transposed": base_t.transpose(1, 2, 0),
        "reversed": a[::-1, :, ::-1],
        "stride0": np.broadcast_to(a[:, :1, :], (3, 4, 5)),
        "ones": values(dtype, (1, 1, 1), seed=2),
        "size1_dims": values(dtype, (1, 4, 1), seed=3),
        "extremes": values(dtype, (3, 4, 5), seed=4, kind="extremes"),
        "large": values(dtype, (30, 40, 50), seed=5, kind="large"),       # above the OpenMP threshold
        "large_transposed": values(dtype, (50, 30, 40), seed=6, kind="large").transpose(1, 2, 0),
    }
    if np.dtype(dtype).kind == "f":
        nan = a.copy()
        nan[0, 1, 2] = nan[0, 1, 4] = nan[2, 0, 0] = nan[1, 3, 3] = np.nan   # several NaNs in one line
        nan[1, 2, :] = np.nan
        nan[2, 3, 1] = np.inf
        out["nan"] = nan
        out["nan_noncontig"] = noncontig(nan)
    return out


LAYOUTS = list(layouts("float64"))


def summation_atol(kind, x, axis, out_dtype):
    """The rounding-error bound of a float sum (n * eps * max|x|, or eps * max|x| for a mean): numpy sums pairwise,
    the C backend in order, so where the summands are huge (int64 limits) and cancel, the last bits differ."""
    if kind not in ("sum", "mean") or np.dtype(out_dtype).kind != "f" or x.size == 0:
        return None
    finite = np.abs(x[np.isfinite(x)].astype(np.float64)) if x.dtype.kind == "f" else np.abs(x.astype(np.float64))
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    bound = np.finfo(out_dtype).eps * (finite.max() if finite.size else 0) * (1 if kind == "mean" else n)
    default = 1e-5 if np.dtype(out_dtype) == np.float32 else 1e-12
    return max(bound, default)


def _reduce_function(dtype, backend):
    def build():
        x = gc.tensor("x", dtype, shape=(None, None, None))
        return [x], [GC[kind](x, axis=axis, keepdims=keepdims) for kind, axis, keepdims in SPECS], SPECS
    return cached(("reduce", dtype), backend, build)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_reduce_dtypes(dtype):
    """Output dtypes (and ranks) are numpy's: small ints sum in (u)int64, bool sums as int64, ints mean in float64."""
    x = gc.tensor("x", dtype, shape=(None, None, None))
    a = np.ones((2, 3, 4), dtype)
    for spec in SPECS:
        kind, axis, keepdims = spec
        got = GC[kind](x, axis=axis, keepdims=keepdims)
        want = oracle(NP[kind], a, axis=axis, keepdims=keepdims)
        assert (got.dtype, got.ndim) == (want.dtype.name, want.ndim), f"{spec_label(spec)} of {dtype}"


@pytest.mark.parametrize("dtype,layout", [(d, lay) for d in ALL_DTYPES for lay in LAYOUTS
                                          if not lay.startswith("nan") or d in FLOATS])
def test_reduce_values(dtype, layout, backend):
    x = layouts(dtype)[layout]
    f, specs = _reduce_function(dtype, backend)
    got = f(x)
    for spec, g in zip(specs, got):
        kind, axis, keepdims = spec
        want = oracle(NP[kind], x, axis=axis, keepdims=keepdims)
        try:
            assert_close(g, want, atol=summation_atol(kind, x, axis, want.dtype))
        except AssertionError as exc:
            raise AssertionError(f"{spec_label(spec)} of {dtype} [{layout}]: {exc}") from None


def test_small_int_sums_widen(backend):
    """int8 sums do not wrap at 127, uint8 sums do not wrap at 255, bools count."""
    def build():
        i = gc.tensor("i", "int8", shape=(None,))
        u = gc.tensor("u", "uint8", shape=(None,))
        b = gc.tensor("b", "bool", shape=(None,))
        return [i, u, b], [i.sum(), u.sum(), b.sum(), i.sum(dtype="int8"), u.prod(), i.mean(), b.mean()], None
    f, _ = cached("widen", backend, build)
    i = np.full(1000, 127, "int8")
    u = np.full(1000, 255, "uint8")
    b = np.ones(1000, bool)
    got = f(i, u, b)
    want = [np.sum(i), np.sum(u), np.sum(b), np.sum(i, dtype="int8"), np.prod(u), np.mean(i), np.mean(b)]
    assert [w.dtype.name for w in want] == ["int64", "uint64", "int64", "int8", "uint64", "float64", "float64"]
    assert int(want[0]) == 127000 and int(want[1]) == 255000
    for g, w in zip(got, want):
        assert_close(g, np.asarray(w))


def test_sum_prod_dtype_argument(backend):
    def build():
        i = gc.tensor("i", "int16", shape=(None, None))
        x = gc.tensor("x", "float32", shape=(None, None))
        outs = [i.sum(axis=0, dtype="float32"), i.sum(dtype="int8"), gc.prod(i, axis=1, dtype="float64"),
                x.sum(dtype="float64"), gc.sum(x, axis=-1, dtype="int32"), gc.prod(x, dtype="float64")]
        return [i, x], outs, None
    f, _ = cached("dtype_arg", backend, build)
    i = rand((4, 6), "int16", low=-1000, high=1000)
    x = rand((4, 6), "float32", low=-40, high=40)
    got = f(i, x)
    want = [np.sum(i, axis=0, dtype="float32"), np.sum(i, dtype="int8"), np.prod(i, axis=1, dtype="float64"),
            np.sum(x, dtype="float64"), np.sum(x, axis=-1, dtype="int32"), np.prod(x, dtype="float64")]
    for k, (g, w) in enumerate(zip(got, want)):
        try:
            assert_close(g, oracle(lambda: w))
        except AssertionError as exc:
            raise AssertionError(f"output {k}: {exc}") from None


def test_nan_first_index():
    """The spelled-out rule: argmax/argmin give the first NaN's index, max/min give NaN."""
    for backend in ("py", "c"):
        def build():
            x = gc.tensor("x", "float32", shape=(None, None))
            return [x], [x.argmax(axis=1), x.argmin(axis=1), x.argmax(), x.max(axis=1), x.min(axis=0)], None
        f, _ = cached("nanfirst", backend, build)
        x = np.array([[1, np.nan, 5, np.nan], [np.inf, 2, np.nan, -np.inf], [0, 1, 2, 3]], "float32")
        amax, amin, aflat, mx, mn = f(x)
        np.testing.assert_array_equal(amax, [1, 2, 3])
        np.testing.assert_array_equal(amin, [1, 2, 0])
        assert int(aflat) == 1
        np.testing.assert_array_equal(np.isnan(mx), [True, True, False])
        np.testing.assert_array_equal(np.isnan(mn), [False, True, True, True])
        for g, w in zip(f(x), [np.argmax(x, axis=1), np.argmin(x, axis=1), np.argmax(x), np.max(x, axis=1),
                               np.min(x, axis=0)]):
            assert_close(g, np.asarray(w))


# --- empty and scalar reductions -------------------------------------------------------------------
EMPTY_OK = [("sum", None), ("sum", 0), ("sum", 1), ("prod", None), ("prod", 0), ("prod", 1), ("mean", None),
            ("mean", 0), ("mean", 1)]


def test_empty_reductions(backend):
    """sum -> 0, prod -> 1, mean -> NaN over empty axes, as numpy; max/argmax over a non-empty axis of an empty
    array are empty, not errors."""
    def build():
        x = gc.tensor("x", "float64", shape=(None, None))
        i = gc.tensor("i", "int8", shape=(None, None))
        b = gc.tensor("b", "bool", shape=(None, None))
        outs = [GC[k](v, axis=a) for v in (x, i, b) for k, a in EMPTY_OK]
        outs += [GC[k](v, axis=a, keepdims=True) for v in (x, i) for k, a in EMPTY_OK]
        outs += [gc.max(x, axis=0, initial=-1.5), gc.min(i, axis=None, initial=5)]
        return [x, i, b], outs, None
    f, _ = cached("empty", backend, build)
    for shape in [(0, 3), (3, 0), (0, 0)]:
        x, i, b = np.zeros(shape), np.zeros(shape, "int8"), np.zeros(shape, bool)
        want = [oracle(NP[k], v, axis=a) for v in (x, i, b) for k, a in EMPTY_OK]
        want += [oracle(NP[k], v, axis=a, keepdims=True) for v in (x, i) for k, a in EMPTY_OK]
        want += [np.max(x, axis=0, initial=-1.5), np.min(i, axis=None, initial=5)]
        for k, (g, w) in enumerate(zip(f(x, i, b), want)):
            try:
                assert_close(g, np.asarray(w))
            except AssertionError as exc:
                raise AssertionError(f"output {k} at {shape}: {exc}") from None

    def build_nonempty_axis():
        x = gc.tensor("x", "float64", shape=(None, None))
        return [x], [x.max(axis=1), x.min(axis=-1), x.argmax(axis=1), x.argmin(axis=1, keepdims=True)], None
    g, _ = cached("empty_nonempty_axis", backend, build_nonempty_axis)
    x = np.zeros((0, 3))
    for got, w in zip(g(x), [x.max(axis=1), x.min(axis=-1), x.argmax(axis=1), x.argmin(axis=1, keepdims=True)]):
        assert_close(got, w)


@pytest.mark.parametrize("axis", [None, 0])
@pytest.mark.parametrize("kind", ["max", "min", "argmax", "argmin"])
def test_empty_reduction_without_identity_raises(kind, axis, backend):
    with pytest.raises(ValueError):
        NP[kind](np.zeros((0, 3)), axis=axis)

    def build():
        x = gc.tensor("x", "float32", shape=(None, None))
        return [x], GC[kind](x, axis=axis), None
    f, _ = cached(("empty_raise", kind, axis), backend, build)
    for shape in [(0, 3), (0, 0)] + ([(3, 0)] if axis is None else []):
        with pytest.raises(ValueError):
            f(np.zeros(shape, "float32"))
    ok = np.arange(6, dtype="float32").reshape(2, 3)
    assert_close(f(ok), np.asarray(NP[kind](ok, axis=axis)))


def test_scalar_and_vector_inputs(backend):
    def build():
        s = gc.tensor("s", "int16", shape=())
        v = gc.tensor("v", "float64", shape=(None,))
        outs = [s.sum(), s.prod(), s.max(), s.argmax(), s.mean(), gc.sum(s, axis=0), gc.sum(s, axis=-1),
                v.sum(), v.max(axis=0), v.argmin(axis=-1), v.mean(keepdims=True), v.prod(axis=(0,))]
        return [s, v], outs, None
    f, _ = cached("scalar_vector", backend, build)
    s = np.int16(-7)
    for v in [np.array([3.0, -1.0, 2.5]), np.array([4.0]), noncontig(np.array([1.0, 5.0, -2.0, 5.0]))]:
        want = [np.sum(s), np.prod(s), np.max(s), np.argmax(s), np.mean(s), np.sum(s, axis=0), np.sum(s, axis=-1),
                v.sum(), v.max(axis=0), v.argmin(axis=-1), v.mean(keepdims=True), v.prod(axis=(0,))]
        for k, (g, w) in enumerate(zip(f(s, v), want)):
            try:
                assert_close(g, np.asarray(w))
            except AssertionError as exc:
                raise AssertionError(f"output {k}: {exc}") from None


def test_reduce_of_computed_views(backend):
    """Reductions of intermediate results: a transposed view, a broadcast sum, a reshaped array."""
    def build():
        x = gc.tensor("x", "float64", shape=(None, None))
        y = gc.tensor("y", "float64", shape=(None,))
        outs = [x.T.sum(axis=0), (x + y).max(axis=0), x.T.argmax(axis=1), (x * 2).reshape((-1,)).mean(),
                gc.exp(x).sum(axis=1, keepdims=True) / 2, x.dimshuffle(1, "x", 0).min(axis=(1, 2))]
        return [x, y], outs, None
    f, _ = cached("computed", backend, build)
    rng = np.random.default_rng(7)
    for shape in [(3, 4), (1, 4), (5, 1)]:
        x = rand(shape, rng=rng)
        y = rand(shape[1:], rng=rng)
        want = [x.T.sum(axis=0), (x + y).max(axis=0), x.T.argmax(axis=1), (x * 2).reshape(-1).mean(),
                np.exp(x).sum(axis=1, keepdims=True) / 2, x.T[:, None, :].min(axis=(1, 2))]
        for k, (g, w) in enumerate(zip(f(x, y), want)):
            try:
                assert_close(g, np.asarray(w))
            except AssertionError as exc:
                raise AssertionError(f"output {k} at {shape}: {exc}") from None


# --- errors at graph-build time ------------------------------------------------------------------------
def test_axis_errors():
    x = gc.tensor("x", "float64", shape=(None, None, None))
    a = np.zeros((2, 2, 2))
    for bad in [3, -4, (0, 3)]:
        with pytest.raises(np.exceptions.AxisError):
            np.sum(a, axis=bad)
        for kind in ("sum", "prod", "max", "min", "mean"):
            with pytest.raises(np.exceptions.AxisError):
                GC[kind](x, axis=bad)
    for kind in ("argmax", "argmin"):
        with pytest.raises(np.exceptions.AxisError):
            GC[kind](x, axis=3)
    with pytest.raises(ValueError):
        np.sum(a, axis=(0, -3))
    with pytest.raises(ValueError, match="duplicate"):
        gc.sum(x, axis=(0, -3))
    with pytest.raises(TypeError):
        np.argmax(a, axis=(0, 1))
    with pytest.raises(TypeError):
        gc.argmax(x, axis=(0, 1))


def test_reduce_static_shapes():
    x = gc.tensor("x", "float64", shape=(2, None, 4))
    assert x.sum(axis=1).type.shape == (2, 4)
    assert x.sum(axis=1, keepdims=True).type.shape == (2, 1, 4)
    assert x.max(axis=(0, 2)).type.shape == (None,)
    assert x.argmax().type.shape == ()
    assert x.argmax(keepdims=True).type.shape == (1, 1, 1)
    assert x.mean(axis=-1).type.shape == (2, None)


def test_high_rank(backend):
    """Rank 4 and 5: non-adjacent reduced axes, kept axes interleaved with reduced ones."""
    def build():
        x = gc.tensor("x", "float32", shape=(None,) * 4)
        y = gc.tensor("y", "int16", shape=(None,) * 5)
        outs = [x.sum(axis=(1, 3)), x.max(axis=(0, 2), keepdims=True), x.argmin(axis=2), x.mean(axis=(-1, 0)),
                y.sum(axis=(0, 2, 4)), y.prod(axis=(1, 3)), y.min(axis=-2), y.argmax(axis=1, keepdims=True)]
        return [x, y], outs, None
    f, _ = cached("high_rank", backend, build)
    rng = np.random.default_rng(9)
    x = rand((2, 3, 4, 5), "float32", rng=rng)
    y = rand((2, 3, 2, 3, 2), "int16", rng=rng, low=-5, high=5)
    for xv, yv in [(x, y), (noncontig(x), np.asfortranarray(y))]:
        want = [xv.sum(axis=(1, 3)), xv.max(axis=(0, 2), keepdims=True), xv.argmin(axis=2), xv.mean(axis=(-1, 0)),
                yv.sum(axis=(0, 2, 4)), yv.prod(axis=(1, 3)), yv.min(axis=-2), yv.argmax(axis=1, keepdims=True)]
        for k, (g, w) in enumerate(zip(f(xv, yv), want)):
            try:
                assert_close(g, np.asarray(w))
            except AssertionError as exc:
                raise AssertionError(f"output {k}: {exc}") from None
