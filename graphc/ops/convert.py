"""Turning Python values into graph variables, with numpy 2's weak-scalar promotion."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Constant, Variable

PY_SCALARS = (bool, int, float)


def as_tensor(value, dtype=None, name: str | None = None) -> Variable:
    """A Variable for ``value``: variables pass through, anything array-like becomes a Constant."""
    if isinstance(value, Variable):
        if dtype is not None and value.dtype != np.dtype(dtype).name:
            from graphc.ops.elemwise import cast
            return cast(value, dtype)
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) for v in value):
        from graphc.ops.join import stack
        return stack([as_tensor(v) for v in value])
    if isinstance(value, PY_SCALARS) and dtype is None:
        dtype = {bool: "bool", int: "int64", float: "float64"}[type(value)]
    return Constant(value, dtype=dtype, name=name)


def as_operands(*values) -> list[Variable]:
    """Convert the operands of one elementwise op as numpy 2 does: Python scalars are weak and take the
    dtype the strong (array) operands give, so ``x_float32 * 2.0`` stays float32."""
    strong = [v.type.np_dtype if isinstance(v, Variable) else np.asarray(v).dtype
              for v in values if not isinstance(v, PY_SCALARS)]
    out = []
    for v in values:
        if isinstance(v, PY_SCALARS) and strong:
            dtype = np.result_type(*strong, v)
            if isinstance(v, int) and not isinstance(v, bool) and dtype.kind in "iu":
                info = np.iinfo(dtype)
                if not info.min <= v <= info.max:
                    raise OverflowError(f"Python integer {v} out of bounds for {dtype.name}")
            out.append(Constant(v, dtype=dtype))
        else:
            out.append(as_tensor(v))
    return out
