"""Python operators and Theano-style methods on symbolic tensors.

The op modules import the graph package, so each method imports its builder when called."""
from __future__ import annotations


def _ew():
    from graphc.ops import elemwise
    return elemwise


class TensorOperators:
    """Mixed into Variable: ``x + y``, ``x @ W``, ``x[i]``, ``x.sum(axis=0)``, ``x.T`` and friends."""

    # arithmetic
    def __add__(self, other): return _ew().add(self, other)
    def __radd__(self, other): return _ew().add(other, self)
    def __sub__(self, other): return _ew().sub(self, other)
    def __rsub__(self, other): return _ew().sub(other, self)
    def __mul__(self, other): return _ew().mul(self, other)
    def __rmul__(self, other): return _ew().mul(other, self)
    def __truediv__(self, other): return _ew().true_div(self, other)
    def __rtruediv__(self, other): return _ew().true_div(other, self)
    def __floordiv__(self, other): return _ew().floor_div(self, other)
    def __rfloordiv__(self, other): return _ew().floor_div(other, self)
    def __mod__(self, other): return _ew().mod(self, other)
    def __rmod__(self, other): return _ew().mod(other, self)
    def __pow__(self, other): return _ew().pow(self, other)
    def __rpow__(self, other): return _ew().pow(other, self)
    def __neg__(self): return _ew().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ew().abs(self)

    # comparisons and logic (== and != stay identity, as in Theano: use gc.eq / gc.neq)
    def __lt__(self, other): return _ew().lt(self, other)
    def __le__(self, other): return _ew().le(self, other)
    def __gt__(self, other): return _ew().gt(self, other)
    def __ge__(self, other): return _ew().ge(self, other)
    def __and__(self, other): return _ew().bitwise_and(self, other)
    def __rand__(self, other): return _ew().bitwise_and(other, self)
    def __or__(self, other): return _ew().bitwise_or(self, other)
    def __ror__(self, other): return _ew().bitwise_or(other, self)
    def __xor__(self, other): return _ew().bitwise_xor(self, other)
    def __rxor__(self, other): return _ew().bitwise_xor(other, self)
    def __invert__(self): return _ew().invert(self)

    # linear algebra
    def __matmul__(self, other):
        from graphc.ops.blas import matmul
        return matmul(self, other)

    def __rmatmul__(self, other):
        from graphc.ops.blas import matmul
        return matmul(other, self)

    def dot(self, other):
        from graphc.ops.blas import dot
        return dot(self, other)

    # reductions
    def sum(self, axis=None, keepdims=False, dtype=None):
        from graphc.ops.reduce import sum
        return sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def prod(self, axis=None, keepdims=False):
        from graphc.ops.reduce import prod
        return prod(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        from graphc.ops.reduce import mean
        return mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        from graphc.ops.reduce import max
        return max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        from graphc.ops.reduce import min
        return min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        from graphc.ops.reduce import argmax
        return argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        from graphc.ops.reduce import argmin
        return argmin(self, axis=axis, keepdims=keepdims)

    # shapes
    @property
    def shape(self):
        from graphc.ops.shape import shape
        return shape(self)

    @property
    def size(self):
        from graphc.ops.shape import size
        return size(self)

    @property
    def T(self):
        from graphc.ops.shape import transpose
        return transpose(self)

    def transpose(self, *axes):
        from graphc.ops.shape import transpose
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def dimshuffle(self, *pattern):
        from graphc.ops.shape import dimshuffle
        if len(pattern) == 1 and isinstance(pattern[0], (tuple, list)):
            pattern = tuple(pattern[0])
        return dimshuffle(self, pattern)

    def reshape(self, *shape):
        from graphc.ops.shape import reshape
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return reshape(self, shape)

    def flatten(self):
        from graphc.ops.shape import reshape
        return reshape(self, (-1,))

    def squeeze(self, axis=None):
        from graphc.ops.shape import squeeze
        return squeeze(self, axis)

    def astype(self, dtype):
        return _ew().cast(self, dtype)

    def clip(self, lo, hi):
        return _ew().clip(self, lo, hi)

    def __getitem__(self, index):
        from graphc.ops.subtensor import getitem
        return getitem(self, index)

    def __len__(self):
        raise TypeError("symbolic tensors have no len(); use x.shape[0]")

    def __iter__(self):
        raise TypeError("symbolic tensors cannot be iterated; index them instead")
