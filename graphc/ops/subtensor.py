"""Indexing symbolic tensors as numpy does, and writing into an indexed region (Theano's Subtensor family).

``x[index]`` runs in at most two stages so that each op stays small enough to lower to C: ``Subtensor`` applies
ints, slices and newaxes (a view in numpy), and ``AdvancedSubtensor`` applies integer index arrays to some dims,
taking the others whole. A mixed index slices through Subtensor first. ``IncSubtensor`` and
``AdvancedIncSubtensor`` return a copy of x with such a region set to, or incremented by, a value."""
from __future__ import annotations

import weakref
from typing import Callable, Sequence

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType, broadcast_static
from graphc.ops.convert import as_operands, as_tensor
from graphc.ops.elemwise import cast, eq, floor_div, gt, lt, maximum, minimum, neg, where
from graphc.ops.shape import (INT, DimShuffle, Shape, _constant_value, _scalar_int, broadcast_shape_vars,
                              dimshuffle, shape_i, sum_to, zeros_like)

INT_DTYPES = ("int8", "uint8", "int16", "int32", "int64")
FLOAT_DTYPES = ("float32", "float64")
_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer arrays are valid "
              "indices")

# A normalised index entry: an int64 Variable (0-d: an int; n-d: an index array), a slice of int64 scalar
# Variables (or None), or None for newaxis.
Entry = Variable | slice | None

# Intermediate results of one ``x[index]`` (its slicing stage, or its advanced result before numpy's transpose):
# set_subtensor writes through them to x, so a mixed index behaves as one region of x.
_INNER: weakref.WeakSet[Variable] = weakref.WeakSet()


# --- shapes ---------------------------------------------------------------------------------------
def _is_full(e: Entry) -> bool:
    return isinstance(e, slice) and e.start is None and e.stop is None and e.step is None


def _static_slice_len(n: int | None, s: slice) -> int | None:
    """len(range(n)[s]) when n and the present bounds are known at build time."""
    bounds = (s.start, s.stop, s.step)
    values = [None if b is None else _constant_value(b) for b in bounds]
    if n is None or any(b is not None and v is None for b, v in zip(bounds, values)):
        return 0 if n == 0 else None
    return len(range(*slice(*values).indices(n)))


def _slice_length(n: Variable, s: slice) -> Variable:
    """Symbolic len(range(n)[s]) for int64 scalar bounds, clamped as Python clamps them."""
    if _is_full(s):
        return n
    step = 1 if s.step is None else _constant_value(s.step)
    pos = step > 0 if step is not None else gt(s.step, 0)

    def choose(a, b):
        return (a if pos else b) if isinstance(pos, bool) else where(pos, a, b)

    lo, hi = choose(0, -1), choose(n, n - 1)

    def clamp(v, default):
        return default if v is None else minimum(maximum(where(lt(v, 0), v + n, v), lo), hi)

    diff = clamp(s.stop, choose(n, -1)) - clamp(s.start, choose(0, n - 1))
    length = diff if s.step is None else neg(floor_div(neg(diff), s.step))
    return maximum(length, 0)


def _basic_dims(dims: Sequence, index: Sequence[Entry], slice_len: Callable, one) -> tuple:
    """The dims of x[index] for a basic index: an int drops a dim, newaxis adds ``one``, a slice maps through
    ``slice_len``, unindexed trailing dims are kept. Serves static sizes and symbolic shapes alike."""
    out, rest = [], iter(dims)
    for e in index:
        if e is None:
            out.append(one)
        elif isinstance(e, slice):
            out.append(slice_len(next(rest), e))
        else:
            next(rest)
    return tuple(out) + tuple(rest)


def _consecutive(flags: Sequence[bool]) -> bool:
    pos = [k for k, f in enumerate(flags) if f]
    return pos[-1] - pos[0] == len(pos) - 1


def _placement(indexed: Sequence[bool]) -> int:
    """Where numpy puts the index arrays' broadcast dims: in place of the indexed dims if those are consecutive,
    else first."""
    return list(indexed).index(True) if _consecutive(indexed) else 0


def _adv_dims(indexed: tuple[bool, ...], dims: Sequence, bcast: Sequence) -> tuple:
    """The dims of x[arrays and full slices], given the index arrays' broadcast dims ``bcast``."""
    flags = indexed + (False,) * (len(dims) - len(indexed))
    rest = [d for d, f in zip(dims, flags) if not f]
    at = _placement(indexed)
    return tuple(rest[:at]) + tuple(bcast) + tuple(rest[at:])


def _prefer_static(dims: Sequence[Variable], var: Variable) -> tuple[Variable, ...]:
    return tuple(d if s is None else Constant(s, dtype=INT) for d, s in zip(dims, var.type.shape))


# --- index structures -----------------------------------------------------------------------------
def _pack(index: Sequence[Entry]) -> tuple[tuple, list[Variable]]:
    """A basic index as Subtensor's static idx_list and its variable parts (the int64 scalar inputs)."""
    idx_list, inputs = [], []
    for e in index:
        if e is None:
            idx_list.append(("newaxis",))
        elif isinstance(e, slice):
            bounds = (e.start, e.stop, e.step)
            idx_list.append(("slice", *(b is not None for b in bounds)))
            inputs += [b for b in bounds if b is not None]
        else:
            idx_list.append(("int",))
            inputs.append(e)
    return tuple(idx_list), inputs


def _unpack(idx_list: tuple, inputs: Sequence) -> tuple:
    """The inverse of _pack: an index of ints, slices and None, from numeric values or from variables."""
    it = iter(inputs)
    out = []
    for kind, *has in idx_list:
        if kind == "int":
            out.append(next(it))
        elif kind == "slice":
            out.append(slice(*(next(it) if h else None for h in has)))
        else:
            out.append(None)
    return tuple(out)


class _BasicIndex(Op):
    """The index of Subtensor/IncSubtensor. ``idx_list`` entries are ("int",), ("slice", has_start, has_stop,
    has_step) and ("newaxis",); they consume x's leading dims in order and the remaining dims are kept. Each int
    and each present slice bound is one int64 scalar input, in idx_list order."""

    def __init__(self, idx_list):
        self.idx_list = tuple(tuple(e) for e in idx_list)
        for e in self.idx_list:
            if e not in (("int",), ("newaxis",)) and not (
                    len(e) == 4 and e[0] == "slice" and all(isinstance(h, bool) for h in e[1:])):
                raise ValueError(f"invalid Subtensor idx_list entry {e!r}")

    def get_op(self) -> "Subtensor":
        return Subtensor(self.idx_list)

    def inc_op(self, set_instead_of_inc: bool) -> "IncSubtensor":
        return IncSubtensor(self.idx_list, set_instead_of_inc)

    def _index_inputs(self, x: Variable, index) -> list[Variable]:
        index = [_scalar_int(v, "an index or slice bound") for v in index]
        wanted = sum(1 if e[0] == "int" else sum(e[1:]) if e[0] == "slice" else 0 for e in self.idx_list)
        if len(index) != wanted:
            raise TypeError(f"{self} takes {wanted} index inputs, got {len(index)}")
        _check_consumed(sum(e[0] != "newaxis" for e in self.idx_list), x.ndim)
        for e in _unpack(self.idx_list, index):
            if isinstance(e, slice) and e.step is not None and _constant_value(e.step) == 0:
                raise ValueError("slice step cannot be zero")
        return index

    def numpy_index(self, values: Sequence[np.ndarray]) -> tuple:
        return _unpack(self.idx_list, [int(v) for v in values])

    def region_static(self, x: Variable, index: list[Variable]) -> tuple:
        return _basic_dims(x.type.shape, _unpack(self.idx_list, index), _static_slice_len, 1)

    def region_shape(self, x_shape, index, index_shapes) -> tuple:
        return _basic_dims(x_shape, _unpack(self.idx_list, index), _slice_length, Constant(1, dtype=INT))

    def _index_text(self) -> str:
        def text(kind, *has):
            if kind == "slice":
                return ":".join("?" if h else "" for h in has[:2]) + (":?" if has[2] else "")
            return {"int": "i", "newaxis": "None"}[kind]
        return ", ".join(text(*e) for e in self.idx_list)


class _AdvancedIndex(Op):
    """The index of AdvancedSubtensor/AdvancedIncSubtensor. ``indexed`` flags the leading dims of x that take an
    int64 index array input (in order); the other dims are taken whole. The arrays broadcast together, and numpy's
    rule places their broadcast dims in place of the indexed dims if those are consecutive, else first."""

    def __init__(self, indexed):
        indexed = [bool(f) for f in indexed]
        while indexed and not indexed[-1]:
            indexed.pop()
        if not indexed:
            raise ValueError("an advanced index needs at least one index array")
        self.indexed = tuple(indexed)

    def get_op(self) -> "AdvancedSubtensor":
        return AdvancedSubtensor(self.indexed)

    def inc_op(self, set_instead_of_inc: bool) -> "AdvancedIncSubtensor":
        return AdvancedIncSubtensor(self.indexed, set_instead_of_inc)

    def _index_inputs(self, x: Variable, index) -> list[Variable]:
        index = [as_tensor(v) for v in index]
        for v in index:
            if v.dtype not in INT_DTYPES:
                raise TypeError(f"index arrays must have an integer dtype, got {v!r} of type {v.type}")
        if len(index) != sum(self.indexed):
            raise TypeError(f"{self} takes {sum(self.indexed)} index arrays, got {len(index)}")
        _check_consumed(len(self.indexed), x.ndim)
        return [cast(v, INT) for v in index]

    def numpy_index(self, values: Sequence[np.ndarray]) -> tuple:
        it = iter(values)
        return tuple(next(it) if f else slice(None) for f in self.indexed)

    def region_static(self, x: Variable, index: list[Variable]) -> tuple:
        shapes = [a.type.shape for a in index]
        try:
            bcast = broadcast_static(shapes)
        except ValueError:
            raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes "
                             f"{' '.join(map(str, shapes))}") from None
        return _adv_dims(self.indexed, x.type.shape, bcast)

    def region_shape(self, x_shape, index, index_shapes) -> tuple:
        bcast = broadcast_shape_vars(index_shapes, max(a.ndim for a in index))
        return _adv_dims(self.indexed, x_shape, bcast)

    def _index_text(self) -> str:
        return ", ".join("idx" if f else ":" for f in self.indexed)


def _check_consumed(consumed: int, ndim: int) -> None:
    if consumed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed")


# --- the ops --------------------------------------------------------------------------------------
class _Get(Op):
    """x[index]: inputs are x then the index inputs."""

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{self._index_text()}}}"

    def make_node(self, x, *index):
        x = as_tensor(x)
        index = self._index_inputs(x, index)
        return Apply(self, [x, *index], [Variable(TensorType(x.dtype, self.region_static(x, index)))])

    def perform(self, node, inputs):
        x, *index = inputs
        return [np.asarray(x[self.numpy_index(index)])]

    def infer_shape(self, node, input_shapes):
        dims = self.region_shape(input_shapes[0], node.inputs[1:], input_shapes[1:])
        return [_prefer_static(dims, node.outputs[0])]

    def grad(self, inputs, outputs, output_grads):
        x, *index = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None] * len(inputs)
        # inc, not set: repeated advanced indices must accumulate their gradients
        return [self.inc_op(False)(zeros_like(x), output_grads[0], *index)] + [None] * len(index)


class _Inc(Op):
    """x with x[index] set to (``set_instead_of_inc``) or incremented by y, broadcast: inputs are x, y, then the
    index inputs. Repeated advanced indices accumulate when incrementing (np.add.at), and the last write wins
    when setting, as in numpy assignment."""

    def __init__(self, structure, set_instead_of_inc: bool = False):
        super().__init__(structure)
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self) -> str:
        return f"{type(self).__name__}{{{'set' if self.set_instead_of_inc else 'inc'}, {self._index_text()}}}"

    def make_node(self, x, y, *index):
        x = as_tensor(x)
        index = self._index_inputs(x, index)
        y = _as_value(x, y)
        region = self.region_static(x, index)
        if y.ndim > len(region) or any(s is not None and r is not None and s not in (1, r)
                                       for s, r in zip(reversed(y.type.shape), reversed(region))):
            raise ValueError(f"{self}: a value of type {y.type} does not broadcast to the region's shape "
                             f"{region} (None: unknown)")
        return Apply(self, [x, y, *index], [Variable(x.type)])

    def perform(self, node, inputs):
        x, y, *index = inputs
        out = x.copy()
        where = self.numpy_index(index)
        if self.set_instead_of_inc:
            out[where] = y
        else:
            # y is broadcast to the region first: numpy 2.4's add.at adds a value broadcast along a 2-d index's
            # leading dim only once per position (np.add.at(z, [[0, 1], [0, 1]], [1., 2.]) gives [1, 2], not [2, 4])
            np.add.at(out, where, np.broadcast_to(y, out[where].shape))
        return [out]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        x, y, *index = inputs
        if x.dtype not in FLOAT_DTYPES:
            return [None] * len(inputs)
        g = output_grads[0]
        gx = self.inc_op(True)(g, 0, *index) if self.set_instead_of_inc else g
        gy = self.get_op()(g, *index)
        if self.set_instead_of_inc and isinstance(self, _AdvancedIndex):
            gy = where(self._last_writes(x, index), gy, 0)
        return [gx, sum_to(gy, y)] + [None] * len(index)

    def _last_writes(self, x: Variable, index: list[Variable]) -> Variable:
        """Which elements of the written region survive a set (the last write to each position wins): only
        they reach the output, so only they get a gradient when indices repeat."""
        from graphc.ops.shape import arange, reshape, shape_tuple, size
        region = self.get_op()(x, *index)
        ids = reshape(arange(size(region)), shape_tuple(region))
        winners = self.inc_op(True)(zeros_like(x, dtype=INT), ids, *index)
        return eq(self.get_op()(winners, *index), ids)


class Subtensor(_Get, _BasicIndex):
    """x[ints, slices, newaxes]; a view of x in numpy."""

    view_of_input = 0

    __props__ = ("idx_list",)


class IncSubtensor(_Inc, _BasicIndex):
    __props__ = ("idx_list", "set_instead_of_inc")


class AdvancedSubtensor(_Get, _AdvancedIndex):
    """x[index arrays and full slices]; a copy."""

    __props__ = ("indexed",)


class AdvancedIncSubtensor(_Inc, _AdvancedIndex):
    __props__ = ("indexed", "set_instead_of_inc")


def _as_value(x: Variable, y) -> Variable:
    """y in x's dtype: Python scalars are weak, arrays must cast 'same_kind' (float into int is refused)."""
    y = as_operands(x, y)[1]
    if y.dtype != x.dtype and not np.can_cast(y.dtype, x.dtype, "same_kind"):
        raise TypeError(f"cannot write {y.dtype} values into {x!r} of dtype {x.dtype} without an unsafe cast; "
                        f"cast the value first")
    return cast(y, x.dtype)


# --- building -------------------------------------------------------------------------------------
def _entry(item) -> Entry:
    """One index item as an int64 Variable, a slice of int64 scalars, or None; refuses what numpy refuses."""
    if item is None:
        return None
    if isinstance(item, slice):
        return slice(*(None if b is None else _scalar_int(b, "a slice bound")
                       for b in (item.start, item.stop, item.step)))
    if isinstance(item, (list, tuple)) and any(isinstance(v, Variable) for v in item):
        item = as_tensor(item)
    if not isinstance(item, Variable):
        arr = np.asarray(item)
        if arr.size == 0 and isinstance(item, (list, tuple)):
            arr = arr.astype(INT)  # numpy reads [] as an empty integer index
        if arr.dtype.kind not in "biu":
            raise IndexError(_BAD_INDEX)
        item = Constant(arr if arr.dtype.kind == "b" else arr.astype(INT))
    if item.dtype == "bool":
        raise NotImplementedError("boolean mask indexing is not supported; index with the positions instead "
                                  "(np.nonzero of a constant mask), or use gc.where")
    if item.dtype not in INT_DTYPES:
        raise IndexError(f"{_BAD_INDEX}; got {item!r} of type {item.type}")
    return cast(item, INT)


def _normalize(index, ndim: int) -> tuple[list[Entry], bool]:
    """The entries of ``index`` with Ellipsis expanded, and whether its int/array items are adjacent as written
    (numpy's rule looks at the written index, where even an empty Ellipsis separates)."""
    items = [e if e is Ellipsis else _entry(e) for e in (index if isinstance(index, tuple) else (index,))]
    if sum(e is Ellipsis for e in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(e is not None and e is not Ellipsis for e in items)
    _check_consumed(consumed, ndim)
    flags = [isinstance(e, Variable) for e in items]
    adjacent = not any(flags) or _consecutive(flags)
    expanded: list[Entry] = []
    for e in items:
        expanded += [slice(None)] * (ndim - consumed) if e is Ellipsis else [e]
    return expanded, adjacent


def _subtensor(x: Variable, index: Sequence[Entry]) -> Variable:
    index = list(index)
    while index and _is_full(index[-1]):
        index.pop()
    idx_list, inputs = _pack(index)
    return Subtensor(idx_list)(x, *inputs)


def getitem(x, index) -> Variable:
    """x[index] with numpy's semantics (basic and integer-array indexing); x.shape[i] becomes ShapeI."""
    x = as_tensor(x)
    if (x.owner is not None and isinstance(x.owner.op, Shape) and isinstance(index, (int, np.integer))
            and not isinstance(index, bool)):
        if not -x.type.shape[0] <= index < x.type.shape[0]:
            raise IndexError(f"index {index} is out of bounds for the shape of a {x.type.shape[0]}-d tensor")
        return shape_i(x.owner.inputs[0], int(index))
    entries, adjacent = _normalize(index, x.ndim)
    arrays = [e for e in entries if isinstance(e, Variable)]
    if all(a.ndim == 0 for a in arrays):
        return _subtensor(x, entries)
    # advanced: ints index as 0-d arrays; slices and newaxes go first, through Subtensor
    z = x
    if not all(_is_full(e) or isinstance(e, Variable) for e in entries):
        z = _subtensor(x, [slice(None) if isinstance(e, Variable) else e for e in entries])
        _INNER.add(z)
    indexed = tuple(isinstance(e, Variable) for e in entries)
    out = AdvancedSubtensor(indexed)(z, *arrays)
    at = _placement(indexed)
    if adjacent or at == 0:
        return out
    # an empty Ellipsis separated the arrays as written: numpy puts their broadcast dims first
    moved = list(range(at, at + out.ndim - (z.ndim - len(arrays))))
    _INNER.add(out)
    return DimShuffle(tuple(moved + [d for d in range(out.ndim) if d not in moved]))(out)


def _inc(expr, y, set_instead_of_inc: bool) -> Variable:
    """Write y into the region ``expr`` of the tensor it indexes, undoing getitem's internal stages in turn."""
    node = expr.owner if isinstance(expr, Variable) else None
    if node is not None and isinstance(node.op, DimShuffle) and node.inputs[0] in _INNER:
        y = as_operands(expr, y)[1]
        if y.ndim > expr.ndim:
            raise ValueError(f"cannot write a {y.ndim}-d value into the {expr.ndim}-d region {expr!r}")
        y = dimshuffle(y, ("x",) * (expr.ndim - y.ndim) + tuple(range(y.ndim)))
        pattern = node.op.pattern
        return _inc(node.inputs[0], dimshuffle(y, tuple(pattern.index(d) for d in range(expr.ndim))),
                    set_instead_of_inc)
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor)):
        raise TypeError(f"set_subtensor/inc_subtensor take the result of indexing a tensor (x[...]), got {expr!r}")
    base, index = node.inputs[0], node.inputs[1:]
    new = node.op.inc_op(set_instead_of_inc)(base, y, *index)
    return _inc(base, new, True) if base in _INNER else new


def set_subtensor(x, y) -> Variable:
    """A copy of the indexed tensor with the region ``x`` (the result of ``t[index]``) set to y, broadcast:
    ``set_subtensor(t[1:3], y)`` is numpy's ``t[1:3] = y`` on a copy of t. Repeated indices: the last write wins."""
    return _inc(x, y, True)


def inc_subtensor(x, y) -> Variable:
    """Like set_subtensor, but adds y to the region; repeated indices accumulate, as np.add.at."""
    return _inc(x, y, False)
