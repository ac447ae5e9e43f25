"""Numerically stable softmax, log_softmax and logsumexp, composed of existing ops (max, exp, sum, log, where)
so backends need no kernels of their own; and ``stop_gradient``, which keeps the subtracted max out of the
gradient (it only shifts the computation, the math does not depend on it)."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Variable
from graphc.graph.op import Op
from graphc.ops.convert import as_tensor
from graphc.ops.elemwise import cast, exp, isfinite, log, where
from graphc.ops.reduce import max as reduce_max, normalize_axes, sum as reduce_sum
from graphc.ops.shape import squeeze

FLOATS = ("float32", "float64")


class StopGradient(Op):
    """The identity, through which no gradient flows (Theano's disconnected_grad)."""

    view_of_input = 0

    def make_node(self, x):
        x = as_tensor(x)
        return Apply(self, [x], [Variable(x.type)])

    def perform(self, node, inputs):
        return [inputs[0]]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def grad(self, inputs, outputs, output_grads):
        return [None]


def stop_gradient(x) -> Variable:
    """``x`` in the forward pass; gradients treat it as a constant."""
    return StopGradient()(x)


def _shift(x: Variable, axes: tuple[int, ...]) -> Variable:
    """The max over ``axes`` (kept as size-1 dims), replaced by 0 where it is not finite, without gradient.

    The max is seeded with -inf (numpy's ``initial``), so empty axes are fine. A -inf max (all -inf, or empty)
    becomes 0 so that ``x - shift`` stays -inf, not NaN."""
    m = reduce_max(x, axis=axes, keepdims=True, initial=-np.inf)
    return stop_gradient(where(isfinite(m), m, 0))


def _stable_parts(x, axis) -> tuple[tuple[int, ...], Variable, Variable, Variable, Variable]:
    """(axes, shift, x - shift, exp(x - shift), its sum over axes with dims kept); ints compute in float64."""
    x = as_tensor(x)
    x = x if x.dtype in FLOATS else cast(x, "float64")
    axes = normalize_axes(axis, x.ndim)
    shift = _shift(x, axes)
    shifted = x - shift
    e = exp(shifted)
    return axes, shift, shifted, e, reduce_sum(e, axis=axes, keepdims=True)


def softmax(x, axis=-1) -> Variable:
    """exp(x) / sum(exp(x)) over ``axis`` (an int, a tuple, or None for all), as scipy.special.softmax."""
    _, _, _, e, total = _stable_parts(x, axis)
    return e / total


def log_softmax(x, axis=-1) -> Variable:
    """log(softmax(x)), computed without forming softmax, so it stays finite where softmax underflows."""
    _, _, shifted, _, total = _stable_parts(x, axis)
    return shifted - log(total)


def logsumexp(x, axis=None, keepdims: bool = False) -> Variable:
    """log(sum(exp(x))) over ``axis`` as scipy.special.logsumexp: -inf for empty or all -inf, +inf if any +inf."""
    axes, shift, _, _, total = _stable_parts(x, axis)
    out = log(total) + shift
    return out if keepdims else squeeze(out, axes)
