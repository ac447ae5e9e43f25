"""Constructors for symbolic inputs and shared variables, with Theano's names."""
from __future__ import annotations

import numpy as np

from graphc.config import config
from graphc.graph.basic import Constant, SharedVariable, Variable
from graphc.graph.type import TensorType


def tensor(name: str | None = None, dtype=None, shape=None, ndim: int | None = None) -> Variable:
    """A symbolic input. ``shape`` entries are ints (static sizes; 1 means broadcastable) or None."""
    if shape is None:
        shape = (None,) * (ndim or 0)
    elif ndim is not None and ndim != len(shape):
        raise ValueError(f"tensor {name!r}: ndim={ndim} disagrees with shape={shape}")
    return Variable(TensorType(dtype or config.floatX, tuple(shape)), name=name)


def _maker(ndim: int, fixed_dtype: str | None = None):
    def make(name: str | None = None, dtype=None, shape=None) -> Variable:
        return tensor(name, dtype or fixed_dtype, shape if shape is not None else (None,) * ndim)
    return make


scalar = _maker(0); vector = _maker(1); matrix = _maker(2); tensor3 = _maker(3); tensor4 = _maker(4)
iscalar = _maker(0, "int32"); ivector = _maker(1, "int32"); imatrix = _maker(2, "int32")
lscalar = _maker(0, "int64"); lvector = _maker(1, "int64"); lmatrix = _maker(2, "int64")
fscalar = _maker(0, "float32"); fvector = _maker(1, "float32"); fmatrix = _maker(2, "float32")
dscalar = _maker(0, "float64"); dvector = _maker(1, "float64"); dmatrix = _maker(2, "float64")
ftensor3 = _maker(3, "float32"); dtensor3 = _maker(3, "float64")
bvector = _maker(1, "int8"); bmatrix = _maker(2, "int8")


def shared(value, name: str | None = None, shape=None) -> SharedVariable:
    """A variable that keeps its value between calls; compiled functions read it and may update it."""
    return SharedVariable(np.asarray(value), name, shape)


def constant(value, dtype=None, name: str | None = None) -> Constant:
    return Constant(value, dtype=dtype, name=name)
