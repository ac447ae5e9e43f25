"""Variables and Applies: the nodes of a graphc graph (Theano/PyTensor vocabulary)."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from graphc.graph.operators import TensorOperators
from graphc.graph.type import TensorType, check_dtype

if TYPE_CHECKING:
    from graphc.graph.op import Op


class Variable(TensorOperators):
    """A symbolic tensor: either a graph input (``owner is None``) or output ``index`` of an Apply."""

    def __init__(self, type: TensorType, owner: "Apply | None" = None, index: int = 0, name: str | None = None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name

    @property
    def dtype(self) -> str:
        return self.type.dtype

    @property
    def ndim(self) -> int:
        return self.type.ndim

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return self.type.broadcastable

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.owner is not None:
            op = str(self.owner.op)
            return op if len(self.owner.outputs) == 1 else f"{op}.{self.index}"
        return f"<{self.type}>"

    def __bool__(self):
        raise TypeError("a symbolic variable has no truth value; use gc.where or comparisons inside the graph")

    __hash__ = object.__hash__

    def clone(self) -> "Variable":
        return Variable(self.type, None, 0, self.name)


class Constant(Variable):
    """A graph input with a fixed value, folded into generated code as data."""

    def __init__(self, data, dtype=None, name: str | None = None):
        arr = np.array(data, dtype=None if dtype is None else check_dtype(dtype))
        if arr.dtype.name not in ("bool", "int8", "uint8", "int16", "int32", "int64", "float32", "float64"):
            arr = arr.astype(check_dtype(arr.dtype))
        arr.setflags(write=False)
        super().__init__(TensorType(arr.dtype, arr.shape), None, 0, name)
        self.data = arr

    def signature(self) -> str:
        """Value-based identity: equal constants give equal signatures (used by keys and merging)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.data).tobytes()).hexdigest()[:24]
        return f"const:{self.type.key()}:{digest}"

    def __repr__(self) -> str:
        if self.name:
            return self.name
        if self.data.size <= 8:
            return np.array2string(self.data, separator=",", threshold=8).replace("\n", "")
        return f"Constant{{{self.type}}}"

    def clone(self) -> "Constant":
        return self


class SharedVariable(Variable):
    """A variable whose value persists between calls and that compiled functions may update (``updates=``)."""

    def __init__(self, value: np.ndarray, name: str | None, shape=None):
        arr = np.array(value)
        check_dtype(arr.dtype)
        static = tuple(shape) if shape is not None else tuple(None for _ in arr.shape)
        super().__init__(TensorType(arr.dtype, static), None, 0, name)
        self._value = self.type.filter(arr, self._label())
        self._value = np.array(self._value, copy=True)

    def _label(self) -> str:
        return self.name or "shared variable"

    def get_value(self, borrow: bool = False) -> np.ndarray:
        """The current value; a copy unless ``borrow=True``. A value a CUDA function keeps on the device is copied
        back."""
        if not isinstance(self._value, np.ndarray):
            return self._value.get()
        return self._value if borrow else self._value.copy()

    def set_value(self, value, borrow: bool = False) -> None:
        """Replace the value; it must keep the dtype and rank (sizes may change unless static)."""
        arr = self.type.filter(value, self._label())
        self._value = arr if borrow and isinstance(value, np.ndarray) and arr is value else np.array(arr, copy=True)

    def clone(self) -> "SharedVariable":
        return self


class Apply:
    """One application of an Op to input variables, producing output variables."""

    def __init__(self, op: "Op", inputs: list[Variable], outputs: list[Variable]):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            out.owner, out.index = self, i

    @property
    def out(self) -> Variable:
        return self.outputs[0]

    def __repr__(self) -> str:
        return f"{self.op}({', '.join(map(repr, self.inputs))})"

    def clone_with_new_inputs(self, inputs: list[Variable]) -> "Apply":
        """Rebuild this node through its op's make_node, so types are re-inferred for the new inputs."""
        return self.op.make_node(*inputs)


def ancestors(outputs: Iterable[Variable]) -> Iterator[Variable]:
    """Every variable the outputs depend on, each once, in a deterministic order."""
    seen: set[int] = set()
    stack = list(reversed(list(outputs)))
    while stack:
        var = stack.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        yield var
        if var.owner is not None:
            stack.extend(reversed(var.owner.inputs))


def toposort(outputs: Iterable[Variable]) -> list[Apply]:
    """Applies needed by ``outputs``, inputs before users; deterministic for a given graph."""
    order: list[Apply] = []
    done: set[int] = set()
    for root in outputs:
        stack: list[tuple[Variable, bool]] = [(root, False)]
        while stack:
            var, expanded = stack.pop()
            node = var.owner
            if node is None or id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((var, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and id(inp.owner) not in done:
                    stack.append((inp, False))
    return order


def graph_inputs(outputs: Iterable[Variable]) -> list[Variable]:
    """Variables without an owner that the outputs depend on (constants included)."""
    return [v for v in ancestors(outputs) if v.owner is None]
