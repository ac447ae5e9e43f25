"""The reference backend: every node's numpy ``perform``, in topological order."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Constant
from graphc.graph.fg import FunctionGraph


class PyProgram:
    compiled = False  # nothing is built: perform() runs directly

    def __init__(self, fgraph: FunctionGraph):
        self.fgraph = fgraph
        self.order = fgraph.toposort()

    def run(self, values: list[np.ndarray], borrow: bool = False) -> list[np.ndarray]:
        env: dict[int, np.ndarray] = {id(v): x for v, x in zip(self.fgraph.inputs, values)}
        for node in self.order:
            args = [v.data if isinstance(v, Constant) else env[id(v)] for v in node.inputs]
            results = node.op.perform(node, args)
            for var, value in zip(node.outputs, results):
                value = np.asarray(value)
                if value.dtype.name != var.dtype or value.ndim != var.ndim:
                    raise RuntimeError(f"{node.op}.perform returned {value.dtype}{value.shape} for {var.type}")
                env[id(var)] = value
        outs = []
        for var in self.fgraph.outputs:
            value = var.data if isinstance(var, Constant) else env[id(var)]
            outs.append(np.array(value, copy=True))
        return outs
