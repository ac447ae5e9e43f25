"""Constant folding: a node whose inputs are all constants is computed once, at compile time, by its op's numpy
``perform`` (the reference implementation), and replaced by the result.

Only nodes with nothing but constant inputs fold, so nothing that depends on a call's arguments is computed here.
The result must keep the output's type, so its shape has to be static, which also lets results above
``MAX_ELEMENTS`` be refused before anything is computed (a huge constant would bloat the generated code and the
compile). A node whose perform raises stays in the graph, so the error still happens when the function runs."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.rewrite.registry import node_rewrite

MAX_ELEMENTS = 10_000


def _foldable_size(var: Variable) -> bool:
    shape = var.type.shape
    return None not in shape and int(np.prod(shape, dtype=np.int64)) <= MAX_ELEMENTS


@node_rewrite("constant_folding", "canonicalize", ("fast_run", "fast_compile", "canonicalize"))
def constant_folding(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    if not node.inputs or not all(isinstance(v, Constant) for v in node.inputs):
        return None
    if not all(_foldable_size(o) for o in node.outputs):
        return None
    try:
        values = node.op.perform(node, [v.data for v in node.inputs])
    except Exception:  # noqa: BLE001 - whatever went wrong is reported at run time, as without folding
        return None
    out = []
    for var, value in zip(node.outputs, values):
        const = Constant(np.array(value, copy=True), dtype=var.dtype)
        if const.type != var.type or np.asarray(value).dtype.name != var.dtype:
            return None  # perform disagreed with the op's type: leave the node to run time
        out.append(const)
    return out
