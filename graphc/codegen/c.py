"""Lowering a FunctionGraph to one C translation unit with one entry point (``graphc_run``).

Each op family registers a lowering: a function (node, ctx) -> C statements. Kernels that several nodes share
(same types, same scalar expression) become one static helper function. Buffers are freed after their last use
in the schedule; an output's buffer is handed to the caller."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.codegen.scalar import ctype

if TYPE_CHECKING:
    from graphc.plan.memory import MemoryPlan

Lowering = Callable[[Apply, "CContext"], str]
LOWERINGS: dict[type, Lowering] = {}


def register(op_type: type) -> Callable[[Lowering], Lowering]:
    """Register the C lowering of ``op_type`` (ops declare ``view_of_input`` when outputs may alias an input)."""
    def wrap(fn: Lowering) -> Lowering:
        LOWERINGS[op_type] = fn
        return fn
    return wrap


@lru_cache(maxsize=1)
def jinja_env():
    """The templates' environment. Compiling the templates costs a tenth of a second per process, so the compiled
    form is kept with the installation's other builds (jinja checks it against each template's source)."""
    import jinja2
    from graphc.resources import resource_dir
    from graphc.toolchain.cache import installation_root
    compiled = installation_root() / "templates"
    compiled.mkdir(mode=0o700, exist_ok=True)
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
                              keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False,
                              undefined=jinja2.StrictUndefined,
                              bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)))


def render(template: str, **kwargs) -> str:
    return jinja_env().get_template(template).render(**kwargs)


def c_string(text: str) -> str:
    """A C string literal for arbitrary text (names may hold quotes, backslashes, newlines, ``*/``)."""
    return json.dumps(text, ensure_ascii=True).replace("?", "\\?")


def c_comment(text: str) -> str:
    return text.replace("*/", "* /").replace("\n", " ")


@dataclass
class CContext:
    """What a lowering needs: C names of variables and buffers, allocation, shared helpers."""

    fgraph: FunctionGraph
    plan: "MemoryPlan | None" = None
    names: dict[int, str] = field(default_factory=dict)
    helpers: dict[str, tuple[str, str]] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    output_slot: dict[int, int] = field(default_factory=dict)

    def name(self, var: Variable) -> str:
        return self.names[id(var)]

    def in_slot(self, var: Variable) -> bool:
        return self.plan is not None and id(var) in self.plan.slot

    def buf(self, var: Variable) -> str:
        """The gc_buffer that holds ``var``'s memory: a shared slot of the memory plan, or its own."""
        if self.in_slot(var):
            return f"s{self.plan.slot[id(var)]}"
        return "b" + self.names[id(var)][1:]

    def ctype(self, var: Variable) -> str:
        return ctype(var.dtype)

    def rt(self, name: str, var: Variable, source: Variable | None = None) -> str:
        """The runtime function ``gc_<name>`` writing ``var`` (from ``source``, for copies): the CUDA context names
        device twins, and a fill from a host value."""
        return f"gc_{name}"

    def reuse(self, var: Variable) -> str:
        """An array whose memory gc_alloc may take for ``var`` if the shape fits: the caller's borrowed buffer for
        an output, or the input the memory plan lets this output overwrite."""
        slot = self.output_slot.get(id(var))
        if slot is not None:
            return f"&outputs[{slot}]"
        if self.plan is not None and id(var) in self.plan.inplace:
            return f"&{self.name(self.plan.inplace[id(var)])}"
        return "NULL"

    def alloc(self, var: Variable, shape: str) -> str:
        """C statement allocating ``var`` (contiguous) with the int64 shape array expression ``shape``."""
        return (f"GC_TRY({self.rt('alloc', var)}(st, &{self.name(var)}, &{self.buf(var)}, {var.ndim}, {shape}, "
                f"sizeof({self.ctype(var)}), {self.reuse(var)}));")

    def helper(self, key: str, build: Callable[[str], str]) -> str:
        """Name of the shared helper for ``key``, rendering it with ``build(name)`` the first time."""
        if key not in self.helpers:
            name = f"k{len(self.helpers)}"
            self.helpers[key] = (name, build(name))
        return self.helpers[key][0]

    def include(self, header: str) -> None:
        if header not in self.includes:
            self.includes.append(header)


def _constant_entry(name: str, const: Constant) -> dict:
    data = np.array(const.data, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    flat = data.reshape(-1)
    if data.dtype.kind == "f":
        values = ", ".join(_float_literal(float(v), data.dtype.name) for v in flat)
    elif data.dtype.kind == "b":
        values = ", ".join("1" if v else "0" for v in flat)
    else:
        values = ", ".join(f"{int(v)}" + ("LL" if data.dtype.itemsize == 8 else "") for v in flat)
    strides = [s // data.itemsize for s in data.strides]
    return {"name": name, "ctype": ctype(const.dtype), "count": max(flat.size, 1), "init": values or "0",
            "ndim": data.ndim, "shape": ", ".join(map(str, data.shape)) or "0",
            "strides": ", ".join(map(str, strides)) or "0"}


def _float_literal(v: float, dtype: str) -> str:
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    text = float(v).hex()
    return text + ("f" if dtype == "float32" else "")


def generate(fgraph: FunctionGraph, version: str, par_threshold: int) -> str:
    """The whole C source for ``fgraph`` as one translation unit: deterministic for a given graph."""
    return generate_units(fgraph, version, par_threshold, 1)[0]


SPLIT_MIN_LINES = 400   # less kernel code than this compiles faster in one unit than split and linked


def generate_units(fgraph: FunctionGraph, version: str, par_threshold: int, max_units: int) -> list[str]:
    """The C source for ``fgraph`` in at most ``max_units`` translation units, to compile in parallel: the first
    holds the entry point (and some kernels), the others the remaining kernels, balanced by size. A graph with
    little kernel code stays one unit."""
    import graphc.codegen.lowerings  # noqa: F401  (registers every op family's lowering)
    ctx = CContext(fgraph, checked_plan(fgraph))
    parts = lower_graph(ctx, lambda node: lower_node(LOWERINGS, node, ctx, "C"))
    helpers = parts.pop("helpers")
    kernel_lines = sum(h.count("\n") for h in helpers)
    if max_units < 2 or kernel_lines < SPLIT_MIN_LINES:
        return [render("module.c.j2", version=version, par_threshold=par_threshold, split=False, helpers=helpers,
                       **parts)]
    # the entry point costs about as much to compile per line as a kernel: it weighs in the first unit's share
    entry_lines = sum(step["code"].count("\n") + 3 for step in parts["steps"])
    units: list[list[str]] = [[] for _ in range(max_units)]
    weights = [entry_lines] + [0] * (max_units - 1)
    for helper in sorted(helpers, key=lambda h: -h.count("\n")):
        lightest = weights.index(min(weights))
        units[lightest].append(helper)
        weights[lightest] += helper.count("\n")
    placed = {h: k for k, unit in enumerate(units) for h in unit}
    in_main = [h for h in helpers if placed[h] == 0]
    declared = [_prototype(h) for h in helpers if placed[h] != 0]
    main = render("module.c.j2", version=version, par_threshold=par_threshold, split=True,
                  helpers=declared + in_main, **parts)
    others = [render("kernels.c.j2", version=version, par_threshold=par_threshold, includes=parts["includes"],
                     helpers=[h for h in helpers if placed[h] == k]) for k in range(1, max_units) if units[k]]
    return [main, *others]


def _prototype(helper: str) -> str:
    """The declaration of a kernel's entry function (its ``GC_KERNEL int kN(...) {`` line, see the templates)."""
    line = next(line for line in helper.splitlines() if line.startswith("GC_KERNEL int "))
    return line.rstrip().removesuffix("{").rstrip() + ";"


def checked_plan(fgraph: FunctionGraph) -> "MemoryPlan | None":
    """The memory plan attached to ``fgraph``, if any, after checking it was made for this schedule."""
    plan = getattr(fgraph, "memory_plan", None)
    if plan is not None and [id(n) for n in plan.order] != [id(n) for n in fgraph.toposort()]:
        raise RuntimeError("the memory plan was made for another schedule; plan after the last rewrite")
    return plan


def lower_node(lowerings: dict[type, Lowering], node: Apply, ctx: CContext, target: str) -> str:
    lower = lowerings.get(type(node.op))
    if lower is None:
        raise NotImplementedError(f"the {target} backend has no lowering for {node.op}; use backend='py'")
    return lower(node, ctx)


def lower_graph(ctx: CContext, lower: Callable[[Apply], str]) -> dict:
    """What a module template needs (names, constants, helpers, one step per node with the buffers that die after
    it, outputs), with each node's code from ``lower``: the C and CUDA renderers differ only there and in the
    template."""
    from graphc.plan.memory import storage_groups
    fgraph, plan = ctx.fgraph, ctx.plan
    order = fgraph.toposort()
    input_vars, constants, locals_ = [], [], []
    for i, var in enumerate(fgraph.inputs):
        ctx.names[id(var)] = f"v{i}"
        input_vars.append({"name": f"v{i}", "index": i, "ndim": var.ndim, "ctype": ctype(var.dtype)})
    counter = len(fgraph.inputs)
    for node in order:
        for var in node.inputs:
            if isinstance(var, Constant) and id(var) not in ctx.names:
                ctx.names[id(var)] = f"v{counter}"
                constants.append(_constant_entry(f"v{counter}", var))
                counter += 1
        for var in node.outputs:
            ctx.names[id(var)] = f"v{counter}"
            locals_.append(f"v{counter}")
            counter += 1
    for var in fgraph.outputs:
        if isinstance(var, Constant) and id(var) not in ctx.names:
            ctx.names[id(var)] = f"v{counter}"
            constants.append(_constant_entry(f"v{counter}", var))
            counter += 1
    for slot, var in enumerate(fgraph.outputs):
        ctx.output_slot.setdefault(id(var), slot)

    groups = plan.group if plan else storage_groups(fgraph, order, {})
    last_use: dict[int, int] = {}
    for step, node in enumerate(order):
        for var in node.inputs + node.outputs:
            last_use[groups[id(var)]] = step
    live_to_end = {groups[id(v)] for v in fgraph.outputs}
    own_by_group: dict[int, list[str]] = {}
    for node in order:
        for var in node.outputs:
            if not ctx.in_slot(var):
                own_by_group.setdefault(groups[id(var)], []).append(ctx.buf(var))
    buffers = [b for bs in own_by_group.values() for b in bs] + [f"s{j}" for j in range(plan.n_slots if plan else 0)]

    steps = []
    for step, node in enumerate(order):
        frees = [b for g, bs in own_by_group.items() if last_use.get(g) == step and g not in live_to_end for b in bs]
        steps.append({"comment": c_comment(f"{step}: {node.op} -> {', '.join(ctx.name(o) for o in node.outputs)}"),
                      "code": lower(node).strip(), "frees": frees, "label": node_label(node)})
    outputs = []
    for slot, var in enumerate(fgraph.outputs):
        own = f"&{ctx.buf(var)}" if var.owner is not None else "NULL"
        outputs.append({"index": slot, "var": ctx.name(var), "own": own, "ctype": ctype(var.dtype)})
    summary = c_comment(f"{len(fgraph.inputs)} inputs, {len(order)} nodes, {len(fgraph.outputs)} outputs, "
                        f"{plan.n_slots if plan else 0} buffer slots, {len(plan.inplace) if plan else 0} in place")
    return dict(summary=summary, includes=ctx.includes, constants=constants,
                helpers=[h for _, h in ctx.helpers.values()], input_vars=input_vars, locals=locals_,
                buffers=buffers, steps=steps, outputs=outputs)


def node_label(node: Apply) -> str:
    """A C string literal naming the node in error messages."""
    return c_string(f"{node.op}")
