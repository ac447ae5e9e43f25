"""Merge (common-subexpression elimination): equal constants become one, and so do applications of equal ops
to the same inputs. Every graphc op is pure, so two such nodes always compute the same value.

Registered twice: first on the user's graph, then again after the phases, whose rewrites build new duplicates
(``exclude=["merge"]`` switches both off)."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant
from graphc.graph.fg import FunctionGraph
from graphc.rewrite.registry import register_pass
from graphc.rewrite.report import PassRecord


def _constants(fgraph: FunctionGraph) -> list[Constant]:
    """Each Constant object the graph uses, once, in a deterministic order."""
    found: dict[int, Constant] = {}
    for node in fgraph.toposort():
        for var in node.inputs:
            if isinstance(var, Constant):
                found.setdefault(id(var), var)
    for var in fgraph.outputs:
        if isinstance(var, Constant):
            found.setdefault(id(var), var)
    return list(found.values())


def _replace_outputs(fgraph: FunctionGraph, node: Apply, kept: Apply) -> None:
    for old, new in zip(node.outputs, kept.outputs):
        fgraph.replace(old, new, reason="merge")


def merge(fgraph: FunctionGraph, record: PassRecord) -> int:
    by_value: dict[str, Constant] = {}
    for const in _constants(fgraph):
        first = by_value.setdefault(const.signature(), const)
        if first is not const:
            fgraph.replace(const, first, reason="merge")
            record.count("constants")
    by_computation: dict[tuple, Apply] = {}
    for node in fgraph.toposort():  # earlier merges have already rewired this node's inputs
        key = (node.op.signature(), tuple(map(id, node.inputs)))
        kept = by_computation.setdefault(key, node)
        if kept is not node:
            _replace_outputs(fgraph, node, kept)
            record.count("nodes")
    return sum(record.by_rewrite.values())


TAGS = ("fast_run", "fast_compile", "merge")
register_pass("merge", 10, TAGS)(merge)
register_pass("merge_late", 45, ("fast_run", "merge"))(merge)
