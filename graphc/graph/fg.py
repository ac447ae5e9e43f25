"""FunctionGraph: a graph with fixed inputs and outputs, its clients map, and safe replacement."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant, Variable, toposort


class FunctionGraph:
    """The whole computation of one function: ``inputs`` (explicit then shared) to ``outputs``.

    Keeps, for each variable, the list of (node, input position) that use it; an output position is recorded as
    ("output", i). Rewrites change the graph only through ``replace``, which re-validates types."""

    def __init__(self, inputs: list[Variable], outputs: list[Variable]):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self._rebuild()

    def _rebuild(self) -> None:
        self.apply_nodes = toposort(self.outputs)
        self.clients: dict[Variable, list[tuple[Apply | str, int]]] = {}
        for var in self.inputs:
            self.clients.setdefault(var, [])
        for node in self.apply_nodes:
            for var in node.outputs:
                self.clients.setdefault(var, [])
            for pos, var in enumerate(node.inputs):
                self.clients.setdefault(var, []).append((node, pos))
        for pos, var in enumerate(self.outputs):
            self.clients.setdefault(var, []).append(("output", pos))
        self.validate()

    def validate(self) -> None:
        """Every free variable must be a declared input or a constant."""
        declared = set(map(id, self.inputs))
        for node in self.apply_nodes:
            for var in node.inputs:
                if var.owner is None and id(var) not in declared and not isinstance(var, Constant):
                    raise ValueError(f"the graph uses {var!r} ({var.type}), which is not among the function's "
                                     f"inputs; add it to the input list")

    def toposort(self) -> list[Apply]:
        return list(self.apply_nodes)

    def variables(self) -> list[Variable]:
        seen: dict[int, Variable] = {}
        for var in self.inputs:
            seen.setdefault(id(var), var)
        for node in self.apply_nodes:
            for var in node.inputs + node.outputs:
                seen.setdefault(id(var), var)
        for var in self.outputs:
            seen.setdefault(id(var), var)
        return list(seen.values())

    def replace(self, old: Variable, new: Variable, reason: str = "") -> None:
        """Make every user of ``old`` use ``new`` instead; types must match exactly."""
        self.replace_all([(old, new)], reason)

    def replace_all(self, pairs: list[tuple[Variable, Variable]], reason: str = "") -> None:
        """Several replacements with one rebuild. Every node reachable from the outputs is rewired, including
        nodes built during the same pass that still read a replaced variable (fusion builds several at once)."""
        mapping: dict[int, Variable] = {}
        for old, new in pairs:
            if old.type != new.type:
                raise TypeError(f"replace{f' ({reason})' if reason else ''}: {old!r} has type {old.type} but its "
                                f"replacement {new!r} has type {new.type}")
            mapping[id(old)] = new

        def resolve(var: Variable) -> Variable:
            while id(var) in mapping:
                var = mapping[id(var)]
            return var

        self.outputs = [resolve(v) for v in self.outputs]
        seen: set[int] = set()
        stack = list(self.outputs)
        while stack:
            node = stack.pop().owner
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            node.inputs = [resolve(v) for v in node.inputs]
            stack.extend(node.inputs)
        self._rebuild()

    def __repr__(self) -> str:
        return f"FunctionGraph({len(self.inputs)} inputs, {len(self.apply_nodes)} nodes, {len(self.outputs)} outputs)"
