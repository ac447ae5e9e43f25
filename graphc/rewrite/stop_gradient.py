"""StopGradient only matters to ``gc.grad``; a compiled function is built after differentiation, and at run time
StopGradient is the identity, so it is dropped from the graph."""
from __future__ import annotations

from graphc.graph.basic import Apply, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.nnet import StopGradient
from graphc.rewrite.registry import node_rewrite


@node_rewrite("remove_stop_gradient", "specialize", ("fast_run", "fast_compile", "specialize"), tracks=(StopGradient,))
def remove_stop_gradient(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    return [node.inputs[0]]
