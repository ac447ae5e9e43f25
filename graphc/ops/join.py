"""Joining tensors: ``concatenate`` and ``stack`` with numpy's semantics, through one ``Join`` op;
``Split`` (its inverse) is Join's gradient."""
from __future__ import annotations

from functools import reduce

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType
from graphc.ops.convert import as_tensor
from graphc.ops.elemwise import add, cast
from graphc.ops.reduce import normalize_axes
from graphc.ops.shape import expand_dims, reshape, shape_tuple, zeros_like

FLOATS = ("float32", "float64")


class Join(Op):
    """numpy.concatenate of one or more same-dtype, same-rank tensors along a non-negative ``axis``."""

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = axis

    def make_node(self, *tensors):
        tensors = [as_tensor(t) for t in tensors]
        if not tensors:
            raise ValueError("need at least one array to concatenate")
        first = tensors[0]
        if any(t.dtype != first.dtype or t.ndim != first.ndim for t in tensors):
            raise TypeError(f"Join needs inputs of one dtype and rank, got {', '.join(str(t.type) for t in tensors)}")
        if not 0 <= self.axis < first.ndim:
            raise np.exceptions.AxisError(f"axis {self.axis} is out of bounds for array of dimension {first.ndim}")
        shape = []
        for d in range(first.ndim):
            sizes = [t.type.shape[d] for t in tensors]
            if d == self.axis:
                shape.append(None if None in sizes else sum(sizes))
                continue
            known = set(sizes) - {None}
            if len(known) > 1:
                raise ValueError(f"concatenate: sizes along dim {d} differ: "
                                 f"{', '.join(str(t.type) for t in tensors)}")
            shape.append(known.pop() if known else None)
        return Apply(self, tensors, [Variable(TensorType(first.dtype, tuple(shape)))])

    def perform(self, node, inputs):
        others = {x.shape[:self.axis] + x.shape[self.axis + 1:] for x in inputs}
        if len(others) > 1:
            raise ValueError(f"concatenate: all dims except axis {self.axis} must match, got shapes "
                             f"{', '.join(str(x.shape) for x in inputs)}")
        return [np.concatenate(inputs, axis=self.axis)]

    def infer_shape(self, node, input_shapes):
        out = []
        for d, first in enumerate(input_shapes[0]):
            dims = [s[d] for s in input_shapes]
            # along the axis the sizes add up; elsewhere they agree, so take a constant one if there is one
            out.append(reduce(add, dims) if d == self.axis else
                       next((s for s in dims if isinstance(s, Constant)), first))
        return [tuple(out)]

    def grad(self, inputs, outputs, output_grads):
        sizes = [shape_tuple(x)[self.axis] for x in inputs]
        pieces = Split(self.axis).make_node(output_grads[0], *sizes).outputs
        return [p if x.dtype in FLOATS else None for p, x in zip(pieces, inputs)]


class Split(Op):
    """Cuts ``x`` along ``axis`` into consecutive pieces whose sizes (int64 scalars) must add up to its size."""

    view_of_input = 0

    __props__ = ("axis",)

    def __init__(self, axis: int):
        self.axis = axis

    def make_node(self, x, *sizes):
        x = as_tensor(x)
        sizes = [as_tensor(s, dtype="int64") for s in sizes]
        if not sizes or any(s.ndim != 0 for s in sizes):
            raise TypeError("Split needs one or more scalar sizes")
        if not 0 <= self.axis < x.ndim:
            raise np.exceptions.AxisError(f"axis {self.axis} is out of bounds for array of dimension {x.ndim}")
        static = [int(s.data) if isinstance(s, Constant) else None for s in sizes]
        total = x.type.shape[self.axis]
        if None not in static and total is not None and sum(static) != total:
            raise ValueError(f"split: sizes {static} do not add up to {total}, the size of axis {self.axis} of "
                             f"{x.type}")
        outputs = [Variable(TensorType(x.dtype, x.type.shape[:self.axis] + (s,) + x.type.shape[self.axis + 1:]))
                   for s in static]
        return Apply(self, [x, *sizes], outputs)

    def perform(self, node, inputs):
        x, *sizes = inputs
        sizes = [int(s) for s in sizes]
        if any(s < 0 for s in sizes) or sum(sizes) != x.shape[self.axis]:
            raise ValueError(f"split: sizes {sizes} do not add up to {x.shape[self.axis]}, the size of axis "
                             f"{self.axis} of an array of shape {x.shape}")
        return np.split(x, np.cumsum(sizes)[:-1], axis=self.axis)

    def infer_shape(self, node, input_shapes):
        shp = input_shapes[0]
        return [shp[:self.axis] + (s,) + shp[self.axis + 1:] for s in node.inputs[1:]]

    def grad(self, inputs, outputs, output_grads):
        x = inputs[0]
        if x.dtype not in FLOATS:
            return [None] * len(inputs)
        parts = [zeros_like(o) if g is None else g for o, g in zip(outputs, output_grads)]
        return [Join(self.axis)(*parts)] + [None] * (len(inputs) - 1)


def concatenate(tensors, axis: int | None = 0) -> Variable:
    """numpy.concatenate: inputs are cast to their common (numpy result) dtype; ``axis=None`` joins them
    flattened. A single input is returned as it is."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        tensors, axis = [reshape(t, (-1,)) for t in tensors], 0
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    if any(t.ndim != ndim for t in tensors):
        raise ValueError(f"all the input arrays must have the same number of dimensions, got "
                         f"{', '.join(str(t.type) for t in tensors)}")
    axis = normalize_axes(axis, ndim)[0]
    dtype = np.result_type(*[t.dtype for t in tensors]).name
    tensors = [cast(t, dtype) for t in tensors]
    return tensors[0] if len(tensors) == 1 else Join(axis)(*tensors)


def stack(tensors, axis: int = 0) -> Variable:
    """numpy.stack: joins same-shape tensors along a new ``axis``."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("need at least one array to stack")
    ndim = tensors[0].ndim
    if any(t.ndim != ndim for t in tensors):
        raise ValueError(f"all input arrays must have the same shape, got {', '.join(str(t.type) for t in tensors)}")
    axis = normalize_axes(axis, ndim + 1)[0]
    return concatenate([expand_dims(t, axis) for t in tensors], axis)
