"""TensorType: static dtype and rank, dims known to be 1 (broadcastable), optional static sizes."""
from __future__ import annotations

import numpy as np

DTYPES = ("bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64", "uint64")
"""The last, uint64, is only what numpy's sum/prod of uint8 gives; it is not a declared input dtype."""
MAX_NDIM = 16


def check_dtype(dtype) -> str:
    """Normalise a dtype-like to one of graphc's dtype names, or raise a TypeError that lists them."""
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"graphc does not support dtype {name!r}; supported: {', '.join(DTYPES)}")
    return name


class TensorType:
    """The type of a symbolic tensor. ``shape`` holds an int where the size is static, else None."""

    __slots__ = ("dtype", "shape", "np_dtype", "_dynamic")

    def __init__(self, dtype, shape=()):
        self.dtype = check_dtype(dtype)
        shape = tuple(None if s is None else int(s) for s in shape)
        if len(shape) > MAX_NDIM:
            raise ValueError(f"graphc supports at most {MAX_NDIM} dimensions, got {len(shape)}")
        if any(s is not None and s < 0 for s in shape):
            raise ValueError(f"static sizes must be non-negative, got {shape}")
        self.shape = shape
        self.np_dtype = np.dtype(self.dtype)
        self._dynamic = all(s is None for s in shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorType) and self.dtype == other.dtype and self.shape == other.shape

    def __hash__(self) -> int:
        return hash((self.dtype, self.shape))

    def key(self) -> str:
        """A deterministic text form, used in cache keys and printing."""
        return f"{self.dtype}[{','.join('?' if s is None else str(s) for s in self.shape)}]"

    def __str__(self) -> str:
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        if self.ndim == 1:
            dims += ","
        return f"{self.dtype} ({dims})"

    __repr__ = __str__

    def is_compatible(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == self.ndim and all(s is None or s == d for s, d in zip(self.shape, shape))

    def filter(self, value, name: str) -> np.ndarray:
        """Convert a call argument to an array of this type, or raise naming the input.

        Casts only when numpy calls it safe; Python scalars and lists are taken when their values fit exactly.
        """
        want = self.np_dtype
        if type(value) is np.ndarray and value.dtype == want and value.ndim == len(self.shape) and (
                self._dynamic or value.shape == self.shape):
            return value
        if isinstance(value, np.ndarray):
            arr = value
        elif isinstance(value, (bool, int, float, list, tuple, np.generic)):
            arr = np.asarray(value)
            if not isinstance(value, np.generic) and arr.dtype != want:
                converted = arr.astype(want)
                if arr.dtype.kind == "f" and want.kind == "f" or np.array_equal(converted, arr):
                    arr = converted
        else:
            arr = np.asarray(value)
        if arr.dtype != want:
            if not np.can_cast(arr.dtype, want, "safe"):
                raise TypeError(
                    f"input {name!r}: expected dtype {want.name}, got {arr.dtype.name}, which does not cast "
                    f"safely; convert it with .astype({want.name!r}) first")
            arr = arr.astype(want)
        if arr.ndim != self.ndim:
            raise TypeError(f"input {name!r}: expected {self.ndim} dimension(s) ({self}), got an array of "
                            f"shape {arr.shape}")
        if not self.is_compatible(arr.shape):
            raise ValueError(f"input {name!r}: expected shape {_shape_text(self.shape)}, got {arr.shape}")
        return arr


def _shape_text(shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_static(shapes: list[tuple]) -> tuple:
    """The static output shape of numpy broadcasting over ``shapes`` (None where unknown)."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        dims = [s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {', '.join(_shape_text(s) for s in shapes)} cannot be broadcast together")
        if known:
            out.append(known.pop())
        elif all(d == 1 for d in dims):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)
