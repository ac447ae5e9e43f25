"""``gc.memory_plan(f, *shapes)``: the plan of a compiled function made concrete for given input shapes.

Sizes are dynamic, so the plan itself only knows which intermediates share a slot; to show bytes, the graph is
evaluated once with the reference backend on zero-filled inputs of the given shapes (shared variables use their
current values), and every slot is sized by its largest occupant, as the generated code sizes it at run time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from graphc.graph.basic import Constant
from graphc.plan.memory import MemoryPlan, plan_memory

if TYPE_CHECKING:
    from graphc.function import Function


def _concrete_values(f: "Function", shapes) -> dict[int, np.ndarray]:
    fgraph = f.fgraph
    if len(shapes) != len(f.inputs):
        raise TypeError(f"memory_plan needs one shape per explicit input ({len(f.inputs)}), got {len(shapes)}")
    env: dict[int, np.ndarray] = {}
    for var, shape in zip(fgraph.inputs, list(shapes) + [s.get_value(borrow=True) for s in f.shared_inputs]):
        env[id(var)] = shape if isinstance(shape, np.ndarray) else np.zeros(tuple(shape), dtype=var.dtype)
    with np.errstate(all="ignore"):
        for node in fgraph.toposort():
            args = [v.data if isinstance(v, Constant) else env[id(v)] for v in node.inputs]
            for var, value in zip(node.outputs, node.op.perform(node, args)):
                env[id(var)] = np.asarray(value)
    return env


@dataclass
class ConcretePlan:
    """The plan for given shapes: one row per intermediate, the slots' sizes and the bytes a call allocates."""

    rows: list[tuple[int, str, tuple, int, str]]
    slot_bytes: list[int]
    planned_bytes: int
    unplanned_bytes: int
    n_inplace: int


def concrete_plan(f: "Function", *shapes) -> ConcretePlan:
    fgraph = f.fgraph
    plan: MemoryPlan = getattr(fgraph, "memory_plan", None) or plan_memory(fgraph)
    env = _concrete_values(f, shapes)
    outputs = {id(v) for v in fgraph.outputs}
    slot_bytes = [0] * plan.n_slots
    rows = []
    unplanned = handed_out = 0
    for step, node in enumerate(plan.order):
        for out in node.outputs:
            size = env[id(out)].nbytes
            if node.op.view_of_input is not None:
                where = "view (no new memory)"
            elif id(out) in outputs:
                where, handed_out = "output (handed to the caller)", handed_out + size
            elif id(out) in plan.inplace:
                where = "in place (overwrites its input)"
            else:
                slot = plan.slot[id(out)]
                slot_bytes[slot] = max(slot_bytes[slot], size)
                where = f"slot {slot}"
            if node.op.view_of_input is None:
                unplanned += size
            rows.append((step, str(node.op), env[id(out)].shape, size, where))
    return ConcretePlan(rows, slot_bytes, sum(slot_bytes) + handed_out, unplanned, len(plan.inplace))


def memory_plan(f: "Function", *shapes, file=None) -> str | None:
    """Print (or with ``file="str"`` return) each intermediate's buffer, the slots' sizes and the bytes a call
    allocates with the plan against one buffer per intermediate."""
    cp = concrete_plan(f, *shapes)
    lines = [f"memory plan for input shapes {', '.join(str(tuple(s)) for s in shapes)}",
             f"  {'step':>4}  {'op':<44}{'shape':>18}{'bytes':>12}  buffer"]
    lines += [f"  {step:>4}  {op[:43]:<44}{str(shape):>18}{size:>12,}  {where}"
              for step, op, shape, size, where in cp.rows]
    lines += [f"  slots: {', '.join(f'{j}: {b:,} B' for j, b in enumerate(cp.slot_bytes)) or 'none'}",
              f"  bytes allocated per call: {cp.planned_bytes:,} with the plan ({len(cp.slot_bytes)} slots, "
              f"{cp.n_inplace} in place), {cp.unplanned_bytes:,} with one buffer per intermediate"]
    text = "\n".join(lines)
    if file == "str":
        return text
    print(text, file=file)
    return None
