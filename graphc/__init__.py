"""graphc: a static graph compiler for numerical Python (symbolic graphs, autodiff, generated C + BLAS).

Importing graphc is light: jinja2, networkx and the compiler machinery load when first needed."""
from graphc.config import config
from graphc.graph import Apply, Constant, FunctionGraph, Op, SharedVariable, TensorType, Variable
from graphc.tensor import (bmatrix, bvector, constant, dmatrix, dscalar, dtensor3, dvector, fmatrix, fscalar,
                           ftensor3, fvector, imatrix, iscalar, ivector, lmatrix, lscalar, lvector, matrix, scalar,
                           shared, tensor, tensor3, tensor4, vector)
from graphc.ops.convert import as_tensor
from graphc.ops.elemwise import (abs, add, bitwise_and, bitwise_or, bitwise_xor, cast, clip, cos, eq, exp, expm1,
                                 floor_div, ge, gt, invert, isfinite, isinf, isnan, le, log, log1p, lt, maximum,
                                 minimum, mod, mul, neg, neq, pow, relu, sigmoid, sign, sin, softplus, sqrt, square,
                                 sub, tanh, true_div, where)
from graphc.ops.shape import (alloc, arange, broadcast_to, dimshuffle, expand_dims, ones, ones_like, reshape, shape,
                              squeeze, transpose, zeros, zeros_like)
from graphc.ops.reduce import argmax, argmin, max, mean, min, prod, sum
from graphc.ops.join import concatenate, stack
from graphc.ops.subtensor import inc_subtensor, set_subtensor
from graphc.ops.blas import dot, matmul
from graphc.ops.nnet import log_softmax, logsumexp, softmax, stop_gradient
from graphc.ops.conv import conv2d
from graphc.autodiff import DisconnectedInputError, grad
from graphc.function import Function, function
from graphc.printing import dprint, to_dot

__version__ = "0.1.0"
astype = cast

_LAZY = {"memory_plan": "graphc.plan.report", "optimization_report": "graphc.rewrite.report",
         "bisect": "graphc.debug", "DebugError": "graphc.debug"}
"""Reporting helpers whose modules pull in the optimizer: imported on first use, so ``import graphc`` stays light."""


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphc' has no attribute {name!r}")
