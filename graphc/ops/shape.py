"""Shape ops: symbolic shapes, reshape, dimshuffle/transpose, alloc (broadcast_to), sum_to, arange."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType, check_dtype
from graphc.ops.convert import as_tensor

INT = "int64"


def _scalar_int(v, what: str) -> Variable:
    """An int64 scalar variable for a shape entry, from a Python int or an integer scalar variable."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return Constant(int(v), dtype=INT)
    var = as_tensor(v)
    if var.ndim != 0 or var.dtype not in ("int8", "uint8", "int16", "int32", "int64"):
        raise TypeError(f"{what} must be an integer scalar, got {var!r} of type {var.type}")
    from graphc.ops.elemwise import cast
    return cast(var, INT)


def _constant_value(v: Variable):
    """The Python int a scalar variable is known to hold at graph-build time, or None."""
    if isinstance(v, Constant):
        return int(v.data)
    if v.owner is not None and isinstance(v.owner.op, ShapeI):
        static = v.owner.inputs[0].type.shape[v.owner.op.i]
        return static
    return None


class Shape(Op):
    """x.shape as an int64 vector."""

    def make_node(self, x):
        x = as_tensor(x)
        return Apply(self, [x], [Variable(TensorType(INT, (x.ndim,)))])

    def perform(self, node, inputs):
        return [np.array(inputs[0].shape, dtype=INT)]

    def infer_shape(self, node, input_shapes):
        return [(Constant(node.inputs[0].ndim, dtype=INT),)]

    def grad(self, inputs, outputs, output_grads):
        return [None]


class ShapeI(Op):
    """x.shape[i] as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i: int):
        self.i = i

    def make_node(self, x):
        x = as_tensor(x)
        if not -x.ndim <= self.i < x.ndim:
            raise IndexError(f"shape index {self.i} out of range for {x.ndim}-d {x!r}")
        return Apply(self, [x], [Variable(TensorType(INT, ()))])

    def perform(self, node, inputs):
        return [np.array(inputs[0].shape[self.i], dtype=INT)]

    def infer_shape(self, node, input_shapes):
        return [()]

    def grad(self, inputs, outputs, output_grads):
        return [None]


class MakeVector(Op):
    """Stacks int64 scalars into a vector (the usual form of a symbolic shape)."""

    def make_node(self, *scalars):
        scalars = [_scalar_int(s, "a shape entry") for s in scalars]
        return Apply(self, scalars, [Variable(TensorType(INT, (len(scalars),)))])

    def perform(self, node, inputs):
        return [np.array([int(s) for s in inputs], dtype=INT).reshape(len(inputs))]

    def infer_shape(self, node, input_shapes):
        return [(Constant(len(node.inputs), dtype=INT),)]

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)


def shape(x) -> Variable:
    """x.shape, symbolic: index it (``x.shape[0]``) for one dimension."""
    return Shape()(as_tensor(x))


def shape_i(x, i: int) -> Variable:
    x = as_tensor(x)
    return ShapeI(i % x.ndim if x.ndim else i)(x)


def shape_tuple(x) -> tuple[Variable, ...]:
    x = as_tensor(x)
    return tuple(Constant(s, dtype=INT) if s is not None else shape_i(x, i) for i, s in enumerate(x.type.shape))


def size(x) -> Variable:
    """x.size as an int64 scalar."""
    from graphc.ops.elemwise import mul
    total: Variable = Constant(1, dtype=INT)
    for s in shape_tuple(x):
        total = mul(total, s)
    return total


def broadcast_shape_vars(shapes: Sequence[tuple[Variable, ...]], ndim: int) -> tuple[Variable, ...]:
    """Symbolic numpy broadcasting of several symbolic shapes."""
    from graphc.ops.elemwise import eq, where
    out = []
    for axis in range(ndim):
        dim: Variable | None = None
        for shp in shapes:
            k = axis - ndim + len(shp)
            if k < 0:
                continue
            d = shp[k]
            dim = d if dim is None else where(eq(dim, 1), d, dim)
        out.append(dim)
    return tuple(out)


def _as_shape(shape) -> tuple[list[Variable], tuple]:
    """Shape entries as int64 scalar variables, and the static sizes known from them."""
    if isinstance(shape, Variable):
        if shape.ndim != 1 or shape.type.shape[0] is None:
            raise TypeError(f"a symbolic shape must be a vector of known length, got {shape.type}")
        entries = [shape[i] for i in range(shape.type.shape[0])]
    else:
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        entries = [_scalar_int(s, "a shape entry") for s in shape]
    return entries, tuple(_constant_value(e) for e in entries)


class Alloc(Op):
    """broadcast_to(value, shape): fills a new array of ``shape`` with ``value`` broadcast (zeros, ones, grads)."""

    def make_node(self, value, *shape):
        value = as_tensor(value)
        entries, static = _as_shape(shape)
        if value.ndim > len(entries):
            raise ValueError(f"cannot broadcast a {value.ndim}-d value to {len(entries)} dimensions")
        for k, s in enumerate(value.type.shape):
            target = static[len(entries) - value.ndim + k]
            if s is not None and target is not None and s not in (1, target):
                raise ValueError(f"cannot broadcast shape {value.type.shape} to {static}")
        static = tuple(s if s is None or s >= 0 else None for s in static)
        return Apply(self, [value, *entries], [Variable(TensorType(value.dtype, static))])

    def perform(self, node, inputs):
        value, *shape = inputs
        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"negative dimensions are not allowed: {shape}")
        return [np.broadcast_to(value, shape).copy()]

    def infer_shape(self, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def grad(self, inputs, outputs, output_grads):
        value = inputs[0]
        if value.dtype not in ("float32", "float64"):
            return [None] * len(inputs)
        return [sum_to(output_grads[0], value)] + [None] * (len(inputs) - 1)


def alloc(value, shape, dtype=None) -> Variable:
    return Alloc()(as_tensor(value, dtype=dtype), *_as_shape(shape)[0])


def broadcast_to(x, shape) -> Variable:
    return Alloc()(as_tensor(x), *_as_shape(shape)[0])


def zeros(shape, dtype=None) -> Variable:
    from graphc.config import config
    return alloc(np.array(0, dtype=check_dtype(dtype or config.floatX)), shape)


def ones(shape, dtype=None) -> Variable:
    from graphc.config import config
    return alloc(np.array(1, dtype=check_dtype(dtype or config.floatX)), shape)


def zeros_like(x, dtype=None) -> Variable:
    x = as_tensor(x)
    return alloc(np.array(0, dtype=check_dtype(dtype or x.dtype)), shape_tuple(x))


def ones_like(x, dtype=None) -> Variable:
    x = as_tensor(x)
    return alloc(np.array(1, dtype=check_dtype(dtype or x.dtype)), shape_tuple(x))


class SumTo(Op):
    """Sums ``g`` down to ``shape`` (reversing numpy broadcasting): the gradient of a broadcast.

    Dims where the target size is 1 but ``g``'s is not are summed; leading extra dims are summed away. Which dims
    broadcast is decided at run time, so runtime broadcasting of dims not known to be 1 differentiates correctly."""

    view_of_input = 0

    def make_node(self, g, *shape):
        g = as_tensor(g)
        entries, static = _as_shape(shape)
        if len(entries) > g.ndim:
            raise ValueError("sum_to cannot add dimensions")
        return Apply(self, [g, *entries], [Variable(TensorType(g.dtype, static))])

    def perform(self, node, inputs):
        g, *shape = inputs
        shape = tuple(int(s) for s in shape)
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + k for k, s in enumerate(shape) if s == 1 and g.shape[lead + k] != 1)
        out = g.sum(axis=axes, keepdims=True) if axes else g
        out = out.reshape(out.shape[lead:])
        if out.shape != shape:
            raise ValueError(f"sum_to: cannot reduce shape {g.shape} to {shape}")
        return [np.array(out, dtype=g.dtype, copy=True)]

    def infer_shape(self, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def grad(self, inputs, outputs, output_grads):
        return [broadcast_to(output_grads[0], shape_tuple(inputs[0]))] + [None] * (len(inputs) - 1)


def sum_to(g: Variable, like: Variable) -> Variable:
    """Reduce ``g`` (broadcast from ``like``) back to ``like``'s shape; no op when that is provably a no-op."""
    from graphc.ops.reduce import sum as reduce_sum
    lead = g.ndim - like.ndim
    static_axes = [k for k in range(lead)]
    static_axes += [lead + k for k, s in enumerate(like.type.shape) if s == 1 and g.type.shape[lead + k] != 1]
    if static_axes:
        g = reduce_sum(g, axis=tuple(static_axes), keepdims=True)
    if lead:
        g = dimshuffle(g, tuple(range(lead, g.ndim)))
    undecided = any(s is None and gs != 1 for s, gs in zip(like.type.shape, g.type.shape))
    if not undecided:
        return g
    return SumTo()(g, *shape_tuple(like))


class DimShuffle(Op):
    """Permutes dims, inserts broadcastable dims ('x') and drops dims of size 1 (Theano's DimShuffle)."""

    view_of_input = 0

    __props__ = ("pattern",)

    def __init__(self, pattern: tuple):
        self.pattern = tuple(pattern)

    def make_node(self, x):
        x = as_tensor(x)
        kept = [p for p in self.pattern if p != "x"]
        if sorted(kept) != sorted(set(kept)) or any(not 0 <= p < x.ndim for p in kept):
            raise ValueError(f"dimshuffle pattern {self.pattern} is invalid for a {x.ndim}-d input")
        for d in range(x.ndim):
            if d not in kept and x.type.shape[d] != 1:
                raise ValueError(f"dimshuffle {self.pattern} drops dim {d} of {x!r}, which is not known to have "
                                 f"size 1 (type {x.type})")
        shape = tuple(1 if p == "x" else x.type.shape[p] for p in self.pattern)
        return Apply(self, [x], [Variable(TensorType(x.dtype, shape))])

    def perform(self, node, inputs):
        x = inputs[0]
        kept = [p for p in self.pattern if p != "x"]
        dropped = tuple(d for d in range(x.ndim) if d not in kept)
        y = x.reshape([s for d, s in enumerate(x.shape) if d not in dropped]) if dropped else x
        order = sorted(kept)
        y = y.transpose([order.index(p) for p in kept])
        return [y.reshape([1 if p == "x" else x.shape[p] for p in self.pattern])]

    def infer_shape(self, node, input_shapes):
        return [tuple(Constant(1, dtype=INT) if p == "x" else input_shapes[0][p] for p in self.pattern)]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        g = output_grads[0]
        kept = [p for p in self.pattern if p != "x"]
        # drop the inserted dims, then undo the permutation, re-inserting the dims that were dropped
        g = dimshuffle(g, tuple(k for k, p in enumerate(self.pattern) if p != "x"))
        back = tuple(kept.index(d) if d in kept else "x" for d in range(x.ndim))
        return [dimshuffle(g, back)]


def dimshuffle(x, pattern) -> Variable:
    x = as_tensor(x)
    pattern = tuple(pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(pattern)(x)


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """An int or a sequence of ints as non-negative axes of an ``ndim``-d array, with numpy's errors: AxisError
    out of range (never wrapped around), ValueError when repeated."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"axes must be integers, got {a!r}")
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axes}")
    return tuple(out)


def transpose(x, axes=None) -> Variable:
    """numpy.transpose: reverses the dims by default; negative axes count from the end."""
    x = as_tensor(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else _axes(axes, x.ndim)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"axes {axes} are not a permutation of {x.ndim} dims")
    return dimshuffle(x, axes)


def expand_dims(x, axis) -> Variable:
    """numpy.expand_dims: ``axis`` (an int or a tuple) counts positions in the result."""
    x = as_tensor(x)
    new = set(_axes(axis, x.ndim + (1 if isinstance(axis, (int, np.integer)) else len(tuple(axis)))))
    kept = iter(range(x.ndim))
    return dimshuffle(x, ["x" if d in new else next(kept) for d in range(x.ndim + len(new))])


def squeeze(x, axis=None) -> Variable:
    """Drops dims known to have size 1 (all of them, or those in ``axis``)."""
    x = as_tensor(x)
    if axis is None:
        drop = {d for d, s in enumerate(x.type.shape) if s == 1}
    else:
        drop = set(_axes(axis, x.ndim))
    return dimshuffle(x, tuple(d for d in range(x.ndim) if d not in drop))


class Reshape(Op):
    """numpy.reshape with a symbolic shape vector; one entry may be -1."""

    view_of_input = 0

    __props__ = ("ndim",)

    def __init__(self, ndim: int):
        self.ndim = ndim

    def make_node(self, x, *shape):
        x = as_tensor(x)
        entries, static = _as_shape(shape)
        if len(entries) != self.ndim:
            raise ValueError(f"Reshape expects {self.ndim} shape entries, got {len(entries)}")
        if sum(1 for s in static if s == -1) > 1:
            raise ValueError("reshape: only one dimension can be -1")
        if any(s is not None and s < -1 for s in static):
            raise ValueError(f"reshape: invalid shape {static}")
        known_in = None if any(s is None for s in x.type.shape) else int(np.prod(x.type.shape, dtype=np.int64))
        out = []
        for s in static:
            if s == -1:
                rest = [t for t in static if t != -1]
                ok = known_in is not None and all(t is not None for t in rest) and np.prod(rest) > 0
                out.append(known_in // int(np.prod(rest)) if ok else None)
            else:
                out.append(s)
        return Apply(self, [x, *entries], [Variable(TensorType(x.dtype, tuple(out)))])

    def perform(self, node, inputs):
        x, *shape = inputs
        try:
            return [x.reshape(tuple(int(s) for s in shape))]
        except ValueError as exc:
            raise ValueError(f"reshape: {exc}") from None

    def infer_shape(self, node, input_shapes):
        return [tuple(shape_i(node.outputs[0], k) for k in range(self.ndim))]

    def grad(self, inputs, outputs, output_grads):
        return [reshape(output_grads[0], shape_tuple(inputs[0]))] + [None] * (len(inputs) - 1)


def reshape(x, shape) -> Variable:
    """numpy.reshape; ``shape`` is a tuple of ints and/or symbolic int scalars, or an int64 vector."""
    x = as_tensor(x)
    entries, _ = _as_shape(shape)
    return Reshape(len(entries))(x, *entries)


class ARange(Op):
    """numpy.arange(start, stop, step) with scalar (possibly symbolic) bounds."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str):
        self.dtype = check_dtype(dtype)

    def make_node(self, start, stop, step):
        args = [as_tensor(v) for v in (start, stop, step)]
        for a in args:
            if a.ndim != 0:
                raise TypeError(f"arange bounds must be scalars, got {a.type}")
        static = None
        if all(isinstance(a, Constant) for a in args):
            static = len(np.arange(*(a.data.item() for a in args)))
        return Apply(self, args, [Variable(TensorType(self.dtype, (static,)))])

    def perform(self, node, inputs):
        start, stop, step = (v.item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be zero")
        return [np.arange(start, stop, step, dtype=self.dtype)]

    def infer_shape(self, node, input_shapes):
        return [(shape_i(node.outputs[0], 0),)]

    def grad(self, inputs, outputs, output_grads):
        return [None, None, None]


def arange(start, stop=None, step=1, dtype=None) -> Variable:
    """numpy.arange; bounds may be symbolic scalars (e.g. ``gc.arange(y.shape[0])``)."""
    if stop is None:
        start, stop = 0, start
    vals = [v if isinstance(v, Variable) else np.asarray(v) for v in (start, stop, step)]
    if dtype is None:
        # numpy's rule: at least int64 (intp), promoted with each bound's dtype, so float32 bounds give float64
        dtype = np.result_type(np.int64, *[v.dtype if isinstance(v, Variable) else v for v in vals]).name
    return ARange(dtype)(*[as_tensor(v) for v in (start, stop, step)])
