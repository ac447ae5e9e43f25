"""The fuzzer's op catalogue: each op as a graphc builder, its numpy reference, how to draw its parameters, and
what the comparison may assume about it.

``exact``: a float result is bit-for-bit numpy's when the inputs are (IEEE + - * / sqrt, selections, copies);
otherwise it is compared with a tolerance (transcendentals, sums in another order). ``continuous``: the op may
take inexact float inputs; a discontinuous one (comparison, float->int cast, //, log near 0, argmax) would turn a
last-bit difference into a different answer, so it only sees exact values. ``smooth``: the op appears in the
gradient programs, which are checked against finite differences."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

import numpy as np

import graphc as gc

ALL_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64"]
FLOATS = ("float32", "float64")
Params = dict


@dataclass(frozen=True)
class OpSpec:
    name: str
    arity: int
    graphc: Callable           # (*variables, **params) -> Variable
    numpy: Callable            # (*arrays, **params) -> ndarray
    text: str                  # "gc.exp({0})": positional args are the operands' names, keywords the params
    params: Callable[[random.Random, list[np.ndarray]], "Params | None"] = lambda rng, xs: {}
    kinds: str = "biuf"        # accepted dtype kinds of the operands
    exact: bool = True
    continuous: bool = True
    smooth: bool = False
    min_ndim: int = 0

    def accepts(self, values: list[np.ndarray]) -> bool:
        return all(v.dtype.kind in self.kinds and v.ndim >= self.min_ndim for v in values)

    def render(self, names: list[str], params: Params) -> str:
        """The step as Python source, over the operands' ``names``."""
        p = {k: fmt(v) for k, v in params.items()}
        if "left" in params:   # a weak scalar operand, on either side
            return self.text.format(*((p["s"], names[0]) if params["left"] else (names[0], p["s"])))
        return self.text.format(*names, **p)


def fmt(v) -> str:
    """Python source for a parameter value (index tuples, slices, arrays)."""
    if isinstance(v, slice):
        return ":".join("" if b is None else str(b) for b in (v.start, v.stop, v.step)).rstrip(":") or ":"
    if v is Ellipsis:
        return "..."
    if isinstance(v, np.ndarray):
        return f"np.array({v.tolist()})"
    if isinstance(v, tuple):
        return "(" + ", ".join(map(fmt, v)) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def _float_out(x: np.ndarray) -> np.dtype:
    return np.exp(np.zeros(1, x.dtype)).dtype


def _sigmoid(x):
    return (1 / (1 + np.exp(-x.astype("float64")))).astype(_float_out(x))


def _softplus(x):
    return np.logaddexp(0, x.astype("float64")).astype(_float_out(x))


def _relu(x):
    return np.maximum(x, np.zeros((), x.dtype))


def _stable(x, axis):
    """graphc's softmax parts: (shifted x, exp of it, its sum with dims kept, shift)."""
    x = x if x.dtype.kind == "f" else x.astype("float64")
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    e = np.exp(x - shift)
    return x - shift, e, np.sum(e, axis=axis, keepdims=True), shift


def _softmax(x, axis):
    _, e, total, _ = _stable(x, axis)
    return e / total


def _log_softmax(x, axis):
    shifted, _, total, _ = _stable(x, axis)
    return shifted - np.log(total)


def _logsumexp(x, axis, keepdims):
    _, _, total, shift = _stable(x, axis)
    out = np.log(total) + shift
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))


# --- parameter drawing ---------------------------------------------------------------------------------
def _axis(rng: random.Random, ndim: int, allow_tuple: bool = True):
    if ndim == 0 or rng.random() < 0.25:
        return None
    if allow_tuple and ndim > 1 and rng.random() < 0.3:
        return tuple(sorted(rng.sample(range(-ndim, 0), rng.randint(1, ndim))))
    return rng.randrange(-ndim, ndim)


def _reduce_params(rng, xs):
    return {"axis": _axis(rng, xs[0].ndim), "keepdims": rng.random() < 0.3}


def _arg_params(rng, xs):
    return {"axis": _axis(rng, xs[0].ndim, allow_tuple=False), "keepdims": rng.random() < 0.2}


def _softmax_params(rng, xs):
    return {"axis": _axis(rng, xs[0].ndim, allow_tuple=False) if xs[0].ndim else None}


def _lse_params(rng, xs):
    return {"axis": _axis(rng, xs[0].ndim), "keepdims": rng.random() < 0.3}


def _scalar_params(rng, xs):
    return {"s": rng.choice([0, 1, -1, 2, 3, -2, 0.5, -1.5, 2.0, 0.0]), "left": rng.random() < 0.3}


def _basic_index(rng: random.Random, shape: tuple) -> tuple:
    """ints, slices (any step, bounds past the ends), an occasional newaxis or leading ellipsis."""
    items: list = []
    for n in shape[:rng.randint(1, len(shape))]:
        r = rng.random()
        if r < 0.25 and n > 0:
            items.append(rng.randrange(-n, n))
        elif r < 0.45:
            items.append(slice(None))
        else:
            step = rng.choice([None, 1, 2, -1, -2, 3])
            bound = [None] + list(range(-n - 1, n + 2))
            items.append(slice(rng.choice(bound), rng.choice(bound), step))
    if rng.random() < 0.15:
        items.insert(rng.randrange(len(items) + 1), None)
    if rng.random() < 0.1:
        items.insert(0, Ellipsis)
    return tuple(items)


def _advanced_index(rng: random.Random, shape: tuple) -> tuple | None:
    """One or two integer arrays (in bounds, negatives and repeats included), possibly after a full slice."""
    dims = [d for d, n in enumerate(shape) if n > 0]
    if not dims:
        return None
    d = rng.choice(dims[:2])
    n = shape[d]
    size = rng.choice([(rng.randint(0, 4),), (2, 2)])
    idx = np.array([rng.randrange(-n, n) for _ in range(int(np.prod(size)))], dtype="int64").reshape(size)
    index: tuple = (slice(None),) * d + (idx,)
    if rng.random() < 0.3 and d + 1 < len(shape) and shape[d + 1] > 0:
        m = shape[d + 1]
        index += (np.array([rng.randrange(-m, m) for _ in range(idx.size)], dtype="int64").reshape(size),)
    return index


def _index_params(rng, xs):
    index = _basic_index(rng, xs[0].shape) if rng.random() < 0.5 else _advanced_index(rng, xs[0].shape)
    return None if index is None else {"index": index}


def _write_params(rng, xs):
    """An index into x and a value broadcastable to the region: a weak scalar, or the second operand."""
    p = _index_params(rng, xs[:1])
    try:
        region = xs[0][p["index"]].shape
    except (TypeError, IndexError):       # no index drawn, or one numpy refuses (a leading ... moves the ints)
        return None
    y = xs[1]
    if (y.ndim > len(region) or not np.can_cast(y.dtype, xs[0].dtype, "same_kind")
            or any(s not in (1, r) for s, r in zip(y.shape[::-1], region[::-1]))):
        return None
    return p


def _transpose_params(rng, xs):
    perm = list(range(xs[0].ndim))
    rng.shuffle(perm)
    return {"axes": tuple(perm)}


def _reshape_params(rng, xs):
    shape = xs[0].shape
    options = [(-1,), (1, -1), shape + (1,), (1,) + shape]
    if len(shape) >= 2:
        options.append(shape[:-2] + (shape[-2] * shape[-1],))
    if xs[0].size and len(shape) >= 1:
        options.append((-1, shape[-1]) if shape[-1] else (-1,))
    return {"shape": rng.choice(options)}


def _expand_params(rng, xs):
    return {"axis": rng.randint(-xs[0].ndim - 1, xs[0].ndim)}


def _broadcast_params(rng, xs):
    shape = tuple(rng.choice([2, 3]) if s == 1 and rng.random() < 0.5 else s for s in xs[0].shape)
    return {"shape": (rng.choice([1, 2]),) * rng.randint(0, 1) + shape}


def _join_params(rng, xs):
    return {"axis": rng.randrange(-xs[0].ndim, xs[0].ndim)} if xs[0].ndim else None


def _stack_params(rng, xs):
    return {"axis": rng.randint(-xs[0].ndim - 1, xs[0].ndim)}


def _cast_params(targets):
    return lambda rng, xs: {"dtype": rng.choice(targets)}


# --- the catalogue -------------------------------------------------------------------------------------
def _unary(name, g, n, text, **flags) -> OpSpec:
    return OpSpec(name, 1, g, n, text, **flags)


def _binary(name, g, n, text, **flags) -> list[OpSpec]:
    """The op on two operands, and on an operand and a weak Python scalar (on either side)."""
    def gs(x, s, left):
        return g(s, x) if left else g(x, s)

    def ns(x, s, left):
        return n(s, x) if left else n(x, s)
    return [OpSpec(name, 2, g, n, text, **flags),
            OpSpec(name + "_scalar", 1, gs, ns, text, params=_scalar_params, **flags)]


def _where_positive(a, b):
    return gc.where(a > 0, a, b)


SPECS: list[OpSpec] = [
    _unary("neg", gc.neg, np.negative, "-{0}", kinds="iuf", smooth=True),
    _unary("abs", gc.abs, np.absolute, "abs({0})", smooth=True),
    _unary("sign", gc.sign, np.sign, "gc.sign({0})", kinds="iuf", continuous=False),
    _unary("exp", gc.exp, np.exp, "gc.exp({0})", kinds="iuf", exact=False, smooth=True),
    _unary("expm1", gc.expm1, np.expm1, "gc.expm1({0})", kinds="iuf", exact=False, smooth=True),
    _unary("log", gc.log, np.log, "gc.log({0})", kinds="iuf", exact=False, continuous=False),
    _unary("log1p", gc.log1p, np.log1p, "gc.log1p({0})", kinds="iuf", exact=False, continuous=False),
    _unary("sqrt", gc.sqrt, np.sqrt, "gc.sqrt({0})", kinds="iuf", continuous=False),
    _unary("sin", gc.sin, np.sin, "gc.sin({0})", kinds="iuf", exact=False, smooth=True),
    _unary("cos", gc.cos, np.cos, "gc.cos({0})", kinds="iuf", exact=False, smooth=True),
    _unary("tanh", gc.tanh, np.tanh, "gc.tanh({0})", kinds="iuf", exact=False, smooth=True),
    _unary("sigmoid", gc.sigmoid, _sigmoid, "gc.sigmoid({0})", kinds="iuf", exact=False, smooth=True),
    _unary("softplus", gc.softplus, _softplus, "gc.softplus({0})", kinds="iuf", exact=False, smooth=True),
    _unary("relu", gc.relu, _relu, "gc.relu({0})", kinds="iuf", smooth=True),
    _unary("invert", gc.invert, np.invert, "~{0}", kinds="biu"),
    _unary("isnan", gc.isnan, np.isnan, "gc.isnan({0})"),
    _unary("isinf", gc.isinf, np.isinf, "gc.isinf({0})"),
    _unary("isfinite", gc.isfinite, np.isfinite, "gc.isfinite({0})"),
    _unary("log1p_sq", lambda x: gc.log1p(x * x), lambda x: np.log1p(x * x), "gc.log1p({0} * {0})", kinds="f",
           exact=False, smooth=True),
    _unary("sqrt_sq1", lambda x: gc.sqrt(x * x + 1), lambda x: np.sqrt(x * x + 1), "gc.sqrt({0} * {0} + 1)",
           kinds="f", exact=False, smooth=True),
    _unary("square", lambda x: x ** 2, lambda x: x ** 2, "{0} ** 2", kinds="iuf", exact=False, smooth=True),
    _unary("cube", lambda x: x ** 3, lambda x: x ** 3, "{0} ** 3", kinds="iuf", exact=False, smooth=True),
    OpSpec("cast_float", 1, gc.cast, lambda x, dtype: x.astype(dtype), "gc.cast({0}, {dtype})",
           params=_cast_params(list(FLOATS))),
    OpSpec("cast_int", 1, gc.cast, lambda x, dtype: x.astype(dtype), "gc.cast({0}, {dtype})",
           params=_cast_params(ALL_DTYPES[:6]), continuous=False),
    *_binary("add", gc.add, np.add, "{0} + {1}", smooth=True),
    *_binary("sub", gc.sub, np.subtract, "{0} - {1}", smooth=True),
    *_binary("mul", gc.mul, np.multiply, "{0} * {1}", smooth=True),
    *_binary("true_div", gc.true_div, np.true_divide, "{0} / {1}", continuous=False),
    *_binary("floor_div", gc.floor_div, np.floor_divide, "{0} // {1}", kinds="iuf", continuous=False),
    *_binary("mod", gc.mod, np.remainder, "{0} % {1}", kinds="iuf", continuous=False),
    *_binary("pow", gc.pow, np.power, "{0} ** {1}", kinds="iuf", exact=False, continuous=False),
    *_binary("maximum", gc.maximum, np.maximum, "gc.maximum({0}, {1})", smooth=True),
    *_binary("minimum", gc.minimum, np.minimum, "gc.minimum({0}, {1})", smooth=True),
    *[s for name, g, n in [("lt", gc.lt, np.less), ("le", gc.le, np.less_equal), ("gt", gc.gt, np.greater),
                           ("ge", gc.ge, np.greater_equal), ("eq", gc.eq, np.equal), ("neq", gc.neq, np.not_equal)]
      for s in _binary(name, g, n, f"gc.{name}({{0}}, {{1}})", continuous=False)],
    *_binary("bitwise_and", gc.bitwise_and, np.bitwise_and, "{0} & {1}", kinds="biu"),
    *_binary("bitwise_xor", gc.bitwise_xor, np.bitwise_xor, "{0} ^ {1}", kinds="biu"),
    OpSpec("div_sq1", 2, lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1), "{0} / ({1} * {1} + 1)",
           kinds="f", exact=False, smooth=True),
    OpSpec("where", 3, gc.where, np.where, "gc.where({0}, {1}, {2})"),
    OpSpec("where_positive", 2, _where_positive, lambda a, b: np.where(a > 0, a, b),
           "gc.where({0} > 0, {0}, {1})", kinds="iuf", continuous=False, smooth=True),
    OpSpec("clip", 1, lambda x, lo, hi: gc.clip(x, lo, hi), lambda x, lo, hi: np.clip(x, lo, hi),
           "gc.clip({0}, {lo}, {hi})", params=lambda rng, xs: {"lo": rng.choice([-1, 0, -0.5]),
                                                                 "hi": rng.choice([1, 2, 0.5])},
           kinds="iuf", smooth=True),
    *[OpSpec(kind, 1, lambda x, axis, keepdims, g=g: g(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims, n=n: n(x, axis=axis, keepdims=keepdims),
             f"gc.{kind}({{0}}, axis={{axis}}, keepdims={{keepdims}})", params=_reduce_params, exact=exact,
             smooth=smooth)
      for kind, g, n, exact, smooth in [("sum", gc.sum, np.sum, False, True), ("prod", gc.prod, np.prod, False, True),
                                        ("mean", gc.mean, np.mean, False, True), ("max", gc.max, np.max, True, True),
                                        ("min", gc.min, np.min, True, False)]],
    *[OpSpec(kind, 1, lambda x, axis, keepdims, g=g: g(x, axis=axis, keepdims=keepdims),
             lambda x, axis, keepdims, n=n: n(x, axis=axis, keepdims=keepdims),
             f"gc.{kind}({{0}}, axis={{axis}}, keepdims={{keepdims}})", params=_arg_params, continuous=False)
      for kind, g, n in [("argmax", gc.argmax, np.argmax), ("argmin", gc.argmin, np.argmin)]],
    OpSpec("softmax", 1, lambda x, axis: gc.softmax(x, axis=axis), _softmax, "gc.softmax({0}, axis={axis})",
           params=_softmax_params, kinds="iuf", exact=False, smooth=True),
    OpSpec("log_softmax", 1, lambda x, axis: gc.log_softmax(x, axis=axis), _log_softmax,
           "gc.log_softmax({0}, axis={axis})", params=_softmax_params, kinds="iuf", exact=False, smooth=True),
    OpSpec("logsumexp", 1, lambda x, axis, keepdims: gc.logsumexp(x, axis=axis, keepdims=keepdims), _logsumexp,
           "gc.logsumexp({0}, axis={axis}, keepdims={keepdims})", params=_lse_params, kinds="iuf", exact=False,
           smooth=True),
    OpSpec("transpose", 1, gc.transpose, np.transpose, "gc.transpose({0}, {axes})", params=_transpose_params,
           smooth=True),
    OpSpec("reshape", 1, gc.reshape, np.reshape, "gc.reshape({0}, {shape})", params=_reshape_params, smooth=True),
    OpSpec("expand_dims", 1, gc.expand_dims, np.expand_dims, "gc.expand_dims({0}, {axis})", params=_expand_params,
           smooth=True),
    OpSpec("broadcast_to", 1, gc.broadcast_to, np.broadcast_to, "gc.broadcast_to({0}, {shape})",
           params=_broadcast_params, smooth=True),
    OpSpec("index", 1, lambda x, index: x[index], lambda x, index: x[index], "{0}[{index}]",
           params=_index_params, smooth=True, min_ndim=1),
    OpSpec("set_subtensor", 2, lambda x, y, index: gc.set_subtensor(x[index], y),
           lambda x, y, index: _written(x, y, index, False), "gc.set_subtensor({0}[{index}], {1})",
           params=_write_params, smooth=True, min_ndim=1),
    OpSpec("inc_subtensor", 2, lambda x, y, index: gc.inc_subtensor(x[index], y),
           lambda x, y, index: _written(x, y, index, True), "gc.inc_subtensor({0}[{index}], {1})",
           params=_write_params, smooth=True, min_ndim=1),
    OpSpec("concatenate", 2, lambda a, b, axis: gc.concatenate([a, b], axis),
           lambda a, b, axis: np.concatenate([a, b], axis), "gc.concatenate([{0}, {1}], {axis})",
           params=_join_params, smooth=True),
    OpSpec("stack", 2, lambda a, b, axis: gc.stack([a, b], axis), lambda a, b, axis: np.stack([a, b], axis),
           "gc.stack([{0}, {1}], {axis})", params=_stack_params, smooth=True),
    OpSpec("matmul", 2, gc.matmul, np.matmul, "{0} @ {1}", kinds="iuf", exact=False, smooth=True, min_ndim=1),
    OpSpec("matmul_self", 1, lambda a: gc.matmul(a, gc.transpose(a, _swap_last(a.ndim))),
           lambda a: np.matmul(a, np.swapaxes(a, -1, -2)), "{0} @ swap_last_two({0})", kinds="iuf",
           exact=False, smooth=True, min_ndim=2),
    OpSpec("dot", 2, gc.dot, lambda a, b: _dot(a, b), "gc.dot({0}, {1})", kinds="iuf", exact=False, smooth=True),
]
BY_NAME = {s.name: s for s in SPECS}


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.dot as documented: with a 0-d operand it is np.multiply. (np.dot itself scales through BLAS there, which
    for a zero factor writes zeros over NaNs: np.dot(0.0, [nan]) gives [0.], np.multiply gives [nan].)"""
    return np.multiply(a, b) if np.ndim(a) == 0 or np.ndim(b) == 0 else np.dot(a, b)


def _swap_last(ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)


def _written(x: np.ndarray, y, index, add: bool) -> np.ndarray:
    """numpy's x[index] = y (last write wins) or np.add.at, on a copy, in x's dtype."""
    out = x.copy()
    y = np.asarray(y).astype(x.dtype) if isinstance(y, np.ndarray) else y
    if add:    # y broadcast first, as AdvancedIncSubtensor.perform does (numpy 2.4's add.at misses repeats otherwise)
        np.add.at(out, index, np.broadcast_to(y, out[index].shape))
    else:
        out[index] = y
    return out
