"""The memory plan as the pipeline's last step: switched off with ``exclude=["inplace"]`` (or its name) like any
pass, so a graph can be compared with and without buffer sharing. It annotates the graph; it changes no node."""
from __future__ import annotations

from graphc.graph.fg import FunctionGraph
from graphc.plan.memory import plan_memory
from graphc.rewrite.registry import register_pass
from graphc.rewrite.report import PassRecord


@register_pass("memory_plan", 70, ["inplace", "fast_run"])
def attach_memory_plan(fgraph: FunctionGraph, record: PassRecord) -> int:
    plan = plan_memory(fgraph)
    fgraph.memory_plan = plan
    intermediates = len(plan.slot) + len(plan.inplace)
    record.count("buffer slots", plan.n_slots)
    record.count("written in place", len(plan.inplace))
    record.note(f"{intermediates} intermediates share {plan.n_slots} buffer slots; {len(plan.inplace)} written in place")
    return intermediates
