"""Merge (common-subexpression elimination): equal constants become one, and so do applications of equal ops
to the same inputs. Every graphc op is pure, so two such nodes always compute the same value.

Registered twice: first on the user's graph, then again after the phases, whose rewrites build new duplicates
(``exclude=["merge"]`` switches both off)."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant, Variable
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


def merge(fgraph: FunctionGraph, record: PassRecord) -> int:
    """Finds every duplicate first, then rewires all of them at once (one graph rebuild)."""
    canonical: dict[int, Variable] = {}
    pairs: list[tuple[Variable, Variable]] = []

    def same(old: Variable, new: Variable, what: str) -> None:
        canonical[id(old)] = new
        pairs.append((old, new))
        record.count(what)

    by_value: dict[str, Constant] = {}
    for const in _constants(fgraph):
        first = by_value.setdefault(const.signature(), const)
        if first is not const:
            same(const, first, "constants")
    by_computation: dict[tuple, Apply] = {}
    for node in fgraph.toposort():
        key = (node.op.signature(), tuple(id(canonical.get(id(v), v)) for v in node.inputs))
        kept = by_computation.setdefault(key, node)
        if kept is not node:
            for old, new in zip(node.outputs, kept.outputs):
                same(old, new, "nodes")
    if pairs:
        fgraph.replace_all(pairs, reason="merge")  # a kept variable is never replaced, so no pair chains to another
    return len(pairs)


TAGS = ("fast_run", "fast_compile", "merge")
register_pass("merge", 10, TAGS)(merge)
register_pass("merge_late", 45, ("fast_run", "merge"))(merge)
