"""The debug check run after each pass (``GRAPHC_FLAGS=check_rewrites=1``): a pass that breaks the graph is named
at once, instead of surfacing later as a wrong number or a code generator error."""
from __future__ import annotations

from graphc.graph.basic import Constant
from graphc.graph.fg import FunctionGraph
from graphc.graph.type import TensorType


class RewriteCheckError(AssertionError):
    pass


def check_graph(fgraph: FunctionGraph, output_types: list[TensorType], pass_name: str) -> None:
    """Outputs keep their types, every free variable is an input or constant, the node order is topological,
    and every node's output types are what its op infers from its current inputs."""
    def fail(why: str):
        raise RewriteCheckError(f"after rewrite pass {pass_name!r}: {why}")

    types = [v.type for v in fgraph.outputs]
    if types != output_types:
        fail(f"output types changed from {output_types} to {types}")
    try:
        fgraph.validate()
    except ValueError as exc:
        fail(str(exc))
    known = {id(v) for v in fgraph.inputs}
    for node in fgraph.toposort():
        for var in node.inputs:
            if id(var) not in known and not isinstance(var, Constant):
                fail(f"{node.op} uses {var!r} before it is computed")
        inferred = [o.type for o in node.op.make_node(*node.inputs).outputs]
        if inferred != [o.type for o in node.outputs]:
            fail(f"{node.op} outputs have types {[o.type for o in node.outputs]}, but its inputs give {inferred}")
        known.update(id(o) for o in node.outputs)
