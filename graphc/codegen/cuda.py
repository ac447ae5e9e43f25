"""Lowering a FunctionGraph to one CUDA translation unit with a C-ABI entry point (``graphc_run``), for nvcc.

The module is laid out by the C renderer's ``lower_graph`` (names, schedule, memory plan, frees); what differs is
where each variable lives. Shape arithmetic stays on the host, in the C backend's own code: ``Shape``, ``ShapeI``,
``MakeVector`` and elementwise ops on host scalars; views live where what they view lives; everything else runs on
the device. Where an op needs a value on the other side (a size computed on the device, a host scalar fed to a
reduction), the value is copied across once per call before the op ("staged"). Elementwise kernels and
reductions take host scalars by value instead."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from graphc.codegen.c import (CContext, Lowering, c_string, checked_plan, lower_graph, lower_node, node_label,
                              render)
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph

HOST, DEVICE = "host", "device"
# C runtime headers and the CUDA twins that replace them (each includes what it still uses of the C header)
TWINS = {"graphc_shape.h": "graphc_cuda_shape.h", "graphc_index.h": "graphc_cuda_index.h",
         "graphc_conv.h": "graphc_cuda_conv.h"}


@dataclass(frozen=True)
class Rule:
    """Where a node runs and where it reads its inputs.

    ``where``: HOST, DEVICE, "view" (the outputs live with input 0), or a function of (node, placement of each
    input) for ops that run on either side. ``host_from``: inputs from this position on are read on the host (sizes,
    indices, bounds). ``scalars_by_value``: 0-d inputs may stay on the host (the kernel takes them by value).
    ``host_values``: inputs at these positions may stay on the host when they hold one element (a fill value).
    ``metadata_only``: the op reads its inputs' shapes, never their data."""

    lower: Lowering
    where: str | Callable[[Apply, list[str]], str] = DEVICE
    host_from: int | None = None
    scalars_by_value: bool = False
    host_values: tuple[int, ...] = ()
    metadata_only: bool = False


CUDA_RULES: dict[type, Rule] = {}


def register(op_type: type, **rule) -> Callable[[Lowering], Lowering]:
    """Register the CUDA lowering of ``op_type`` with its placement rule (see ``Rule``)."""
    def wrap(fn: Lowering) -> Lowering:
        CUDA_RULES[op_type] = Rule(fn, **rule)
        return fn
    return wrap


@dataclass
class CudaContext(CContext):
    """A CContext that knows where each variable lives: allocation, copies and buffers go to the matching side."""

    placement: dict[int, str] = field(default_factory=dict)
    staged: dict[tuple[int, str], str] = field(default_factory=dict)   # (var id, side) -> name of its copy there
    aliases: dict[int, str] = field(default_factory=dict)              # var id -> staged copy, while lowering a node
    host_buffers: set[str] = field(default_factory=set)
    extra_locals: list[str] = field(default_factory=list)
    extra_buffers: list[str] = field(default_factory=list)

    def name(self, var: Variable) -> str:
        return self.aliases.get(id(var)) or self.names[id(var)]

    def where(self, var: Variable) -> str:
        return self.placement[id(var)]

    def in_slot(self, var: Variable) -> bool:
        """Slots of the memory plan hold device memory; host values (a few sizes) keep their own buffers."""
        return super().in_slot(var) and self.where(var) == DEVICE

    def rt(self, name: str, var: Variable, source: Variable | None = None) -> str:
        if self.where(var) == HOST:
            return f"gc_{name}"
        if name == "copy_bcast" and source is not None and self.where(source) == HOST \
                and id(source) not in self.aliases:
            return "gc_dfill"   # a one-element host value (rule host_values): a kernel argument
        return f"gc_d{name}"

    def reuse(self, var: Variable) -> str:
        """As in C, but never memory on the other side, nor a staged copy (it lives only for this call)."""
        if self.where(var) == HOST:
            return "NULL"
        target = self.plan.inplace.get(id(var)) if self.plan is not None else None
        if target is not None and (self.where(target) != DEVICE or id(target) in self.aliases):
            return "NULL"
        return super().reuse(var)

    def include(self, header: str) -> None:
        super().include(TWINS.get(header, header))

    def stage(self, var: Variable, side: str, label: str) -> tuple[str, str]:
        """(name of ``var``'s copy on ``side``, C statement making it: empty once made). One copy per call."""
        key = (id(var), side)
        if key in self.staged:
            return self.staged[key], ""
        name = f"{self.names[id(var)]}_{side[0]}"
        buf = f"b{name[1:]}"
        self.staged[key] = name
        self.extra_locals.append(name)
        self.extra_buffers.append(buf)
        if side == HOST:
            self.host_buffers.add(buf)
        fn = "gc_to_host" if side == HOST else "gc_to_device"
        return name, (f"GC_TRY({fn}(st, {label}, &{name}, &{buf}, &{self.names[id(var)]}, "
                      f"sizeof({ctype(var.dtype)})));")


def _place(fgraph: FunctionGraph, order: list[Apply]) -> dict[int, str]:
    """Where each variable lives: inputs on the device, scalar constants on the host, nodes by their rule."""
    placement = {id(v): DEVICE for v in fgraph.inputs}
    for node in order:
        for var in node.inputs:
            if isinstance(var, Constant):
                placement.setdefault(id(var), HOST if var.ndim == 0 else DEVICE)
        rule = _rule(node)
        if rule.where == "view":
            side = placement[id(node.inputs[0])]
        elif callable(rule.where):
            side = rule.where(node, [placement[id(v)] for v in node.inputs])
        else:
            side = rule.where
        for out in node.outputs:
            placement[id(out)] = side
    for var in fgraph.outputs:
        if isinstance(var, Constant):
            placement.setdefault(id(var), HOST if var.ndim == 0 else DEVICE)
    return placement


def _rule(node: Apply) -> Rule:
    rule = CUDA_RULES.get(type(node.op))
    if rule is None:
        raise NotImplementedError(f"the CUDA backend has no lowering for {node.op}; use backend='c' or 'py'")
    return rule


def _needed_side(node: Apply, k: int, var: Variable, ctx: CudaContext) -> str | None:
    """Where input k must be when ``node`` runs; None where it may be either."""
    rule = _rule(node)
    if rule.metadata_only or (rule.scalars_by_value and var.ndim == 0):
        return None
    if k in rule.host_values and all(s == 1 for s in var.type.shape):
        return None
    if rule.host_from is not None and k >= rule.host_from:
        return HOST
    if rule.where == "view":
        return None if k == 0 else DEVICE
    return ctx.where(node.outputs[0]) if node.outputs else DEVICE


def _lower_staged(node: Apply, ctx: CudaContext) -> str:
    """The node's code, preceded by copies of the inputs it needs on the other side."""
    label = node_label(node)
    copies = []
    for k, var in enumerate(node.inputs):
        side = _needed_side(node, k, var, ctx)
        if side is not None and side != ctx.where(var):
            name, code = ctx.stage(var, side, label)
            ctx.aliases[id(var)] = name
            copies.append(code)
    try:
        code = lower_node({t: r.lower for t, r in CUDA_RULES.items()}, node, ctx, "CUDA")
    finally:
        ctx.aliases.clear()
    return "\n".join([c for c in copies if c] + [code])


def generate(fgraph: FunctionGraph, version: str) -> str:
    """The whole CUDA source for ``fgraph``: deterministic for a given graph."""
    import graphc.codegen.cuda_lowerings  # noqa: F401  (registers every op family's CUDA lowering)
    ctx = CudaContext(fgraph, checked_plan(fgraph))
    ctx.placement = _place(fgraph, fgraph.toposort())
    parts = lower_graph(ctx, lambda node: _lower_staged(node, ctx))
    host_owned = {ctx.buf(v) for node in fgraph.toposort() for v in node.outputs if ctx.where(v) == HOST}
    for out, var in zip(parts["outputs"], fgraph.outputs):
        if ctx.where(var) == HOST:   # a size computed on the host: outputs are device arrays
            name, code = ctx.stage(var, DEVICE, c_string(f"output {var.name or ''}".strip()))
            out["stage"] = code
            out["var"], out["own"] = name, f"&b{name[1:]}"
    for const in parts["constants"]:
        const["device"] = const["ndim"] > 0
    parts["locals"] += ctx.extra_locals
    parts["buffers"] += ctx.extra_buffers
    return render("module.cu.j2", version=version, host_buffers=ctx.host_buffers | host_owned, **parts)
