"""C lowering of Elemwise: one loop kernel per (scalar op, dtypes, rank), with a contiguous fast path."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register, render
from graphc.codegen.scalar import c_expr, ctype
from graphc.graph.basic import Apply
from graphc.ops.elemwise import Elemwise


def _args(node: Apply, loop: list[str], index: str) -> list[str]:
    """C expressions reading each input converted to its loop dtype; 0-d inputs are read once, before the loop."""
    out = []
    for k, (var, lt) in enumerate(zip(node.inputs, loop)):
        out.append(f"a{k}s" if var.ndim == 0 else f"(({ctype(lt)})p{k}[{index.format(k=k)}])")
    return out


@register(Elemwise)
def lower_elemwise(node: Apply, ctx: CContext) -> str:
    op = node.op.scalar_op
    loop, out_dtype = op.loop_dtypes([v.dtype for v in node.inputs])
    out = node.outputs[0]
    inputs = [{"k": k, "ctype": ctype(v.dtype), "loop_t": ctype(lt), "ndim": v.ndim}
              for k, (v, lt) in enumerate(zip(node.inputs, loop))]
    flat = c_expr(op, _args(node, loop, "i"), loop, out_dtype)
    strided = c_expr(op, _args(node, loop, "o{k}"), loop, out_dtype)
    # the code depends on dtypes and ranks only, so nodes differing in static sizes share a kernel
    key = f"elemwise:{op.signature()}:{[(v.dtype, v.ndim) for v in node.inputs]}:{out.dtype}:{out.ndim}"
    comment = f"Elemwise {op.signature()} ({', '.join(v.dtype for v in node.inputs)}) -> {out.dtype}"
    name = ctx.helper(key, lambda n: render(
        "elemwise.c.j2", name=n, comment=comment, nd=out.ndim, out_t=ctype(out.dtype), inputs=inputs,
        flat_expr=flat, strided_expr=strided, bad_message="Integers to negative integer powers are not allowed."))
    args = "".join(f", &{ctx.name(v)}" for v in node.inputs)
    return (f"GC_TRY({name}(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, {ctx.reuse(out)}{args}));")
