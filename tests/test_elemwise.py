"""Elementwise ops against numpy as the oracle, on both backends.

Every scalar op x every dtype: the output dtype must be numpy's exactly (numpy 2 promotion, weak Python scalars),
values must match numpy's (exactly for ints and bools, with a tolerance for floats), and ops numpy would compute in
float16 (or refuses) raise TypeError. To keep compile time down, one function with many outputs is built per dtype
(or dtype pair) and reused for many input layouts: shapes and strides are dynamic, so one build serves them all."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import graphc as gc
from tests.utils import ALL_DTYPES, BACKENDS, assert_close, cached, noncontig, rand

INT_DTYPES = ["int8", "uint8", "int16", "int32", "int64"]
SIGNED = ["int8", "int16", "int32", "int64"]
FLOATS = ["float32", "float64"]



def oracle(fn, *args):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(fn(*args))


def special_values(dtype: str) -> np.ndarray:
    """Edge values of a dtype: limits (wraparound), -1/0/1 (division), NaN/inf/-0.0 for floats."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.array([False, True])
    if dt.kind in "iu":
        info = np.iinfo(dt)
        vals = [info.min, info.min + 1, -100, -7, -3, -2, -1, 0, 1, 2, 3, 7, 100, info.max - 1, info.max]
        return np.array(sorted({v for v in vals if info.min <= v <= info.max}), dtype=dt)
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -0.5, 0.5, 1, -1, 2, -2, 3, -3, 7.5, -7.5,
                     88.5, -88.5, 100, -100, 1e30, -1e30], dtype=dt)


def base_matrix(dtype: str, shape=(5, 8), seed=0) -> np.ndarray:
    """Specials followed by random values, in a C-contiguous matrix."""
    sp = special_values(dtype)
    n = int(np.prod(shape))
    fill = rand((max(n - sp.size, 0),), dtype, rng=np.random.default_rng(seed), low=-9, high=9)
    return np.concatenate([sp, fill])[:n].reshape(shape).astype(dtype)


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """The same-shaped (or deliberately re-shaped) inputs in many memory layouts."""
    big = np.resize(a, (200, 420))
    return {
        "contiguous": a,
        "noncontig": noncontig(a),
        "fortran": np.asfortranarray(a),
        "reversed": a[::-1, ::-1],
        "stride0": np.broadcast_to(a[:1], a.shape),
        "empty_rows": a[:0],
        "empty_cols": a[:, :0],
        "one": a[:1, :1],
        "large": np.ascontiguousarray(big[:, :210]),          # above the OpenMP threshold
        "large_strided": big[:, ::2],                           # ... and strided
    }


LAYOUTS = list(layouts(np.zeros((5, 8))))


# --- unary ops -------------------------------------------------------------------------------------
def _float_out(x):
    return np.exp(np.zeros(1, x.dtype)).dtype


def ref_sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(_float_out(x))


def ref_softplus(x):
    return np.logaddexp(0, x.astype(np.float64)).astype(_float_out(x))


def ref_relu(x):
    np.negative(np.zeros(1, x.dtype))          # relu computes like negative: refuses bool, as numpy does
    return np.maximum(x, 0)


UNARY = {
    "neg": (gc.neg, np.negative), "abs": (gc.abs, np.absolute), "sign": (gc.sign, np.sign),
    "exp": (gc.exp, np.exp), "log": (gc.log, np.log), "log1p": (gc.log1p, np.log1p), "expm1": (gc.expm1, np.expm1),
    "sqrt": (gc.sqrt, np.sqrt), "sin": (gc.sin, np.sin), "cos": (gc.cos, np.cos), "tanh": (gc.tanh, np.tanh),
    "sigmoid": (gc.sigmoid, ref_sigmoid), "softplus": (gc.softplus, ref_softplus), "relu": (gc.relu, ref_relu),
    "invert": (gc.invert, np.invert), "isnan": (gc.isnan, np.isnan), "isinf": (gc.isinf, np.isinf),
    "isfinite": (gc.isfinite, np.isfinite),
}

BINARY = {
    "add": (gc.add, np.add), "sub": (gc.sub, np.subtract), "mul": (gc.mul, np.multiply),
    "true_div": (gc.true_div, np.true_divide), "floor_div": (gc.floor_div, np.floor_divide),
    "mod": (gc.mod, np.remainder), "pow": (gc.pow, np.power), "maximum": (gc.maximum, np.maximum),
    "minimum": (gc.minimum, np.minimum), "eq": (gc.eq, np.equal), "neq": (gc.neq, np.not_equal),
    "lt": (gc.lt, np.less), "le": (gc.le, np.less_equal), "gt": (gc.gt, np.greater), "ge": (gc.ge, np.greater_equal),
    "bitwise_and": (gc.bitwise_and, np.bitwise_and), "bitwise_or": (gc.bitwise_or, np.bitwise_or),
    "bitwise_xor": (gc.bitwise_xor, np.bitwise_xor),
}


def numpy_dtype(ref, *dtypes):
    """numpy's output dtype for these input dtypes, or None where numpy refuses or would compute in float16."""
    try:
        out = oracle(ref, *(np.ones(1, d) for d in dtypes)).dtype
    except TypeError:
        return None
    return None if out == np.float16 else out.name


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_dtype_rule(name, dtype):
    build, ref = UNARY[name]
    x = gc.tensor("x", dtype, shape=(None,))
    want = numpy_dtype(ref, dtype)
    if want is None:
        with pytest.raises(TypeError):
            build(x)
    else:
        assert build(x).dtype == want


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_dtype_rule_all_pairs(name):
    build, ref = BINARY[name]
    for da, db in itertools.product(ALL_DTYPES, repeat=2):
        a, b = gc.tensor("a", da, shape=(None,)), gc.tensor("b", db, shape=(None,))
        want = numpy_dtype(ref, da, db)
        if want is None:
            with pytest.raises(TypeError):
                build(a, b)
        else:
            assert build(a, b).dtype == want, (da, db)


def _unary_function(dtype, backend):
    def build():
        x = gc.tensor("x", dtype, shape=(None, None))
        names = [n for n, (_, ref) in UNARY.items() if numpy_dtype(ref, dtype) is not None]
        return [x], [UNARY[n][0](x) for n in names], names
    return cached(("unary", dtype), backend, build)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_unary_values(dtype, layout, backend):
    f, names = _unary_function(dtype, backend)
    x = layouts(base_matrix(dtype))[layout]
    got = f(x)
    for name, g in zip(names, got):
        want = oracle(UNARY[name][1], x)
        try:
            assert_close(g, want)
        except AssertionError as exc:
            raise AssertionError(f"{name}({dtype}) [{layout}]: {exc}") from None


def test_unary_scalar_input(backend):
    """0-d inputs take the scalar path of the kernel."""
    def build():
        x = gc.tensor("x", "float64", shape=())
        i = gc.tensor("i", "int8", shape=())
        return [x, i], [gc.exp(x), gc.neg(i), gc.abs(i), gc.sigmoid(x), gc.sqrt(x)], None
    f, _ = cached("unary0d", backend, build)
    for xv, iv in [(0.5, -128), (-2.0, 5), (np.nan, 127)]:
        got = f(np.float64(xv), np.int8(iv))
        x, i = np.float64(xv), np.int8(iv)
        for g, w in zip(got, [np.exp(x), np.negative(i), np.absolute(i), ref_sigmoid(np.array(x)),
                              oracle(np.sqrt, x)]):
            assert_close(g, np.asarray(w))


# --- binary ops ------------------------------------------------------------------------------------
BINARY_PAIRS = [(d, d) for d in ALL_DTYPES] + [   # mixed pairs: the loop converts inputs; all pairs' dtypes above
    ("int8", "uint8"), ("uint8", "int64"), ("int32", "float32"), ("bool", "float32"), ("float32", "float64"),
]


def _binary_names(da, db):
    names = []
    for n, (_, ref) in BINARY.items():
        out = numpy_dtype(ref, da, db)
        if out is None:
            continue
        if n == "pow" and np.dtype(out).kind != "f":
            continue        # integer powers raise on negative exponents: tested on their own below
        names.append(n)
    return names


def _binary_function(da, db, backend):
    def build():
        a = gc.tensor("a", da, shape=(None, None))
        b = gc.tensor("b", db, shape=(None, None))
        names = _binary_names(da, db)
        return [a, b], [BINARY[n][0](a, b) for n in names], names
    return cached(("binary", da, db), backend, build)


def binary_layouts(da, db) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    col = special_values(da)[:, None]
    row = special_values(db)[None, :]
    full_a, full_b = (np.ascontiguousarray(v) for v in np.broadcast_arrays(col, row))
    big_a = np.resize(np.concatenate([col.ravel(), rand((500,), da, low=-20, high=20)]), (200, 200))
    big_b = np.resize(np.concatenate([row.ravel(), rand((700,), db, low=-20, high=20)]), (200, 200))
    return {
        "grid_runtime_broadcast": (col, row),        # (n, 1) with (1, m): both declared (None, None)
        "row_of_a_vs_full": (full_a[:1], full_b),
        "full": (full_a, full_b),
        "full_noncontig": (noncontig(full_a), noncontig(full_b)),
        "fortran_and_c": (np.asfortranarray(full_a), full_b),
        "row_vs_full": (full_a, row),
        "empty": (full_a[:0], row),
        "one": (full_a[:1, :1], full_b[:1, :1]),
        "large": (big_a, big_b),
        "large_transposed": (big_a.T, big_b),
    }


BINARY_LAYOUTS = list(binary_layouts("int8", "int8"))


def check_outputs(names, got, refs_args, label):
    for name, g in zip(names, got):
        want = oracle(BINARY[name][1], *refs_args)
        try:
            assert_close(g, want)
            if want.dtype.kind == "f" and name in ("floor_div", "mod"):
                zero = want == 0
                np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(want[zero]), err_msg="sign of zero")
        except AssertionError as exc:
            raise AssertionError(f"{name}{label}: {exc}") from None


@pytest.mark.parametrize("layout", BINARY_LAYOUTS)
@pytest.mark.parametrize("da,db", BINARY_PAIRS, ids=[f"{a}-{b}" for a, b in BINARY_PAIRS])
def test_binary_values(da, db, layout, backend):
    """All binary ops on a grid of edge values (limits, -1, 0, NaN, +-inf, -0.0), so integer wraparound, integer
    floor_div/mod by zero and negative operands, float floor_div/mod sign rules and NaN propagation of
    maximum/minimum are all compared with numpy."""
    f, names = _binary_function(da, db, backend)
    a, b = binary_layouts(da, db)[layout]
    check_outputs(names, f(a, b), (a, b), f"({da}, {db}) [{layout}]")


@pytest.mark.parametrize("dtype", ["bool"] + INT_DTYPES)
def test_integer_pow(dtype, backend):
    def build():
        a = gc.tensor("a", dtype, shape=(None, None))
        b = gc.tensor("b", dtype, shape=(None, None))
        return [a, b], [gc.pow(a, b), a ** 2, a ** 0], None
    f, _ = cached(("ipow", dtype), backend, build)
    base = special_values(dtype)[:, None]
    exps = special_values(dtype)
    exps = exps[exps >= 0][None, :]
    got = f(base, exps)
    for g, want in zip(got, [oracle(np.power, base, exps), oracle(np.power, base, 2), oracle(np.power, base, 0)]):
        assert_close(g, want)
    if dtype in SIGNED:
        with pytest.raises(ValueError, match="negative integer powers"):
            np.power(base, np.array([[-1]], dtype=dtype))
        with pytest.raises(ValueError, match="negative integer powers"):
            f(base, np.array([[2, -1]], dtype=dtype))


def test_binary_broadcast_mismatch_raises(backend):
    f, _ = _binary_function("float64", "float64", backend)
    with pytest.raises(ValueError):
        np.add(np.ones((3, 5)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones((3, 5)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="broadcast"):
        f(np.ones((3, 5)), np.ones((0, 5)))


# --- weak Python scalars ---------------------------------------------------------------------------
def scalars_for(dtype):
    vals = [3, True, 2.5, -1.5, 0]
    if np.dtype(dtype).kind != "u":
        vals.append(-3)
    return vals


def _weak_cases(dtype, names=None, scalars=None, sides=("right", "left")):
    """(label, op name, scalar, side) for each case numpy accepts with an array of ``dtype``; and the errors."""
    cases, errors = [], []
    x0 = np.ones(1, dtype)
    for name, s in itertools.product(names or BINARY, scalars or scalars_for(dtype)):
        ref = BINARY[name][1]
        for side in sides:
            args = (x0, s) if side == "right" else (s, x0)
            try:
                oracle(ref, *args)
            except (TypeError, OverflowError) as exc:
                errors.append((name, s, side, type(exc)))
                continue
            except ValueError:
                continue   # an integer power with a negative exponent: raises at run time, tested on its own
            if name == "pow" and np.dtype(dtype).kind != "f" and side == "left" and not isinstance(s, float):
                continue   # x holds negative exponents
            cases.append((f"{name}({'x, ' + repr(s) if side == 'right' else repr(s) + ', x'})", name, s, side))
    return cases, errors


def _apply_weak(x, name, s, side):
    fn = BINARY[name][0]
    return fn(x, s) if side == "right" else fn(s, x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_weak_scalar_dtypes(dtype):
    """Every binary op with a weak Python bool/int/float on either side: numpy's dtype, or numpy's error."""
    cases, errors = _weak_cases(dtype)
    x = gc.tensor("x", dtype, shape=(None,))
    x0 = np.ones(1, dtype)
    for label, name, s, side in cases:
        want = oracle(BINARY[name][1], *((x0, s) if side == "right" else (s, x0)))
        assert _apply_weak(x, name, s, side).dtype == want.dtype, f"{label} with x: {dtype}"
    for name, s, side, exc_type in errors:
        with pytest.raises(exc_type):
            _apply_weak(x, name, s, side)


WEAK_VALUE_OPS = ["add", "sub", "mul", "true_div", "floor_div", "mod", "pow", "maximum", "lt", "bitwise_xor"]


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_weak_scalars(dtype, backend):
    """numpy 2 / NEP 50: Python scalars are weak (``x_f32 * 2.0`` stays float32, ``x_i8 + 1`` stays int8) and
    their values convert exactly into the array's dtype (a representative subset of ops; dtypes of all are above)."""
    scalars = [3, 2.5] + ([] if np.dtype(dtype).kind == "u" else [-3, -1.5])
    cases, _ = _weak_cases(dtype, WEAK_VALUE_OPS, scalars)

    def build():
        x = gc.tensor("x", dtype, shape=(None,))
        return [x], [_apply_weak(x, name, s, side) for _, name, s, side in cases], None
    f, _ = cached(("weak", dtype), backend, build)
    x = special_values(dtype)
    for xv in (x, noncontig(x), x[:0]):
        got = f(xv)
        for (label, name, s, side), g in zip(cases, got):
            ref = BINARY[name][1]
            want = oracle(ref, xv, s) if side == "right" else oracle(ref, s, xv)
            try:
                assert_close(g, want)
            except AssertionError as exc:
                raise AssertionError(f"{label} with x: {dtype}: {exc}") from None


def test_weak_scalar_examples():
    """The two cases the design names, spelled out."""
    xf = gc.fvector("xf")
    xi = gc.bvector("xi")
    assert (xf * 2.0).dtype == "float32"
    assert (2.0 * xf).dtype == "float32"
    assert (xi + 1).dtype == "int8"
    assert (xi * 2.0).dtype == "float64"
    assert (xi / 2).dtype == "float64"
    assert (gc.tensor("b", "bool", shape=(None,)) + 1).dtype == "int64"
    assert (xf + np.float64(1)).dtype == "float64"      # numpy scalars are strong


def test_weak_scalar_out_of_range_raises():
    xi = gc.bvector("xi")
    xu = gc.tensor("xu", "uint8", shape=(None,))
    with pytest.raises(OverflowError):
        np.add(np.ones(1, "int8"), 1000)
    with pytest.raises(OverflowError):
        xi + 1000
    with pytest.raises(OverflowError):
        gc.add(xu, -1)
    with pytest.raises(OverflowError):
        gc.maximum(xu, -3)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int64"])
def test_compare_with_out_of_range_python_int(dtype, backend):
    """numpy 2 compares arrays with Python ints outside the dtype's range exactly (no OverflowError)."""
    info = np.iinfo(dtype)
    big, small = info.max + 1, info.min - 1

    def build():
        x = gc.tensor("x", dtype, shape=(None,))
        outs = [x < big, x > big, gc.eq(x, big), gc.neq(x, big), x >= small, x <= small, gc.lt(small, x),
                gc.ge(big, x)]
        return [x], outs, None
    f, _ = cached(("cmp_oob", dtype), backend, build)
    x = special_values(dtype)
    want = [x < big, x > big, np.equal(x, big), np.not_equal(x, big), x >= small, x <= small, np.less(small, x),
            np.greater_equal(big, x)]
    for g, w in zip(f(x), want):
        assert_close(g, w)


# --- cast ------------------------------------------------------------------------------------------
def cast_inputs(src):
    """Values whose conversion C and numpy define identically: no NaN/inf/out-of-range float -> int."""
    dt = np.dtype(src)
    if dt.kind != "f":
        return {"all": special_values(src)}
    return {
        "in_range": np.array([0, 0.4, 0.5, 0.99, 1, 1.5, 2.7, 100.2, 126.9, 127, 3], dtype=src),
        "negative": np.array([-0.4, -0.99, -1, -1.5, -2.7, -100.2, -127.9, -128, -0.0], dtype=src),
        "special": np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 0.0, -0.0, 3.5], dtype=src),
    }


def cast_targets(src, part):
    if part == "negative":
        return [d for d in ALL_DTYPES if d not in ("uint8",)]
    if part == "special":
        return ["bool"] + FLOATS
    return ALL_DTYPES


@pytest.mark.parametrize("src", ALL_DTYPES)
def test_cast(src, backend):
    parts = cast_inputs(src)

    def build():
        ins, outs = [], []
        for part in parts:
            x = gc.tensor(part, src, shape=(None,))
            ins.append(x)
            outs += [gc.cast(x, t) for t in cast_targets(src, part)]
        return ins, outs, None
    f, _ = cached(("cast", src), backend, build)
    for view in (lambda a: a, noncontig):
        values = [view(v) for v in parts.values()]
        got = iter(f(*values))
        for (part, v) in zip(parts, values):
            for t in cast_targets(src, part):
                g = next(got)
                want = oracle(lambda a: a.astype(t), v)
                try:
                    assert_close(g, want, rtol=0, atol=0)
                except AssertionError as exc:
                    raise AssertionError(f"cast {src}->{t} [{part}]: {exc}") from None


def test_cast_same_dtype_is_identity():
    x = gc.fvector("x")
    assert gc.cast(x, "float32") is x
    assert gc.cast(x, np.float64).dtype == "float64"
    with pytest.raises(TypeError):
        gc.cast(x, "float16")
    with pytest.raises(TypeError):
        gc.cast(x, "complex128")


# --- where, clip -----------------------------------------------------------------------------------
def test_where(backend):
    def build():
        c = gc.tensor("c", "bool", shape=(None, None))
        ci = gc.tensor("ci", "int8", shape=(None,))
        a = gc.tensor("a", "int8", shape=(None, None))
        b = gc.tensor("b", "uint8", shape=(None,))
        x = gc.tensor("x", "float32", shape=(None, None))
        y = gc.tensor("y", "float64", shape=())
        outs = [gc.where(c, a, b), gc.where(c, x, 0), gc.where(c, 0.5, x), gc.where(ci, a, b), gc.where(c, x, y),
                gc.where(c, a, 7), gc.where(ci, x, gc.cast(a, "float32"))]
        return [c, ci, a, b, x, y], outs, None
    f, _ = cached("where", backend, build)
    rng = np.random.default_rng(1)
    for n, m in [(3, 4), (1, 4), (0, 4), (3, 1)]:
        c = rng.random((n, m)) > 0.5
        ci = rand((m,), "int8", rng=rng)
        a = rand((n, m), "int8", rng=rng)
        b = rand((m,), "uint8", rng=rng, high=200)
        x = rand((n, m), "float32", rng=rng)
        if x.size:
            x.flat[0] = np.nan
        y = np.float64(-2.5)
        want = [np.where(c, a, b), np.where(c, x, 0), np.where(c, 0.5, x), np.where(ci, a, b), np.where(c, x, y),
                np.where(c, a, 7), np.where(ci, x, a.astype("float32"))]
        for cv, xv in [(c, x), (noncontig(c), x.T.copy().T)]:
            got = f(cv, ci, a, b, xv, y)
            for k, (g, w) in enumerate(zip(got, want)):
                try:
                    assert_close(g, w)
                except AssertionError as exc:
                    raise AssertionError(f"where output {k} at shape {(n, m)}: {exc}") from None


def test_clip(backend):
    def build():
        x = gc.tensor("x", "float32", shape=(None,))
        lo = gc.tensor("lo", "float32", shape=(None,))
        hi = gc.tensor("hi", "float32", shape=())
        i = gc.tensor("i", "int8", shape=(None,))
        u = gc.tensor("u", "uint8", shape=(None,))
        d = gc.tensor("d", "float64", shape=(None,))
        outs = [gc.clip(x, lo, hi), gc.clip(x, -1.0, 1.0), gc.clip(i, -3, 5), gc.clip(u, 2, 200), x.clip(0, 1),
                gc.clip(i, u, 100), gc.clip(d, lo, 2), gc.clip(x, 2.0, -2.0)]
        return [x, lo, hi, i, u, d], outs, None
    f, _ = cached("clip", backend, build)
    x = np.array([np.nan, -np.inf, np.inf, -5, -1, -0.5, 0, 0.5, 1, 5, 0.25], "float32")
    lo = np.array([0, 0, 0, np.nan, -2, -2, -2, 2, 0.5, 0.5, 0.5], "float32")
    hi = np.float32(1.5)
    i = special_values("int8")[:11]
    u = np.resize(special_values("uint8"), 11)
    d = np.linspace(-3, 3, 11)
    want = [np.clip(x, lo, hi), np.clip(x, -1.0, 1.0), np.clip(i, -3, 5), np.clip(u, 2, 200), np.clip(x, 0, 1),
            np.clip(i, u, 100), np.clip(d, lo, 2), np.clip(x, 2.0, -2.0)]
    for k, (g, w) in enumerate(zip(f(x, lo, hi, i, u, d), want)):
        try:
            assert_close(g, oracle(lambda: w))
        except AssertionError as exc:
            raise AssertionError(f"clip output {k}: {exc}") from None


def test_maximum_minimum_nan_propagation(backend):
    """NaN from either side wins, as numpy's maximum/minimum (not fmax/fmin) do, for both float dtypes."""
    def build():
        ins, outs = [], []
        for dt in FLOATS:
            a, b = gc.tensor("a", dt, shape=(None,)), gc.tensor("b", dt, shape=(None,))
            ins += [a, b]
            outs += [gc.maximum(a, b), gc.minimum(a, b), gc.relu(a), gc.clip(a, b, 1.0)]
        return ins, outs, None
    f, _ = cached("nanprop", backend, build)
    a = np.array([np.nan, 1, np.nan, -np.inf, np.inf, 0.0, -0.0])
    b = np.array([1, np.nan, np.nan, np.nan, 2, -0.0, 0.0])
    vals = [a.astype("float32"), b.astype("float32"), a, b]
    got = f(*vals)
    want = []
    for k in (0, 2):
        x, y = vals[k], vals[k + 1]
        want += [np.maximum(x, y), np.minimum(x, y), np.maximum(x, 0), oracle(np.clip, x, y, 1.0)]
    for g, w in zip(got, want):
        assert_close(g, w)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))


# --- broadcasting ----------------------------------------------------------------------------------
def _broadcast_function(backend):
    def build():
        x = gc.tensor("x", "float64", shape=(None, None))
        y = gc.tensor("y", "float64", shape=(None, None))
        v = gc.tensor("v", "float32", shape=(None,))
        s = gc.tensor("s", "int16", shape=())
        t = gc.tensor("t", "float64", shape=(None, None, None))
        outs = [x + y, x * v, v - x, x + s, s * v, t + v, y / t, gc.maximum(t, x)]
        return [x, y, v, s, t], outs, None
    return cached("broadcast", backend, build)


BROADCAST_CASES = {
    "runtime_row": ((1, 5), (3, 5), (5,), (2, 3, 5)),
    "runtime_row_other_side": ((3, 5), (1, 5), (1,), (1, 3, 5)),
    "both_directions": ((3, 1), (1, 5), (5,), (2, 1, 5)),
    "both_directions_swapped": ((1, 5), (3, 1), (1,), (2, 3, 1)),
    "all_ones": ((1, 1), (1, 1), (1,), (1, 1, 1)),
    "size_zero": ((0, 5), (1, 5), (5,), (2, 0, 5)),
    "size_zero_broadcast": ((1, 0), (4, 1), (1,), (3, 4, 0)),
}


@pytest.mark.parametrize("case", list(BROADCAST_CASES))
def test_broadcasting(case, backend):
    """Broadcasting in both directions, including dims that are not declared broadcastable but are 1 at run time."""
    f, _ = _broadcast_function(backend)
    sx, sy, sv, st = BROADCAST_CASES[case]
    rng = np.random.default_rng(3)
    x, y, t = (rand(s, "float64", rng=rng) for s in (sx, sy, st))
    v = rand(sv, "float32", rng=rng)
    s = np.int16(-7)
    got = f(x, y, v, s, t)
    want = [x + y, x * v, v - x, x + s, s * v, t + v, y / t, np.maximum(t, x)]
    for k, (g, w) in enumerate(zip(got, want)):
        try:
            assert_close(g, oracle(lambda: w))
        except AssertionError as exc:
            raise AssertionError(f"output {k} in case {case}: {exc}") from None


def test_broadcasting_errors(backend):
    f, _ = _broadcast_function(backend)
    good = dict(x=np.ones((3, 5)), y=np.ones((3, 5)), v=np.ones(5, "float32"), s=np.int16(1), t=np.ones((2, 3, 5)))
    for name, bad in [("y", np.ones((4, 5))), ("v", np.ones(4, "float32")), ("t", np.ones((2, 2, 5))),
                      ("x", np.ones((3, 0)))]:
        args = dict(good, **{name: bad})
        with pytest.raises(ValueError, match="broadcast"):
            f(*args.values())


def test_static_broadcastable_dims(backend):
    """Dims declared 1 broadcast statically; the output type knows its static sizes."""
    def build():
        row = gc.tensor("row", "float64", shape=(1, None))
        col = gc.tensor("col", "float64", shape=(None, 1))
        m = gc.tensor("m", "float64", shape=(3, None))
        outs = [row + col, row * m, col - m]
        return [row, col, m], outs, None
    f, _ = cached("static_bcast", backend, build)
    assert (gc.tensor("r", shape=(1, None)) + gc.tensor("m", shape=(3, None))).type.shape == (3, None)
    with pytest.raises(ValueError):
        gc.tensor("a", shape=(3, None)) + gc.tensor("b", shape=(4, None))
    row, col, m = np.arange(4.0)[None], np.arange(3.0)[:, None], np.ones((3, 4)) * 2
    for g, w in zip(f(row, col, m), [row + col, row * m, col - m]):
        assert_close(g, w)
    with pytest.raises(ValueError):
        f(np.ones((2, 4)), col, m)          # a declared-1 dim given 2: rejected by the type


def test_chained_elemwise_and_intermediates(backend):
    """Outputs that are inputs, intermediates used twice, constants: the buffer plan must not clobber values."""
    def build():
        x = gc.tensor("x", "float32", shape=(None, None))
        y = gc.tensor("y", "int32", shape=(None,))
        h = gc.exp(x) * 2.0
        z = h + y
        outs = [x, h, z, h - z, gc.tanh(z) * h, (y + 1) // 3, y]
        return [x, y], outs, None
    f, _ = cached("chain", backend, build)
    rng = np.random.default_rng(4)
    for shape in [(3, 4), (1, 4), (0, 4), (200, 200)]:
        x = rand(shape, "float32", rng=rng, low=-1, high=1)
        y = rand(shape[-1:], "int32", rng=rng, low=-50, high=50)
        h = np.exp(x) * 2.0
        z = h + y
        want = [x, h, z, h - z, np.tanh(z) * h, (y + 1) // 3, y]
        for k, (g, w) in enumerate(zip(f(x, y), want)):
            try:
                # z is float64 computed from the float32 h (|h| < 6): exp's last float32 bit (< 5e-7) may differ
                assert_close(g, w, **({"rtol": 1e-5, "atol": 1e-5} if k in (2, 3, 4) else {}))
            except AssertionError as exc:
                raise AssertionError(f"output {k} at {shape}: {exc}") from None


def test_small_int_wraparound_examples(backend):
    """A few wraparounds spelled out (the value grids above cover them all)."""
    def build():
        a = gc.bvector("a")
        u = gc.tensor("u", "uint8", shape=(None,))
        return [a, u], [a + 1, a * 2, -a, gc.abs(a), u - 1, u * u, a // -1, gc.invert(u)], None
    f, _ = cached("wrap", backend, build)
    a = np.array([127, -128, 100], "int8")
    u = np.array([0, 255, 16], "uint8")
    got = f(a, u)
    want = [np.array([-128, -127, 101], "int8"), np.array([-2, 0, -56], "int8"), np.array([-127, -128, -100], "int8"),
            np.array([127, -128, 100], "int8"), np.array([255, 254, 15], "uint8"), np.array([0, 1, 0], "uint8"),
            np.array([-127, -128, -100], "int8"), np.array([255, 0, 239], "uint8")]
    for g, w in zip(got, want):
        assert_close(g, w)
    with np.errstate(all="ignore"):
        for g, w in zip(got, [a + 1, a * 2, -a, np.abs(a), u - np.uint8(1), u * u, a // -1, ~u]):
            assert_close(g, w)


def test_integer_division_by_zero_is_zero(backend):
    """numpy gives 0 for integer x // 0 and x % 0 (with a warning), never a crash (SIGFPE) -- also INT_MIN // -1."""
    def build():
        ins, outs = [], []
        for dt in INT_DTYPES:
            a, b = gc.tensor("a", dt, shape=(None,)), gc.tensor("b", dt, shape=(None,))
            ins += [a, b]
            outs += [a // b, a % b, a // 0, a % 0]
        return ins, outs, None
    f, _ = cached("divzero", backend, build)
    vals, want = [], []
    for dt in INT_DTYPES:
        info = np.iinfo(dt)
        a = np.array([info.min, info.max, -5 if info.min else 5, 5, 0, info.min, 7], dt)
        b = np.array([0, 0, 0, 0, 0, -1 if info.min else 1, 2], dt)
        vals += [a, b]
        want += [oracle(np.floor_divide, a, b), oracle(np.remainder, a, b), oracle(np.floor_divide, a, 0),
                 oracle(np.remainder, a, 0)]
    for k, (g, w) in enumerate(zip(f(*vals), want)):
        try:
            assert_close(g, w)
        except AssertionError as exc:
            raise AssertionError(f"output {k} ({INT_DTYPES[k // 4]}): {exc}") from None


def test_high_rank_broadcasting(backend):
    """Loop nests of rank 4 and 5, broadcasting across every position."""
    def build():
        a = gc.tensor("a", "float64", shape=(None,) * 5)
        b = gc.tensor("b", "float64", shape=(None,) * 4)
        c = gc.tensor("c", "int8", shape=(None,) * 2)
        return [a, b, c], [a * b + c, gc.maximum(b, c), gc.where(gc.gt(a, 0), b, c)], None
    f, _ = cached("high_rank", backend, build)
    rng = np.random.default_rng(11)
    for sa, sb, sc in [((2, 3, 1, 4, 5), (3, 2, 4, 1), (4, 5)), ((1, 1, 1, 1, 1), (2, 1, 3, 1), (1, 4)),
                       ((2, 1, 3, 1, 2), (1, 4, 1, 5, 1)[1:], (5, 2))]:
        a, b = rand(sa, rng=rng), rand(sb, rng=rng)
        c = rand(sc, "int8", rng=rng)
        for args in [(a, b, c), (noncontig(a), np.asfortranarray(b), c[::-1])]:
            x, y, z = args
            want = [x * y + z, np.maximum(y, z), np.where(x > 0, y, z)]
            for k, (g, w) in enumerate(zip(f(*args), want)):
                try:
                    assert_close(g, w)
                except AssertionError as exc:
                    raise AssertionError(f"output {k} at {sa}, {sb}, {sc}: {exc}") from None
