"""Reductions over any axes with numpy's dtype rules: sum, prod, max, min, mean, argmax, argmin."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType, check_dtype
from graphc.ops.convert import as_tensor

REDUCERS = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """Sorted non-negative axes; ``None`` means all. Raises numpy's errors for bad or repeated axes.

    As numpy does, a 0-d array accepts the integer axis 0 or -1 (and reduces nothing), but no tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0 and isinstance(axis, (int, np.integer)) and axis in (0, -1):
        return ()
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axes}")
    return tuple(sorted(out))


def _reduced_shape(shape: tuple, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if d in axes else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in axes)


def sum_dtype(dtype: str) -> str:
    """numpy's accumulator for sum/prod: small ints widen to (u)int64, bool sums as int64."""
    return np.sum(np.zeros(1, dtype=dtype)).dtype.name


class Reduce(Op):
    """A commutative reduction (sum, prod, max, min) over ``axes``."""

    __props__ = ("kind", "axes", "keepdims", "dtype", "initial")

    def __init__(self, kind: str, axes: tuple[int, ...], keepdims: bool, dtype: str, initial: float | None = None):
        """``initial`` (numpy's keyword) seeds a max/min, which then accepts empty axes."""
        self.kind, self.axes, self.keepdims, self.dtype = kind, tuple(axes), bool(keepdims), dtype
        self.initial = initial

    def __str__(self) -> str:
        return f"{self.kind.capitalize()}{{axes={self.axes}{', keepdims' if self.keepdims else ''}}}"

    def make_node(self, x):
        x = as_tensor(x)
        shape = _reduced_shape(x.type.shape, self.axes, self.keepdims)
        return Apply(self, [x], [Variable(TensorType(self.dtype, shape))])

    def perform(self, node, inputs):
        x = inputs[0]
        if self.kind in ("max", "min") and self.initial is None and any(x.shape[a] == 0 for a in self.axes):
            raise ValueError(f"zero-size array to reduction operation {self.kind} which has no identity")
        kwargs = {"dtype": self.dtype} if self.kind in ("sum", "prod") else {}
        if self.initial is not None:
            kwargs["initial"] = self.initial
        with np.errstate(all="ignore"):     # as Elemwise.perform: inf - inf is NaN, silently, on every backend
            out = REDUCERS[self.kind](x, axis=self.axes, keepdims=self.keepdims, **kwargs)
        return [np.asarray(out, dtype=self.dtype)]

    def infer_shape(self, node, input_shapes):
        one = Constant(1, dtype="int64")
        return [tuple(one if d in self.axes else s for d, s in enumerate(input_shapes[0])
                      if self.keepdims or d not in self.axes)]

    def grad(self, inputs, outputs, output_grads):
        from graphc.ops.elemwise import eq, true_div, where
        from graphc.ops.shape import broadcast_to, expand_dims, shape_tuple
        x, z, g = inputs[0], outputs[0], output_grads[0]
        if x.dtype not in ("float32", "float64"):
            return [None]
        if not self.keepdims:
            for a in self.axes:
                g = expand_dims(g, a)
                z = expand_dims(z, a)
        if self.kind == "sum":
            return [broadcast_to(g, shape_tuple(x))]
        if self.kind == "prod":
            return [_prod_grad(x, z, g, self.axes)]
        # max/min: the positions equal to the result share the gradient equally (as JAX does), so a value that
        # appears twice (x[[0, 0]]) gets it once in all, as the math says
        hit = eq(x, z)
        count = sum(hit, axis=self.axes, keepdims=True, dtype=x.dtype)
        return [where(hit, g / count, 0)]


def _prod_grad(x, z, g, axes):
    """d prod / d x_i = prod of the others; computed without dividing by zero where x has zeros."""
    from graphc.ops.elemwise import eq, true_div, where
    zero = eq(x, 0)
    n_zeros = sum(zero, axis=axes, keepdims=True, dtype="int64")
    safe_x = where(zero, 1, x)
    prod_nonzero = prod(safe_x, axis=axes, keepdims=True)
    others = where(eq(n_zeros, 0), true_div(z, safe_x), where(eq(n_zeros, 1), where(zero, prod_nonzero, 0), 0))
    return g * others


class ArgReduce(Op):
    """argmax/argmin along one axis (or over the flattened array when ``axis`` is None); int64 result."""

    __props__ = ("kind", "axis", "keepdims")

    def __init__(self, kind: str, axis: int | None, keepdims: bool):
        self.kind, self.axis, self.keepdims = kind, axis, bool(keepdims)

    def make_node(self, x):
        x = as_tensor(x)
        if self.axis is None:
            shape = (1,) * x.ndim if self.keepdims else ()
        else:
            shape = _reduced_shape(x.type.shape, (self.axis,), self.keepdims)
        return Apply(self, [x], [Variable(TensorType("int64", shape))])

    def perform(self, node, inputs):
        x = inputs[0]
        fn = np.argmax if self.kind == "argmax" else np.argmin
        return [np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims), dtype="int64")]

    def infer_shape(self, node, input_shapes):
        one = Constant(1, dtype="int64")
        if self.axis is None:
            return [(one,) * len(input_shapes[0]) if self.keepdims else ()]
        return [tuple(one if d == self.axis else s for d, s in enumerate(input_shapes[0])
                      if self.keepdims or d != self.axis)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def _reduce(kind: str, x, axis, keepdims: bool, dtype=None, initial: float | None = None) -> Variable:
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    if dtype is not None:
        out_dtype = check_dtype(dtype)
    else:
        out_dtype = sum_dtype(x.dtype) if kind in ("sum", "prod") else x.dtype
    return Reduce(kind, axes, keepdims, out_dtype, initial)(x)


def sum(x, axis=None, keepdims: bool = False, dtype=None) -> Variable:
    """numpy.sum: ints narrower than 64 bits accumulate in (u)int64, as numpy does."""
    return _reduce("sum", x, axis, keepdims, dtype)


def prod(x, axis=None, keepdims: bool = False, dtype=None) -> Variable:
    return _reduce("prod", x, axis, keepdims, dtype)


def max(x, axis=None, keepdims: bool = False, initial: float | None = None) -> Variable:
    """numpy.max; NaN propagates; an empty axis raises unless ``initial`` is given."""
    return _reduce("max", x, axis, keepdims, initial=initial)


def min(x, axis=None, keepdims: bool = False, initial: float | None = None) -> Variable:
    return _reduce("min", x, axis, keepdims, initial=initial)


def mean(x, axis=None, keepdims: bool = False) -> Variable:
    """numpy.mean: integers average in float64, floats in their own dtype; empty axes give NaN."""
    from graphc.ops.elemwise import cast, true_div
    from graphc.ops.shape import shape_tuple
    x = as_tensor(x)
    axes = normalize_axes(axis, x.ndim)
    out_dtype = x.dtype if x.dtype in ("float32", "float64") else "float64"
    total = _reduce("sum", x, axes, keepdims, out_dtype)
    count: Variable = Constant(1, dtype="int64")
    dims = shape_tuple(x)
    for a in axes:
        count = count * dims[a]
    return true_div(total, cast(count, out_dtype))


def _arg(kind: str, x, axis, keepdims: bool) -> Variable:
    x = as_tensor(x)
    if axis is not None:
        axis = normalize_axes(axis, x.ndim)
        if len(axis) != 1:
            raise TypeError(f"{kind} takes a single axis or None")
        axis = axis[0]
    return ArgReduce(kind, axis, keepdims)(x)


def argmax(x, axis=None, keepdims: bool = False) -> Variable:
    """numpy.argmax: the first maximal index (the first NaN's, if any), as int64."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Variable:
    return _arg("argmin", x, axis, keepdims)
