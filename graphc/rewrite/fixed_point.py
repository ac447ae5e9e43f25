"""Applying node rewrites until none fires (a fixed point), with a bound on the number of sweeps."""
from __future__ import annotations

from typing import Sequence

from graphc.graph.fg import FunctionGraph
from graphc.rewrite.registry import NodeRewrite, node_keys
from graphc.rewrite.report import PassRecord, mark_created

MAX_SWEEPS = 30


def _tracking(rewrites: Sequence[NodeRewrite], keys: tuple) -> list[NodeRewrite]:
    """The rewrites that look at a node with these keys, in the given order."""
    return [r for r in rewrites if not r.tracks or any(k in r.tracks for k in keys)]


def rewrite_to_fixed_point(fgraph: FunctionGraph, rewrites: Sequence[NodeRewrite], record: PassRecord,
                           max_sweeps: int = MAX_SWEEPS) -> int:
    """Sweep the graph in topological order, replacing a node's outputs by the first rewrite that fires on it;
    repeat until a sweep changes nothing. Returns how many rewrites fired (each is also counted in ``record``).

    Nodes created during a sweep are visited in the next one. Hitting ``max_sweeps`` is noted, not an error:
    the graph is valid after every replacement."""
    candidates: dict[tuple, list[NodeRewrite]] = {}
    fired = 0
    for _ in range(max_sweeps):
        changed = False
        alive = set(map(id, fgraph.apply_nodes))
        for node in fgraph.toposort():
            if id(node) not in alive:
                continue
            keys = node_keys(node)
            if keys not in candidates:
                candidates[keys] = _tracking(rewrites, keys)
            for rewrite in candidates[keys]:
                new = rewrite(fgraph, node)
                if new is None:
                    continue
                if len(new) != len(node.outputs):
                    raise ValueError(f"rewrite {rewrite.name} gave {len(new)} replacements for {node.op}, which "
                                     f"has {len(node.outputs)} outputs")
                pairs = [(old, var) for old, var in zip(node.outputs, new) if var is not old]
                if not pairs:
                    continue
                fgraph.replace_all(pairs, reason=rewrite.name)
                mark_created(fgraph.apply_nodes, alive, rewrite.name)
                record.count(rewrite.name)
                fired += 1
                changed = True
                alive = set(map(id, fgraph.apply_nodes))
                break
        if not changed:
            return fired
    record.note(f"stopped after {max_sweeps} sweeps without reaching a fixed point")
    return fired
