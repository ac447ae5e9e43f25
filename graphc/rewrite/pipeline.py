"""Running the enabled pipeline over a FunctionGraph, in place, and reporting on it.

The standard pipeline, by position (passes not written yet register at the positions reserved for them):

    0   prune          shape queries answered without computing the values they ask about (phase)
    10  merge          common subexpressions and equal constants become one
    20  canonicalize   constant folding and algebraic simplification (phase of node rewrites)
    30  stabilize      numerically stable forms: log1p, expm1, softplus, log_softmax, logsumexp (phase)
    40  specialize     run-time identities dropped: StopGradient (phase)
    45  merge_late     merge again what the phases made equal
    48  gemm           alpha * dot + beta * C as one BLAS call (before fusion takes the + into a loop)
    50  fusion         connected elementwise groups become one loop
    70  memory_plan    buffer slots reused by liveness, in-place elementwise outputs
"""
from __future__ import annotations

import time

from graphc.config import config
from graphc.graph.fg import FunctionGraph
from graphc.rewrite.check import check_graph
from graphc.rewrite.fixed_point import rewrite_to_fixed_point
from graphc.rewrite.options import RewriteOptions
from graphc.rewrite.registry import REGISTRY, Phase, Registry, register_phase
from graphc.rewrite.report import PassRecord, RewriteReport, mark_created

register_phase("prune", 0)
register_phase("canonicalize", 20)
register_phase("stabilize", 30)
register_phase("specialize", 40)


def optimize(fgraph: FunctionGraph, options: RewriteOptions, check: bool | None = None,
             registry: Registry = REGISTRY) -> RewriteReport:
    """Rewrite ``fgraph`` in place with the passes ``options`` enable. With ``check`` (default: the
    ``check_rewrites`` setting) the graph is re-validated after every pass."""
    check = bool(config.check_rewrites) if check is None else check
    output_types = [v.type for v in fgraph.outputs]
    plan = options.plan(registry)
    enabled = {entry.name for entry, _ in plan}
    report = RewriteReport(options=str(options), nodes_before=len(fgraph.apply_nodes),
                           skipped=[e.name for e in registry.ordered() if e.name not in enabled])
    for entry, rewrites in plan:
        record = PassRecord(entry.name, nodes_before=len(fgraph.apply_nodes))
        before = list(fgraph.apply_nodes)        # kept alive, so no new node can reuse an old one's id
        start = time.perf_counter()
        if isinstance(entry, Phase):
            record.fired = rewrite_to_fixed_point(fgraph, rewrites, record)
        else:
            record.fired = entry.fn(fgraph, record)
        record.seconds = time.perf_counter() - start
        mark_created(fgraph.apply_nodes, set(map(id, before)), entry.name)
        record.nodes_after = len(fgraph.apply_nodes)
        report.records.append(record)
        if check:
            check_graph(fgraph, output_types, entry.name)
    return report
