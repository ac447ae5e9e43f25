"""Small matching helpers shared by the node rewrites: what computed a variable, and constants' values."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Constant, Variable
from graphc.graph.type import TensorType
from graphc.ops.elemwise import Elemwise, cast


def elemwise_inputs(var: Variable, name: str) -> list[Variable] | None:
    """The inputs of the Elemwise ``name`` that computed ``var``, or None if something else did."""
    node = var.owner
    if node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op.name == name:
        return node.inputs
    return None


def is_filled(var: Variable, value: float, negative_zero: bool | None = None) -> bool:
    """Whether ``var`` is a constant whose every element equals ``value``. ``negative_zero`` also asks for the
    sign a zero has once converted to float (integer zeros become +0.0): x + 0.0 turns -0.0 into +0.0, while
    x + -0.0 and x - 0.0 change nothing, so float rewrites must tell them apart."""
    if not isinstance(var, Constant) or not np.all(var.data == value):
        return False
    return negative_zero is None or bool(np.all(np.signbit(var.data.astype("float64")) == negative_zero))


def with_type(var: Variable, target: TensorType) -> Variable | None:
    """``var`` if it has type ``target``, else None: a rewrite that cannot keep the type exactly does not fire."""
    return var if var.type == target else None


def converted(var: Variable, target: TensorType) -> Variable | None:
    """``var`` cast to ``target``'s dtype when the static shapes already agree, else None. Only for rewrites whose
    original computation equals the plain conversion (``x * 1`` computes ``x`` converted to the result dtype)."""
    if var.type.shape != target.shape:
        return None
    return with_type(cast(var, target.dtype), target)


def is_float(var: Variable) -> bool:
    return var.dtype in ("float32", "float64")
