"""Edge semantics against numpy on every path a value can take: the py backend and generated C, each with the
optimizer on ("fast_run") and off ("none"), and with the inputs as constants so that constant folding computes it
("c-folded"). Small-integer wraparound, casts between every pair of dtypes (NaN, inf and out-of-range floats
included), integer and float // and %, NaN through max/min/clip/argmax, empty reductions, out-of-bounds indices,
repeated indices in set/inc_subtensor and in gradients, aliased inputs, and gradients that stay finite where the
math is finite.

Each test builds one function with many outputs (or one input per case), so a configuration compiles once."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphc as gc
from tests.utils import ALL_DTYPES, assert_close

# name -> (backend, mode, inputs become constants)
CONFIGS = {"py": ("py", "fast_run", False), "py-none": ("py", "none", False), "c": ("c", "fast_run", False),
           "c-none": ("c", "none", False), "c-folded": ("c", "fast_run", True)}
INTS = ["int8", "uint8", "int16", "int32", "int64"]
FLOATS = ["float32", "float64"]


@pytest.fixture(params=list(CONFIGS))
def config(request) -> str:
    return request.param


def needs_inputs(config: str) -> None:
    if CONFIGS[config][2]:
        pytest.skip("the case needs run-time inputs")


def compile_(config: str, build, examples: list[np.ndarray]):
    """A callable on lists of values: compiled once for symbolic inputs, or per call with the values as constants."""
    backend, mode, folded = CONFIGS[config]
    if folded:
        return lambda values: gc.function([], build(*map(gc.constant, values)), backend=backend, mode=mode)()
    xs = [gc.tensor(f"x{i}", v.dtype, shape=(None,) * v.ndim) for i, v in enumerate(examples)]
    f = gc.function(xs, build(*xs), backend=backend, mode=mode)
    return lambda values: f(*values)


def quiet(fn, *args):
    """numpy's result with its warnings (overflow, invalid cast, divide by zero) silenced."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def assert_all(got: list, want: list, labels: list[str]) -> None:
    """Each output equals numpy's: dtype, shape, values (exact for ints and bools), NaN in the same places."""
    assert len(got) == len(want)
    for g, w, label in zip(got, want, labels):
        w = np.asarray(w)
        try:
            assert_close(g, w)
            if w.dtype.kind == "f":
                np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None


def check(config: str, cases: dict, values: list[np.ndarray]) -> None:
    """``cases`` maps a label to (graph builder, numpy reference), both taking the inputs; all in one function."""
    labels = list(cases)
    f = compile_(config, lambda *xs: [cases[k][0](*xs) for k in labels], values)
    want = [quiet(cases[k][1], *values) for k in labels]
    assert_all(f(values), want, labels)


def special_values(dtype: str) -> np.ndarray:
    """Limits, -1/0/1 and, for floats, NaN, infinities, -0.0 and values out of every integer type's range."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([False, True, True, False])
    if dt.kind in "iu":
        info = np.iinfo(dt)
        vals = [info.min, info.min + 1, -129, -128, -7, -2, -1, 0, 1, 2, 7, 127, 128, 255, 256, 32767,
                info.max - 1, info.max]
        return np.array(sorted({v for v in vals if info.min <= v <= info.max}), dtype=dt)
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 127.9, 128.0, 255.5, 256.0,
                     -129.0, 300.7, -300.7, 32768.0, -32769.0, 65536.5, 2.0**31, -2.0**31 - 1e3, 4e9, -4e9,
                     2.0**63, -2.0**63, 1e19, -1e19, 1e30, 3e38], dtype=dt)


def pairs(dtype: str, av: list, bv: list) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) of the values representable in ``dtype``, as two arrays."""
    info = np.iinfo(dtype)
    ok = [v for v in set(av) | set(bv) if info.min <= v <= info.max]
    a = [p for p in av if p in ok for q in bv if q in ok]
    b = [q for p in av if p in ok for q in bv if q in ok]
    return np.array(a, dtype), np.array(b, dtype)



def on_pair(fn, k: int):
    """``fn(a, b)`` applied to inputs 2k and 2k+1 (one pair of inputs per dtype in one function)."""
    return lambda *xs: fn(xs[2 * k], xs[2 * k + 1])


def same(fn):
    """A case whose Python expression builds the graph and computes numpy's answer alike."""
    return fn, fn


# --- integers ------------------------------------------------------------------------------------------
WRAPPING = {"a+b": lambda a, b: a + b, "a-b": lambda a, b: a - b, "a*b": lambda a, b: a * b,
            "(a+b)*b": lambda a, b: (a + b) * b, "a*a*a": lambda a, b: a * a * a, "-a": lambda a, b: -a,
            "abs(a)": lambda a, b: abs(a), "a+1": lambda a, b: a + 1, "(a+b)<a": lambda a, b: (a + b) < a,
            "(a+b)>=(a-b)": lambda a, b: (a + b) >= (a - b), "a**3": lambda a, b: a ** 3}


def test_small_integers_wrap(config):
    """int8/uint8/int16 (and int32/int64 products) wrap as numpy's do, also inside fused chains and when wrapped
    values are compared; a sum of wrapped products widens only afterwards."""
    values, cases = [], {}
    for k, dt in enumerate(INTS):
        info = np.iinfo(dt)
        values += pairs(dt, [info.min, info.max, info.max - 1, 100, 0, 1, -1], [1, -1, 3, 100, info.max, info.min])
        cases.update({f"{dt} {name}": same(on_pair(fn, k)) for name, fn in WRAPPING.items()})
        cases[f"{dt} sum(a*b)"] = on_pair(lambda a, b: gc.sum(a * b), k), on_pair(lambda a, b: np.sum(a * b), k)
        cases[f"{dt} max(a+b)"] = on_pair(lambda a, b: gc.max(a + b), k), on_pair(lambda a, b: np.max(a + b), k)
    check(config, cases, values)


DIVISION = {"a//b": lambda a, b: a // b, "a%b": lambda a, b: a % b, "a//b*b+a%b": lambda a, b: a // b * b + a % b,
            "a%0": lambda a, b: a % 0, "a//0": lambda a, b: a // 0, "(a+b)//(b-a)": lambda a, b: (a + b) // (b - a)}


def test_integer_floor_div_and_mod(config):
    """numpy's sign rules; division and modulo by zero give 0 (never SIGFPE), also INT_MIN // -1 and INT_MIN % -1;
    mixed dtypes compute in numpy's common type."""
    values, cases = [], {}
    for k, dt in enumerate(INTS):
        info = np.iinfo(dt)
        values += pairs(dt, [info.min, info.min + 1, -7, -1, 0, 1, 7, info.max], [-1, -3, 0, 3, 1, -7, 2, info.min])
        cases.update({f"{dt} {name}": same(on_pair(fn, k)) for name, fn in DIVISION.items()})
    cases["int8//uint8"] = same(lambda *xs: xs[0][:16] // xs[3][:16])
    cases["uint8%int16"] = same(lambda *xs: xs[2][:16] % xs[5][:16])
    cases["int64//int8"] = same(lambda *xs: xs[8][:16] // xs[1][:16])
    check(config, cases, values)


def test_float_floor_div_and_mod(config):
    """Python's floor division and modulo on floats, as numpy computes them (NaN, infinities, signed zeros)."""
    sp = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 7.5, -7.5, 3.0, -3.0, 1e-30, 1e30]
    values, cases = [], {}
    for k, dt in enumerate(FLOATS):
        values += [np.array([p for p in sp for q in sp], dt), np.array([q for p in sp for q in sp], dt)]
        cases.update({f"{dt} {name}": same(on_pair(fn, k)) for name, fn in {
            "a//b": lambda a, b: a // b, "a%b": lambda a, b: a % b, "a//2.5": lambda a, b: a // 2.5,
            "-a%b": lambda a, b: -a % b,
            "1/(a//b)": lambda a, b: 1 / (a // b), "1/(a%b)": lambda a, b: 1 / (a % b)}.items()})  # signed zeros
    check(config, cases, values)


# --- casts ---------------------------------------------------------------------------------------------
def cast_values(n: int = 0) -> list[np.ndarray]:
    """One input per dtype, all of one length: each dtype's special values, tiled to ``n`` if given."""
    raw = {dt: special_values(dt) for dt in ALL_DTYPES}
    size = n or max(v.size for v in raw.values())
    return [np.resize(raw[dt], size) for dt in ALL_DTYPES]


CHAINS = [("float64", "float32", "float64"), ("float64", "int8", "float64"), ("int64", "int8", "int64"),
          ("float64", "bool", "float64"), ("int32", "float32", "int32"), ("uint8", "int8", "int16"),
          ("float32", "uint8", "float32"), ("float64", "int32", "int8"), ("int16", "uint8", "int8")]


def test_casts_between_every_pair_of_dtypes(config):
    """x.astype(d) for every pair, NaN/inf/out-of-range floats included (C leaves those undefined; graphc gives
    x86-64's answer, which is numpy's there); chains of casts keep every intermediate rounding or wrap; a float
    summed into an integer dtype converts each element first."""
    index = {dt: k for k, dt in enumerate(ALL_DTYPES)}
    cases = {}
    for src in ALL_DTYPES:
        for dst in ALL_DTYPES:
            cases[f"{src}->{dst}"] = (lambda *xs, k=index[src], d=dst: gc.cast(xs[k], d),
                                      lambda *xs, k=index[src], d=dst: xs[k].astype(d))
    for c in CHAINS:
        cases["->".join(c)] = (lambda *xs, c=c: gc.cast(gc.cast(xs[index[c[0]]], c[1]), c[2]),
                               lambda *xs, c=c: xs[index[c[0]]].astype(c[1]).astype(c[2]))
    for dt in ("int32", "int8", "uint8", "int64"):
        cases[f"sum(float64, dtype={dt})"] = (lambda *xs, dt=dt: gc.sum(xs[-1], dtype=dt),
                                              lambda *xs, dt=dt: np.sum(xs[-1], dtype=dt))
    labels = list(cases)
    f = compile_(config, lambda *xs: [cases[k][0](*xs) for k in labels], cast_values())
    layouts = [cast_values()]
    if not CONFIGS[config][2]:                  # long arrays take the vectorized and the threaded loops
        layouts += [cast_values(40001), [v[::-3] for v in cast_values(40001)]]
    for values in layouts:
        assert_all(f(values), [quiet(cases[k][1], *values) for k in labels], labels)


# --- NaN -----------------------------------------------------------------------------------------------
def test_nan_propagates_as_in_numpy(config):
    """max/min/maximum/minimum/clip give NaN where numpy does, argmax/argmin the first NaN's index; x*0, x-x and
    x/x are never simplified away (NaN and inf make them NaN)."""
    nan, inf = np.nan, np.inf
    x = np.array([[1.0, nan, 3.0, nan], [2.0, -1.0, 0.5, 4.0], [nan, nan, nan, nan], [-inf, 5.0, inf, 1.0]])
    lo = np.array([0.0, nan, -1.0, 0.0])
    values = [x, lo, x.astype("float32")]
    cases = {f"{name} axis={axis}": (lambda x, lo, x32, g=g, a=axis: g(x, axis=a),
                                     lambda x, lo, x32, n=n, a=axis: n(x, axis=a))
             for name, g, n in [("max", gc.max, np.max), ("min", gc.min, np.min), ("argmax", gc.argmax, np.argmax),
                                ("argmin", gc.argmin, np.argmin)] for axis in (0, 1, None)}
    cases.update({
        "maximum(x, x.T)": (lambda x, lo, x32: gc.maximum(x, x.T), lambda x, lo, x32: np.maximum(x, x.T)),
        "minimum(x.T, x)": (lambda x, lo, x32: gc.minimum(x.T, x), lambda x, lo, x32: np.minimum(x.T, x)),
        "maximum(x32, lo)": (lambda x, lo, x32: gc.maximum(x32, lo), lambda x, lo, x32: np.maximum(x32, lo)),
        "clip(x, 0, 2)": (lambda x, lo, x32: gc.clip(x, 0.0, 2.0), lambda x, lo, x32: np.clip(x, 0.0, 2.0)),
        "clip(x, lo, 2)": (lambda x, lo, x32: gc.clip(x, lo, 2.0), lambda x, lo, x32: np.clip(x, lo, 2.0)),
        "max(x*2, 1)": (lambda x, lo, x32: gc.max(x * 2, axis=1), lambda x, lo, x32: np.max(x * 2, axis=1)),
        "argmin(x32+1, 0)": (lambda x, lo, x32: gc.argmin(x32 + 1, axis=0),
                             lambda x, lo, x32: np.argmin(x32 + 1, axis=0)),
        "relu(x)": (lambda x, lo, x32: gc.relu(x), lambda x, lo, x32: np.maximum(x, 0.0)),
        "x*0": same(lambda x, lo, x32: x * 0), "0*x32": same(lambda x, lo, x32: 0 * x32),
        "x-x": same(lambda x, lo, x32: x - x), "x/x": same(lambda x, lo, x32: x / x),
        "x+0.0": same(lambda x, lo, x32: x + 0.0), "x*1": same(lambda x, lo, x32: x * 1),
    })
    check(config, cases, values)


# --- empty reductions ----------------------------------------------------------------------------------
def test_reductions_over_empty_axes(config):
    """sum 0, prod 1, mean NaN, logsumexp -inf, softmax and log_softmax of an empty row empty; reductions that keep
    a size-0 axis give empty results."""
    def empty(x):
        return np.zeros((3, 0), x.dtype if x.dtype.kind == "f" else "float64")

    values = [np.zeros((3, 0)), np.zeros((3, 0), "float32"), np.zeros((3, 0), "int32"), np.zeros((3, 0), bool)]
    cases = {}
    for k, x in enumerate(values):
        def on(fn, k=k):
            return lambda *xs: fn(xs[k])
        dt = x.dtype.name
        minus_inf = np.array(-np.inf, dt if dt.startswith("float") else "float64")
        cases.update({
            f"{dt} sum(1)": (on(lambda x: gc.sum(x, axis=1)), on(lambda x: np.sum(x, axis=1))),
            f"{dt} prod(1)": (on(lambda x: gc.prod(x, axis=1)), on(lambda x: np.prod(x, axis=1))),
            f"{dt} mean(1)": (on(lambda x: gc.mean(x, axis=1)), on(lambda x: np.mean(x, axis=1))),
            f"{dt} sum": (on(gc.sum), on(np.sum)), f"{dt} prod": (on(gc.prod), on(np.prod)),
            f"{dt} mean": (on(gc.mean), on(np.mean)),
            f"{dt} max(0)": (on(lambda x: gc.max(x, axis=0)), on(lambda x: np.max(x, axis=0))),
            f"{dt} argmin(0)": (on(lambda x: gc.argmin(x, axis=0)), on(lambda x: np.argmin(x, axis=0))),
            f"{dt} logsumexp(1)": (on(lambda x: gc.logsumexp(x, axis=1)),
                                   on(lambda x, m=minus_inf: np.full(3, m))),
            f"{dt} logsumexp": (on(gc.logsumexp), on(lambda x, m=minus_inf: m)),
            f"{dt} softmax": (on(lambda x: gc.softmax(x, axis=1)), on(empty)),
            f"{dt} log_softmax": (on(lambda x: gc.log_softmax(x, axis=1)), on(empty)),
            f"{dt} sum(x*2, 1)": (on(lambda x: gc.sum(x * 2, axis=1)), on(lambda x: np.sum(x * 2, axis=1))),
        })
    check(config, cases, values)


EMPTY_RAISES = [lambda x: gc.max(x, axis=1), lambda x: gc.argmax(x, axis=1), lambda x: gc.min(x),
                lambda x: gc.argmin(x), lambda x: gc.max(x * 2, axis=1), lambda x: gc.argmax(x, axis=None)]


def test_max_and_argmax_of_an_empty_axis_raise(config):
    """As numpy: ValueError, whichever of several outputs meets the empty axis."""
    n = len(EMPTY_RAISES)
    full, empty = np.ones((3, 2)), np.ones((3, 0))
    f = compile_(config, lambda *xs: [fn(x) for fn, x in zip(EMPTY_RAISES, xs)], [full] * n)
    assert len(f([full] * n)) == n
    for k in range(n):
        with pytest.raises(ValueError, match="zero-size|empty"):
            f([empty if j == k else full for j in range(n)])


# --- indexing ------------------------------------------------------------------------------------------
INDEXED = [lambda x, i, j: x[i], lambda x, i, j: x[:, i], lambda x, i, j: x[j], lambda x, i, j: x[0, j],
           lambda x, i, j: gc.set_subtensor(x[i], 1.0), lambda x, i, j: gc.inc_subtensor(x[i], 1.0),
           lambda x, i, j: gc.set_subtensor(x[j], 1.0), lambda x, i, j: (x * 2)[i] + 1,
           lambda x, i, j: gc.inc_subtensor(x[:, i], x[:, :1]), lambda x, i, j: x[i, i]]
NUMPY_INDEXED = [lambda x, i, j: x[i], lambda x, i, j: x[:, i], lambda x, i, j: x[j], lambda x, i, j: x[0, j],
                 lambda x, i, j: x.__setitem__(i, 1.0), lambda x, i, j: np.add.at(x, i, 1.0),
                 lambda x, i, j: x.__setitem__(j, 1.0), lambda x, i, j: x[i], lambda x, i, j: x[:, i],
                 lambda x, i, j: x[i, i]]


def test_out_of_bounds_indices_raise_index_error(config):
    """Every indexing path (basic, advanced, reading, set, inc, fused) refuses an index outside the dim with
    IndexError, for negative and huge indices too; in-bounds negative indices wrap as numpy's."""
    needs_inputs(config)
    n = len(INDEXED)
    x = np.arange(20.0).reshape(4, 5)
    fine = [x, np.array([0, -1]), np.int64(-4)]
    f = compile_(config, lambda *xs: [fn(*xs[3 * k: 3 * k + 3]) for k, fn in enumerate(INDEXED)], fine * n)
    f(fine * n)
    bad_cases = [(np.array(i), np.int64(j)) for i, j in
                 [([0, 4], 0), ([-5], 0), ([0], 4), ([0], -5), ([10**12], 0), ([0], -10**12), ([-2**63], 0)]]
    for k in range(n):
        for i, j in bad_cases:
            try:
                NUMPY_INDEXED[k](x.copy(), i, j)
                continue                     # numpy accepts this index for this case
            except IndexError:
                pass
            values = fine * n
            values[3 * k + 1: 3 * k + 3] = [i, j]
            with pytest.raises(IndexError):
                f(values)


def test_set_and_inc_with_repeated_indices(config):
    """set_subtensor with repeated indices: the last write wins (numpy assignment); inc_subtensor accumulates every
    repeat (np.add.at), wrapping small integers; for floats, ints and bools, advanced and mixed indices."""
    idx = np.array([0, 2, 0, 3, 2, 0])
    values = [np.arange(20.0).reshape(4, 5), idx, np.arange(6.0) * 10, np.full((4, 3), 120, "int8"),
              np.full(6, 5, "int8"), np.zeros(4, bool)]

    def assigned(x, index, v, add=False):
        out = x.copy()
        if add:
            np.add.at(out, index, v)
        else:
            out[index] = v
        return out

    cases = {
        "set x[i]": (lambda x, i, v, *_: gc.set_subtensor(x[i], v[:, None]),
                     lambda x, i, v, *_: assigned(x, i, v[:, None])),
        "inc x[i]": (lambda x, i, v, *_: gc.inc_subtensor(x[i], v[:, None]),
                     lambda x, i, v, *_: assigned(x, i, v[:, None], True)),
        "set x[:, i]": (lambda x, i, v, *_: gc.set_subtensor(x[:, i[:5] + 1], v[:5]),
                        lambda x, i, v, *_: assigned(x, (slice(None), i[:5] + 1), v[:5])),
        "inc x[1:, i]": (lambda x, i, v, *_: gc.inc_subtensor(x[1:, i[:5] + 1], v[:5]),
                         lambda x, i, v, *_: assigned(x, (slice(1, None), i[:5] + 1), v[:5], True)),
        "inc x[i, i]": (lambda x, i, v, *_: gc.inc_subtensor(x[i, i], v),
                        lambda x, i, v, *_: assigned(x, (i, i), v, True)),
        "inc x[i] += 1": (lambda x, i, v, *_: gc.inc_subtensor(x[i], 1.0),
                          lambda x, i, v, *_: assigned(x, i, 1.0, True)),
        "int8 inc": (lambda x, i, v, y, w, b: gc.inc_subtensor(y[i], w[:, None]),
                     lambda x, i, v, y, w, b: assigned(y, i, w[:, None], True)),
        "int8 set": (lambda x, i, v, y, w, b: gc.set_subtensor(y[i], w[:, None] * i[:, None].astype("int8")),
                     lambda x, i, v, y, w, b: assigned(y, i, w[:, None] * i[:, None].astype("int8"))),
        "bool inc": (lambda x, i, v, y, w, b: gc.inc_subtensor(b[i], True),
                     lambda x, i, v, y, w, b: assigned(b, i, True, True)),
    }
    check(config, cases, values)


def test_gradient_of_repeated_indices_accumulates_deterministically(config):
    """The gradient of x[idx] adds every repeat's cotangent (np.add.at, in index order): bit for bit, on inputs
    large enough for OpenMP, and the same on every call."""
    needs_inputs(config)
    backend, mode, _ = CONFIGS[config]
    rng = np.random.default_rng(0)
    x = gc.fvector("x")
    i = gc.lvector("i")
    w = gc.fvector("w")
    f = gc.function([x, i, w], gc.grad(gc.sum(x[i] * w), x), backend=backend, mode=mode)
    xv = np.zeros(7, "float32")
    iv = rng.integers(-7, 7, 100_000)
    wv = rng.normal(size=iv.size).astype("float32")
    want = np.zeros(7, "float32")
    np.add.at(want, iv, wv)
    first = f(xv, iv, wv)
    np.testing.assert_array_equal(first, want)
    np.testing.assert_array_equal(f(xv, iv, wv), first)


# --- aliasing ------------------------------------------------------------------------------------------
def test_aliased_inputs_and_shared_storage_are_never_corrupted(config):
    """Inputs that are the same array, views of one another (transposed, reversed, overlapping) or of a shared
    variable's storage: results equal numpy's on copies, nothing is written into the caller's arrays or the
    shared variable's old storage, and no output shares memory with an input."""
    needs_inputs(config)
    backend, mode, _ = CONFIGS[config]
    rng = np.random.default_rng(0)
    W = gc.shared(rng.random((4, 4)), name="W")
    x, y, i = gc.dmatrix("x"), gc.dmatrix("y"), gc.lvector("i")
    outs = [gc.set_subtensor(x[0], y[1]), gc.inc_subtensor(x[i], y[:2]), x @ y + x, gc.exp(x) + y, (x * 2)[::-1],
            gc.inc_subtensor(y[:, 1:], x[:, :3]), x @ W + y, 2.0 * (x @ y) + 3.0 * y,
            gc.set_subtensor(W[i], x[:2]), x.T + y, x]
    f = gc.function([x, y, i], outs, updates=[(W, W + x @ y)], backend=backend, mode=mode)

    def reference(x, y, W):
        a, b, c, d = x.copy(), x.copy(), y.copy(), W.copy()
        a[0] = y[1]
        np.add.at(b, [0, 2], y[:2])
        c[:, 1:] += x[:, :3]
        d[[0, 2]] = x[:2]
        return [a, b, x @ y + x, np.exp(x) + y, (x * 2)[::-1], c, x @ W + y, 2 * (x @ y) + 3 * y, d, x.T + y,
                x], W + x @ y

    base = rng.random((4, 4))
    storage = W.get_value(borrow=True)
    cases = {"same": (base, base), "transposed": (base, base.T), "reversed": (base, base[::-1]),
             "shared storage": (storage, storage.T),
             "overlapping": (np.lib.stride_tricks.as_strided(base, (4, 4), (8, 8)), base)}
    for label, (xa, ya) in cases.items():
        before = (xa.copy(), ya.copy(), W.get_value())
        got = f(xa, ya, np.array([0, 2]))
        want, new_w = reference(*before)
        np.testing.assert_array_equal(xa, before[0], err_msg=label)
        np.testing.assert_array_equal(ya, before[1], err_msg=label)
        np.testing.assert_allclose(W.get_value(), new_w, err_msg=label)
        for k, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, w, err_msg=f"{label}: output {k}")
            assert not any(np.may_share_memory(g, a) for a in (xa, ya, W.get_value(borrow=True))), (label, k)


# --- gradients -----------------------------------------------------------------------------------------
def sigmoid64(x):
    return 1 / (1 + np.exp(-x.astype("float64")))


def test_gradients_are_finite_where_the_math_is(config):
    """prod with zeros, x**0 at 0, sigmoid and log(sigmoid) in float32's tails, binary cross-entropy, and a zero
    cotangent meeting an infinite local slope (sqrt and log at 0, exp overflowing) through indexing or where."""
    needs_inputs(config)
    backend, mode, _ = CONFIGS[config]
    tails = np.array([-100, -50, -20, -1, 0, 1, 20, 50, 100], "float32")
    zero = np.array([0.0, 1.0, 4.0, 1000.0])
    z = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 4.0]])
    labels = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1], "float32")
    y = gc.constant(labels)
    cases = {   # cost of (x32, x, m), expected gradient wrt (x32, x, m)
        "prod with zeros": (lambda a, x, m: gc.sum(gc.prod(m, axis=1)),
                            (0 * tails, 0 * zero, np.array([[6.0, 0, 0], [0, 0, 0], [8, 4, 2]]))),
        "x**0": (lambda a, x, m: gc.sum(x ** 0) + gc.sum(m ** 0.0), (0 * tails, 0 * zero, 0 * z)),
        "x**1, x**2": (lambda a, x, m: gc.sum(x ** 1) + gc.sum(m ** 2), (0 * tails, 1 + 0 * zero, 2 * z)),
        "sigmoid": (lambda a, x, m: gc.sum(gc.sigmoid(a)), (sigmoid64(tails) * sigmoid64(-tails), 0 * zero, 0 * z)),
        "log(sigmoid)": (lambda a, x, m: gc.sum(gc.log(gc.sigmoid(a))), (sigmoid64(-tails), 0 * zero, 0 * z)),
        "log(1-sigmoid)": (lambda a, x, m: gc.sum(gc.log(1 - gc.sigmoid(a))), (-sigmoid64(tails), 0 * zero, 0 * z)),
        "cross-entropy": (lambda a, x, m: -gc.sum(y * gc.log(gc.sigmoid(a)) + (1 - y) * gc.log(1 - gc.sigmoid(a))),
                          (sigmoid64(tails) - labels, 0 * zero, 0 * z)),
        "sqrt[1:]": (lambda a, x, m: gc.sum(gc.sqrt(x)[1:3]), (0 * tails, np.array([0, 0.5, 0.25, 0]), 0 * z)),
        "sqrt[[1,2,2]]": (lambda a, x, m: gc.sum(gc.sqrt(x)[np.array([1, 2, 2])]),
                          (0 * tails, np.array([0, 0.5, 0.5, 0]), 0 * z)),
        "where(x>0, sqrt)": (lambda a, x, m: gc.sum(gc.where(x > 0, gc.sqrt(x), 0)),
                             (0 * tails, np.array([0, 0.5, 0.25, 0.5 / np.sqrt(1000)]), 0 * z)),
        "log[1:]": (lambda a, x, m: gc.sum(gc.log(x)[1:]), (0 * tails, np.array([0, 1, 0.25, 1e-3]), 0 * z)),
        "exp[:3]": (lambda a, x, m: gc.sum(gc.exp(x)[:3]), (0 * tails, np.append(np.exp(zero[:3]), 0), 0 * z)),
        "logsumexp of -inf rows": (lambda a, x, m: gc.sum(gc.logsumexp(gc.log(m[:2]), axis=0)[2:]),
                                   (0 * tails, 0 * zero, np.array([[0, 0, 0.25], [0, 0, 0.25], [0, 0, 0]]))),
    }
    xs = [gc.fvector("a"), gc.dvector("x"), gc.dmatrix("m")]
    names = list(cases)
    grads = [g for name in names for g in gc.grad(cases[name][0](*xs), xs, disconnected_inputs="ignore")]
    got = gc.function(xs, grads, backend=backend, mode=mode)(tails, zero, z)
    for k, name in enumerate(names):
        for g, want in zip(got[3 * k: 3 * k + 3], cases[name][1]):
            assert np.all(np.isfinite(g)), f"{name}: {g}"
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6, err_msg=name)
