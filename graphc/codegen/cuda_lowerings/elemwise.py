"""CUDA lowering of Elemwise and FusedElemwise: one grid-stride kernel per scalar program, its steps printed by the
scalar printer the C backend uses. Arithmetic on host scalars (sizes) stays on the host, in the C backend's loop."""
from __future__ import annotations

from graphc.codegen.c import node_label, render
from graphc.codegen.cuda import DEVICE, HOST, CudaContext, register
from graphc.codegen.lowerings.elemwise import BAD_MESSAGE, lower_program, program_steps
from graphc.codegen.scalar import ctype, needs_error_flag
from graphc.graph.basic import Apply
from graphc.ops.elemwise import Elemwise
from graphc.ops.fused import Composite, FusedElemwise


def operand_entries(node: Apply, ctx: CudaContext) -> list[dict]:
    """Template entries of a kernel's inputs; a host scalar is passed by value."""
    return [{"k": k, "ctype": ctype(v.dtype), "ndim": v.ndim, "by_value": v.ndim == 0 and ctx.where(v) == HOST}
            for k, v in enumerate(node.inputs)]


def side(node: Apply, inputs: list[str]) -> str:
    """Scalar arithmetic on host values runs on the host; anything else on the device."""
    return HOST if all(p == HOST for p in inputs) and all(o.ndim == 0 for o in node.outputs) else DEVICE


def lower_kernel(node: Apply, ctx: CudaContext, c: Composite) -> str:
    if ctx.where(node.outputs[0]) == HOST:
        return lower_program(node, ctx, c)
    n = len(node.inputs)
    inputs = operand_entries(node, ctx)
    outputs = [{"m": m, "ctype": ctype(var.dtype), "ndim": var.ndim, "step": ref - n,
                "deps": sorted(c.depends_on(ref))} for m, (ref, var) in enumerate(zip(c.outputs, node.outputs))]
    by_value = [i["by_value"] for i in inputs]
    key = (f"cuda-elemwise:{c.signature()}:{[v.ndim for v in node.inputs]}:{[v.ndim for v in node.outputs]}:"
           f"{by_value}")
    comment = f"{node.op}: {'; '.join(c.text([f'in{k}' for k in range(n)]))}".replace("*/", "* /")
    name = ctx.helper(key, lambda fn: render(
        "elemwise.cu.j2", name=fn, comment=comment, nd=max((o.ndim for o in node.outputs), default=0),
        inputs=inputs, outputs=outputs, steps=program_steps(c, node), bad_message=BAD_MESSAGE,
        reports=any(needs_error_flag(s.op, list(s.loop)) for s in c.steps)))
    outs = "".join(f", &{ctx.name(o)}, &{ctx.buf(o)}, {ctx.reuse(o)}" for o in node.outputs)
    ins = "".join(f", &{ctx.name(v)}" for v in node.inputs)
    return f"GC_TRY({name}(st, {node_label(node)}{outs}{ins}));"


@register(Elemwise, where=side, scalars_by_value=True)
def lower_elemwise(node: Apply, ctx: CudaContext) -> str:
    return lower_kernel(node, ctx, Composite.of_elemwise(node))


@register(FusedElemwise, where=side, scalars_by_value=True)
def lower_fused(node: Apply, ctx: CudaContext) -> str:
    return lower_kernel(node, ctx, node.op.composite)
