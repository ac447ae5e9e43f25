"""The static memory plan over a schedule (liveness over symbolic shapes; sizes come at run time).

- Variables that may share memory (an op's output that views its input, an in-place output and the input it
  overwrites) form one storage group; a group is live from its first definition to its last use.
- Each intermediate that owns memory gets a buffer *slot*; a slot whose group has died is handed to the next
  intermediate, so a call allocates once per slot instead of once per intermediate. A slot grows at run time when
  a later occupant is larger (shapes are dynamic); all slots are freed when the call ends.
- An elementwise output may be written in place into an input whose group dies at that node, when nothing else
  the node reads shares that input's memory. The generated code still checks at run time that the input has the
  output's exact shape and is contiguous, and allocates otherwise.
- Never planned: graph outputs (they get their own buffers, handed to the caller), inputs the caller passed,
  constants and shared variables (only read)."""
from __future__ import annotations

from dataclasses import dataclass, field

from graphc.graph.basic import Apply, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import Elemwise
from graphc.ops.fused import FusedElemwise

INPLACE_OPS = (Elemwise, FusedElemwise)


@dataclass
class MemoryPlan:
    order: list[Apply]
    group: dict[int, int]                                   # var id -> storage group id
    last_use: dict[int, int]                                # group id -> last step that reads it
    slot: dict[int, int] = field(default_factory=dict)      # var id -> buffer slot
    inplace: dict[int, Variable] = field(default_factory=dict)  # output var id -> input it may overwrite
    n_slots: int = 0

    def describe(self, names: dict[int, str]) -> list[str]:
        lines = []
        for step, node in enumerate(self.order):
            for out in node.outputs:
                where = (f"in place of {names.get(id(self.inplace[id(out)]), '?')}" if id(out) in self.inplace
                         else f"slot {self.slot[id(out)]}" if id(out) in self.slot else "own buffer or view")
                lines.append(f"{step:3d} {names.get(id(out), '?'):>6} {str(node.op):<40} {where}")
        return lines


class _Groups:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        while self.parent.get(x, x) != x:
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def storage_groups(fgraph: FunctionGraph, order: list[Apply], inplace: dict[int, Variable]) -> dict[int, int]:
    """var id -> group id, merging views with what they view and in-place outputs with what they overwrite."""
    groups = _Groups()
    for node in order:
        if node.op.view_of_input is not None:
            for out in node.outputs:
                groups.union(id(out), id(node.inputs[node.op.view_of_input]))
        for out in node.outputs:
            if id(out) in inplace:
                groups.union(id(out), id(inplace[id(out)]))
    return {id(v): groups.find(id(v)) for v in fgraph.variables()}


def _last_uses(order: list[Apply], group: dict[int, int]) -> dict[int, int]:
    last: dict[int, int] = {}
    for step, node in enumerate(order):
        for var in node.inputs + node.outputs:
            last[group[id(var)]] = step
    return last


def _choose_inplace(fgraph: FunctionGraph, order: list[Apply]) -> dict[int, Variable]:
    """For each elementwise output, an input it may overwrite: one that owns its buffer, dies at this node, is
    not read through any other name by this node, and has the output's dtype and rank."""
    outputs = {id(v) for v in fgraph.outputs}
    inplace: dict[int, Variable] = {}
    for step, node in enumerate(order):
        if not isinstance(node.op, INPLACE_OPS):
            continue
        group = storage_groups(fgraph, order, inplace)
        last = _last_uses(order, group)
        live_to_end = {group[id(v)] for v in fgraph.outputs}
        taken: set[int] = set()
        for out in node.outputs:
            if id(out) in outputs:
                continue
            for var in node.inputs:
                g = group[id(var)]
                if (var.owner is None or var.owner.op.view_of_input is not None or g in taken
                        or g in live_to_end or last[g] != step or var.dtype != out.dtype or var.ndim != out.ndim
                        or sum(group[id(v)] == g for v in node.inputs) != 1):
                    continue
                inplace[id(out)] = var
                taken.add(g)
                break
    return inplace


def plan_memory(fgraph: FunctionGraph) -> MemoryPlan:
    order = fgraph.toposort()
    inplace = _choose_inplace(fgraph, order)
    group = storage_groups(fgraph, order, inplace)
    plan = MemoryPlan(order, group, _last_uses(order, group), inplace=inplace)
    outputs = {id(v) for v in fgraph.outputs}
    live_to_end = {group[id(v)] for v in fgraph.outputs}   # outputs are copied out of views at the very end
    free: list[int] = []
    holders: dict[int, list[int]] = {}   # group -> slots its members hold
    released: set[int] = set()
    for step, node in enumerate(order):
        for g, slots in holders.items():     # groups whose last use was before this node free their slots
            if g not in released and g not in live_to_end and plan.last_use[g] < step:
                released.add(g)
                free.extend(reversed(slots))
        if node.op.view_of_input is not None:
            continue
        for out in node.outputs:
            if id(out) in outputs or id(out) in inplace:
                continue
            slot = free.pop() if free else plan.n_slots
            plan.n_slots = max(plan.n_slots, slot + 1)
            plan.slot[id(out)] = slot
            holders.setdefault(group[id(out)], []).append(slot)
    return plan
