"""Simplification of shape ops: chains of dimshuffles and of reshapes collapse, and the sum of a broadcast value
becomes a multiplication by the number of copies."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import cast, gt, mul, where
from graphc.ops.reduce import Reduce
from graphc.ops.shape import INT, Alloc, DimShuffle, Reshape, ShapeI, dimshuffle
from graphc.rewrite.patterns import with_type
from graphc.rewrite.registry import node_rewrite

TAGS = ("fast_run", "canonicalize")


@node_rewrite("dimshuffle_dimshuffle", "canonicalize", TAGS, tracks=(DimShuffle,))
def dimshuffle_dimshuffle(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """Two dimshuffles (e.g. a double transpose) become one, or none when they cancel."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, DimShuffle):
        return None
    first = inner.op.pattern
    pattern = tuple("x" if j == "x" else first[j] for j in node.op.pattern)
    new = with_type(dimshuffle(inner.inputs[0], pattern), node.out.type)
    return None if new is None else [new]


def _cannot_fail(reshape: Apply) -> bool:
    """Whether a reshape succeeds for every input it can get: constant sizes that are a flatten (one -1, the rest
    multiplying to 1), or that fit the input's static size. Only then may it be skipped without losing an error."""
    x, *entries = reshape.inputs
    if not all(isinstance(e, Constant) for e in entries):
        return False
    sizes = [int(e.data) for e in entries]
    rest = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if -1 in sizes and rest == 1:
        return True
    if None in x.type.shape:
        return False
    total = int(np.prod(x.type.shape, dtype=np.int64))
    return rest > 0 and total % rest == 0 if -1 in sizes else total == rest


@node_rewrite("reshape_reshape", "canonicalize", TAGS, tracks=(Reshape,))
def reshape_reshape(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """reshape(reshape(x, s1), s2) -> reshape(x, s2) when the inner reshape cannot fail."""
    inner = node.inputs[0].owner
    if inner is None or not isinstance(inner.op, Reshape) or not _cannot_fail(inner):
        return None
    new = with_type(node.op(inner.inputs[0], *node.inputs[1:]), node.out.type)
    return None if new is None else [new]


def _nonnegative(size: Variable) -> bool:
    """Sizes that cannot make Alloc raise (a negative one must still raise when the sum is gone)."""
    if isinstance(size, Constant):
        return int(size.data) >= 0
    return size.owner is not None and isinstance(size.owner.op, ShapeI)


@node_rewrite("sum_of_alloc", "canonicalize", TAGS, tracks=(Reduce,))
def sum_of_alloc(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """sum(broadcast_to(v, shape), axes) -> broadcast_to(v * count, remaining shape) when v is broadcast along
    every summed axis; count is the product of the summed sizes. An empty sum is 0, also for an inf or NaN v."""
    op = node.op
    source = node.inputs[0].owner
    if op.kind != "sum" or op.dtype == "bool" or source is None or not isinstance(source.op, Alloc):
        return None
    value, *shape = source.inputs
    lead = len(shape) - value.ndim
    if any(a >= lead and value.type.shape[a - lead] != 1 for a in op.axes):
        return None
    if not all(_nonnegative(shape[a]) for a in op.axes):
        return None
    if not op.keepdims:
        value = dimshuffle(value, tuple(d for d in range(value.ndim) if d + lead not in op.axes))
    count: Variable = Constant(1, dtype=INT)
    for a in op.axes:
        count = mul(count, shape[a])
    total = mul(cast(value, op.dtype), cast(count, op.dtype))
    total = where(gt(count, 0), total, 0)
    rest = [Constant(1, dtype=INT) if a in op.axes else s for a, s in enumerate(shape)
            if op.keepdims or a not in op.axes]
    new = with_type(Alloc()(total, *rest) if rest else total, node.out.type)
    return None if new is None else [new]
