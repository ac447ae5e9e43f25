"""The Op base class: type inference (make_node), shape inference, numpy perform, and gradient."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from graphc.graph.basic import Apply, Variable


class Op:
    """An operation. Subclasses name their parameters in ``__props__``; equality, hashing and the
    deterministic signature (used in cache keys and merging) are derived from them."""

    __props__: tuple[str, ...] = ()
    view_of_input: int | None = None
    """Set when the outputs may share memory with this input (a view, as numpy would return); the memory plan and
    code generator keep that input's buffer alive as long as the outputs."""

    def _props(self) -> tuple:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._props()))

    def signature(self) -> str:
        """Deterministic text identity of this op and its parameters."""
        return f"{type(self).__name__}{{{','.join(f'{p}={_prop_text(getattr(self, p))}' for p in self.__props__)}}}"

    def __str__(self) -> str:
        props = ", ".join(_prop_text(getattr(self, p)) for p in self.__props__)
        return f"{type(self).__name__}{{{props}}}" if props else type(self).__name__

    __repr__ = __str__

    # --- to implement -------------------------------------------------------------------------
    def make_node(self, *inputs) -> Apply:
        raise NotImplementedError

    def perform(self, node: Apply, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError(f"{self} has no numpy implementation")

    def infer_shape(self, node: Apply, input_shapes: list[tuple[Variable, ...]]) -> list[tuple[Variable, ...]]:
        """Symbolic output shapes (tuples of int64 scalar variables) from the inputs' symbolic shapes."""
        raise NotImplementedError(f"{self} does not infer shapes")

    def grad(self, inputs: list[Variable], outputs: list[Variable],
             output_grads: list[Variable | None]) -> list[Variable | None]:
        """Gradients of a scalar cost with respect to each input, given those of the outputs.

        ``None`` in ``output_grads`` means the cost does not depend on that output; ``None`` in the result means
        the input gets no gradient (integer inputs, or a disconnected path)."""
        raise NotImplementedError(f"{self} is not differentiable")

    # --- calling ------------------------------------------------------------------------------
    def __call__(self, *inputs):
        node = self.make_node(*inputs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs


def _prop_text(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_prop_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if hasattr(value, "signature"):
        return value.signature()
    return str(value)
