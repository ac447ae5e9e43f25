"""Copying a graph, so compiling (and later rewriting) never changes the user's variables."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant, Variable, toposort


def clone_graph(inputs: list[Variable], outputs: list[Variable]) -> tuple[list[Variable], list[Variable]]:
    """Fresh Applies and intermediate variables for the graph; inputs and constants are kept as they are."""
    mapping: dict[int, Variable] = {id(v): v for v in inputs}
    for node in toposort(outputs):
        new_inputs = [mapping.get(id(v), v) for v in node.inputs]
        new_outputs = [Variable(o.type, None, 0, o.name) for o in node.outputs]
        Apply(node.op, new_inputs, new_outputs)
        for old, new in zip(node.outputs, new_outputs):
            mapping[id(old)] = new
    return list(inputs), [mapping.get(id(o), o) for o in outputs]


def substitute(outputs: list[Variable], replacements: dict[Variable, Variable]) -> list[Variable]:
    """The outputs recomputed with some leaves replaced (e.g. shared variables by constants); every node that
    depends on a replaced leaf is rebuilt through its op's ``make_node``, so types are re-inferred."""
    mapping: dict[int, Variable] = {id(old): new for old, new in replacements.items()}
    for node in toposort(outputs):
        new_inputs = [mapping.get(id(v), v) for v in node.inputs]
        if all(new is old for new, old in zip(new_inputs, node.inputs)):
            continue
        rebuilt = node.clone_with_new_inputs(new_inputs)
        for old, new in zip(node.outputs, rebuilt.outputs):
            new.name = old.name
            mapping[id(old)] = new
    return [mapping.get(id(o), o) for o in outputs]
