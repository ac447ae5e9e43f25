"""Matrix products: ``dot`` (numpy.dot for 0-d/1-d/2-d) and ``matmul`` (the ``@`` operator, batched).

Two ops carry all of it, so the C lowering has two BLAS call sites: ``Dot`` (1-d/2-d operands: one gemm, gemv or
dot call) and ``BatchedMatmul`` (rank >= 3: one gemm per broadcast batch index). The builders cast both operands
to numpy's result dtype first, so each op sees a single dtype. ``Gemm`` (alpha * dot + beta * C in one BLAS call)
is not built by users: the gemm rewrite makes it from dots and the elementwise arithmetic around them."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType, broadcast_static
from graphc.ops.convert import as_tensor
from graphc.ops.elemwise import cast, mul
from graphc.ops.shape import broadcast_shape_vars, dimshuffle, expand_dims, squeeze, sum_to, transpose

FLOATS = ("float32", "float64")


def _same_dtype(name: str, a: Variable, b: Variable) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{name} needs operands of one dtype, got {a.dtype} and {b.dtype} (the builders cast them)")


def _check_aligned(name: str, a: TensorType, b: TensorType, ka, kb) -> None:
    """Static check of the contracted sizes, so a mismatch known at build time fails there."""
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"{name}: shapes {a} and {b} are not aligned ({ka} != {kb})")


def _swap_last(x: Variable) -> Variable:
    axes = list(range(x.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(x, axes)


class Dot(Op):
    """numpy.dot of two same-dtype operands of rank 1 or 2: (m,k)(k,n), (m,k)(k,), (k,)(k,n) or (k,)(k,)."""

    def make_node(self, a, b):
        a, b = as_tensor(a), as_tensor(b)
        _same_dtype("Dot", a, b)
        if a.ndim not in (1, 2) or b.ndim not in (1, 2):
            raise TypeError(f"Dot takes 1-d or 2-d operands, got {a.type} and {b.type}")
        _check_aligned("dot", a.type, b.type, a.type.shape[-1], b.type.shape[0])
        shape = a.type.shape[:-1] + b.type.shape[1:]
        return Apply(self, [a, b], [Variable(TensorType(a.dtype, shape))])

    def perform(self, node, inputs):
        a, b = inputs
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"dot: shapes {a.shape} and {b.shape} are not aligned ({a.shape[-1]} != {b.shape[0]})")
        return [np.asarray(np.dot(a, b), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        sa, sb = input_shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        if a.dtype not in FLOATS:
            return [None, None]
        # Treat vectors as (1,k) / (k,1) matrices, so one pair of rules covers the four rank combinations.
        g = output_grads[0]
        a2 = expand_dims(a, 0) if a.ndim == 1 else a
        b2 = expand_dims(b, 1) if b.ndim == 1 else b
        g = expand_dims(g, 0) if a.ndim == 1 else g
        g = expand_dims(g, g.ndim) if b.ndim == 1 else g
        ga = self(g, transpose(b2))
        gb = self(transpose(a2), g)
        return [squeeze(ga, 0) if a.ndim == 1 else ga, squeeze(gb, 1) if b.ndim == 1 else gb]


class BatchedMatmul(Op):
    """numpy.matmul of two same-dtype, same-rank (>= 3) operands (..., m, k) and (..., k, n).

    Batch dims must be equal or 1 (a size-1 batch dim is broadcast, i.e. read with stride 0)."""

    def make_node(self, a, b):
        a, b = as_tensor(a), as_tensor(b)
        _same_dtype("BatchedMatmul", a, b)
        if a.ndim != b.ndim or a.ndim < 3:
            raise TypeError(f"BatchedMatmul takes operands of one rank >= 3, got {a.type} and {b.type}")
        _check_aligned("matmul", a.type, b.type, a.type.shape[-1], b.type.shape[-2])
        try:
            batch = broadcast_static([a.type.shape[:-2], b.type.shape[:-2]])
        except ValueError:
            raise ValueError(f"matmul: batch dims of {a.type} and {b.type} cannot be broadcast together") from None
        shape = batch + (a.type.shape[-2], b.type.shape[-1])
        return Apply(self, [a, b], [Variable(TensorType(a.dtype, shape))])

    def perform(self, node, inputs):
        a, b = inputs
        batch_ok = all(x == y or 1 in (x, y) for x, y in zip(a.shape[:-2], b.shape[:-2]))
        if not batch_ok or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: batch dims must be equal or 1 "
                             f"and {a.shape[-1]} (last of the first) must equal {b.shape[-2]}")
        return [np.asarray(np.matmul(a, b), dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        sa, sb = input_shapes
        return [broadcast_shape_vars([sa[:-2], sb[:-2]], len(sa) - 2) + (sa[-2], sb[-1])]

    def grad(self, inputs, outputs, output_grads):
        a, b = inputs
        if a.dtype not in FLOATS:
            return [None, None]
        g = output_grads[0]
        return [sum_to(self(g, _swap_last(b)), a), sum_to(self(_swap_last(a), g), b)]


class Gemm(Op):
    """``alpha * dot(a, b) + beta * c`` for float a, b of rank 1 or 2 (not both 1-d), as numpy computes it:
    ``c`` (rank <= the product's) broadcasts with the product, so a bias vector, a row or a full matrix. Without
    ``c``, beta is 0. alpha and beta are Python floats (exact in the dtype), so they are part of the compiled code.

    BLAS skips the product when alpha is 0 (0 * inf would not give NaN), so alpha must be nonzero."""

    __props__ = ("alpha", "beta")

    def __init__(self, alpha: float, beta: float):
        if alpha == 0 or not np.isfinite(alpha) or not np.isfinite(beta):
            raise ValueError(f"Gemm needs a finite nonzero alpha and a finite beta, got {alpha} and {beta}")
        self.alpha, self.beta = float(alpha), float(beta)

    def make_node(self, a, b, c=None):
        a, b = as_tensor(a), as_tensor(b)
        _same_dtype("Gemm", a, b)
        if a.dtype not in FLOATS or a.ndim not in (1, 2) or b.ndim not in (1, 2) or a.ndim + b.ndim == 2:
            raise TypeError(f"Gemm takes float32/float64 operands of rank 1 or 2, not both vectors; got {a.type} "
                            f"and {b.type}")
        if (c is None) != (self.beta == 0):
            raise TypeError("Gemm takes c exactly when beta is nonzero")
        _check_aligned("gemm", a.type, b.type, a.type.shape[-1], b.type.shape[0])
        product = a.type.shape[:-1] + b.type.shape[1:]
        if c is None:
            return Apply(self, [a, b], [Variable(TensorType(a.dtype, product))])
        c = as_tensor(c)
        if c.dtype != a.dtype or c.ndim > len(product):
            raise TypeError(f"Gemm's c must have the operands' dtype and at most the product's rank; got {c.type} "
                            f"for a product of {a.type} and {b.type}")
        try:
            shape = broadcast_static([product, c.type.shape])
        except ValueError:
            raise ValueError(f"gemm: the product of shape {product} and C of shape {c.type.shape} cannot be "
                             f"broadcast together") from None
        return Apply(self, [a, b, c], [Variable(TensorType(a.dtype, shape))])

    def perform(self, node, inputs):
        a, b, *c = inputs
        if a.shape[-1] != b.shape[0]:
            raise ValueError(f"gemm: shapes {a.shape} and {b.shape} are not aligned ({a.shape[-1]} != {b.shape[0]})")
        out = self.alpha * np.dot(a, b)
        if c:
            try:
                out = out + self.beta * c[0]
            except ValueError:
                raise ValueError(f"gemm: the product of shape {out.shape} and C of shape {c[0].shape} cannot be "
                                 f"broadcast together") from None
        return [np.asarray(out, dtype=node.outputs[0].dtype)]

    def infer_shape(self, node, input_shapes):
        sa, sb, *sc = input_shapes
        product = tuple(sa[:-1]) + tuple(sb[1:])
        return [broadcast_shape_vars([product, *sc], len(product))]

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError("Gemm is made by the gemm rewrite, after differentiation: take gradients of the "
                                  "graph as written (dot, *, +), which the rewrite then turns into Gemm")


def _common(a, b) -> tuple[Variable, Variable]:
    """Both operands cast to numpy's result dtype (bool stays bool, as numpy's dot and matmul keep it)."""
    a, b = as_tensor(a), as_tensor(b)
    dtype = np.result_type(a.dtype, b.dtype).name
    return cast(a, dtype), cast(b, dtype)


def dot(a, b) -> Variable:
    """numpy.dot for operands of rank <= 2: a 0-d operand multiplies elementwise."""
    a, b = _common(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError(f"dot supports operands of rank <= 2, got {a.type} and {b.type}; use matmul (@) for "
                        f"batched products")
    return Dot()(a, b)


def matmul(a, b) -> Variable:
    """numpy.matmul (``a @ b``): 1-d operands are promoted to matrices and the added dim removed again;
    batch dims broadcast."""
    a, b = _common(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got {a.type} and {b.type}; "
                         f"use * to multiply by a scalar")
    if a.ndim <= 2 and b.ndim <= 2:
        return Dot()(a, b)
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    ndim = max(a2.ndim, b2.ndim)
    a2, b2 = (dimshuffle(x, ("x",) * (ndim - x.ndim) + tuple(range(x.ndim))) for x in (a2, b2))
    out = BatchedMatmul()(a2, b2)
    dropped = ((ndim - 2,) if a.ndim == 1 else ()) + ((ndim - 1,) if b.ndim == 1 else ())
    return squeeze(out, dropped)
