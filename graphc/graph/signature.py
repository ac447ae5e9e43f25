"""A canonical text form of a graph, for cache keys: same graph, same text, in any process.

Variables are numbered in a fixed traversal order; names are left out (they do not change the code)."""
from __future__ import annotations

from graphc.graph.basic import Constant, SharedVariable
from graphc.graph.fg import FunctionGraph


def graph_signature(fgraph: FunctionGraph) -> str:
    index: dict[int, str] = {}
    lines = []
    for i, var in enumerate(fgraph.inputs):
        index[id(var)] = f"i{i}"
        lines.append(f"input i{i} {'shared ' if isinstance(var, SharedVariable) else ''}{var.type.key()}")
    for n, node in enumerate(fgraph.toposort()):
        args = []
        for var in node.inputs:
            if id(var) not in index:
                if not isinstance(var, Constant):
                    raise ValueError(f"graph signature: {var!r} is neither an input nor computed")
                index[id(var)] = var.signature()
            args.append(index[id(var)])
        outs = []
        for k, var in enumerate(node.outputs):
            index[id(var)] = f"n{n}.{k}"
            outs.append(var.type.key())
        lines.append(f"n{n} = {node.op.signature()}({', '.join(args)}) -> {', '.join(outs)}")
    outputs = [index.get(id(v)) or v.signature() for v in fgraph.outputs]
    lines.append(f"outputs {', '.join(outputs)}")
    return "\n".join(lines)
