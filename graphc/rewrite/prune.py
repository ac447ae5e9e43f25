"""Dependency pruning: a computation stays in the graph only if an output or update needs its *value*.

A FunctionGraph already holds only the nodes its outputs reach (it is built, and rebuilt after every replacement,
by a topological sort from the outputs). What remains is values needed only for their shape, as gradients ask
for ``x.shape`` of intermediates: those shape queries are answered from earlier variables, so the value itself
can drop out. A query moves only through ops that cannot fail (so no run-time error is lost) and whose output
shape is their input's."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import Elemwise
from graphc.ops.nnet import StopGradient
from graphc.ops.shape import INT, DimShuffle, Shape, ShapeI
from graphc.rewrite.registry import node_rewrite

TAGS = ("fast_run", "fast_compile", "prune")


def _keeps_shape(node: Apply) -> bool:
    """Unary elementwise ops and StopGradient: same shape as the input, and never an error."""
    return isinstance(node.op, StopGradient) or (isinstance(node.op, Elemwise) and len(node.inputs) == 1)


@node_rewrite("static_shape", "prune", TAGS, tracks=(Shape, ShapeI))
def static_shape(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """The static size of a graph input (checked when the function is called) is a constant."""
    x = node.inputs[0]
    if x.owner is not None:
        return None
    shape = x.type.shape
    if isinstance(node.op, ShapeI):
        size = shape[node.op.i]
        return None if size is None else [Constant(size, dtype=INT)]
    return None if None in shape else [Constant(np.array(shape, dtype=INT).reshape(len(shape)), dtype=INT)]


@node_rewrite("shape_lift", "prune", TAGS, tracks=(Shape, ShapeI))
def shape_lift(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """shape(f(x)) -> shape(x) for shape-keeping f; shape(x.dimshuffle(p))[i] -> shape(x)[p[i]] (or 1)."""
    source = node.inputs[0].owner
    if source is None:
        return None
    if _keeps_shape(source):
        return [node.op(source.inputs[0])]
    if isinstance(source.op, DimShuffle) and isinstance(node.op, ShapeI):
        axis = source.op.pattern[node.op.i]
        return [Constant(1, dtype=INT) if axis == "x" else ShapeI(axis)(source.inputs[0])]
    return None
