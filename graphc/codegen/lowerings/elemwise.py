"""C lowering of Elemwise and FusedElemwise: one loop kernel per scalar program, dtypes and ranks, with a
contiguous vectorized path beside the strided one. A plain Elemwise is a one-step program."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register, render
from graphc.codegen.scalar import c_expr, ctype, needs_error_flag
from graphc.graph.basic import Apply
from graphc.ops.elemwise import Elemwise
from graphc.ops.fused import Composite, FusedElemwise

BAD_MESSAGE = "Integers to negative integer powers are not allowed."


READS = {"flat": "p{k}[i]", "strided": "p{k}[o{k}]", "row": "p{k}[o{k}]"}
"""How the kernels' loops read input k: along a unit-stride row (pointers already offset), or at an offset; "row"
reads as "strided" except the inputs that hold one value per row (``r{k}``, loaded before the row's loop)."""


def _ref(ref: int, node: Apply, mode: str, row_scalars: frozenset[int]) -> str:
    n = len(node.inputs)
    if ref >= n:
        return f"t{ref - n}"
    if node.inputs[ref].ndim == 0:
        return f"a{ref}s"
    if mode == "row" and ref in row_scalars:
        return f"r{ref}"
    return READS[mode].format(k=ref)


def program_steps(c: Composite, node: Apply, row_scalars: frozenset[int] = frozenset()) -> list[dict]:
    """Each step's C expression for every way the kernels read their inputs (see READS)."""
    steps = []
    for j, s in enumerate(c.steps):
        expr = {}
        for mode in READS:
            args = [f"(({ctype(lt)}){_ref(a, node, mode, row_scalars)})" for a, lt in zip(s.args, s.loop)]
            expr[mode] = c_expr(s.op, args, list(s.loop), s.dtype)
        steps.append({"j": j, "ctype": ctype(s.dtype), "expr": expr})
    return steps


def _steps_needed(c: Composite, ref: int) -> list[int]:
    """The steps computing ``ref``, in program order."""
    n = len(c.in_dtypes)
    needed: set[int] = set()
    pending = [ref]
    while pending:
        r = pending.pop()
        if r >= n and r - n not in needed:
            needed.add(r - n)
            pending.extend(c.steps[r - n].args)
    return sorted(needed)


def lower_program(node: Apply, ctx: CContext, c: Composite) -> str:
    n = len(node.inputs)
    nd = max((o.ndim for o in node.outputs), default=0)
    inputs = [{"k": k, "ctype": ctype(v.dtype), "ndim": v.ndim} for k, v in enumerate(node.inputs)]
    arrays = {k for k, v in enumerate(node.inputs) if v.ndim}
    outputs = [{"m": m, "ctype": ctype(var.dtype), "ndim": var.ndim, "step": ref - n,
                "deps": sorted(c.depends_on(ref)), "partial": not arrays <= c.depends_on(ref),
                "steps": _steps_needed(c, ref)} for m, (ref, var) in enumerate(zip(c.outputs, node.outputs))]
    # the code depends on the program, dtypes and ranks only: nodes differing in static sizes share a kernel
    key = f"elemwise:{c.signature()}:{[v.ndim for v in node.inputs]}:{[v.ndim for v in node.outputs]}"
    comment = f"{node.op}: {'; '.join(c.text([f'in{k}' for k in range(n)]))}"
    if any(needs_error_flag(s.op, list(s.loop)) for s in c.steps):
        comment += " (reports negative integer powers)"
    name = ctx.helper(key, lambda fn: render(
        "elemwise.c.j2", name=fn, comment=comment.replace("*/", "* /"), nd=nd, inputs=inputs, outputs=outputs,
        steps=program_steps(c, node), bad_message=BAD_MESSAGE))
    outs = "".join(f", &{ctx.name(o)}, &{ctx.buf(o)}, {ctx.reuse(o)}" for o in node.outputs)
    ins = "".join(f", &{ctx.name(v)}" for v in node.inputs)
    return f"GC_TRY({name}(st, {node_label(node)}{outs}{ins}));"


@register(Elemwise)
def lower_elemwise(node: Apply, ctx: CContext) -> str:
    return lower_program(node, ctx, Composite.of_elemwise(node))


@register(FusedElemwise)
def lower_fused(node: Apply, ctx: CContext) -> str:
    return lower_program(node, ctx, node.op.composite)
