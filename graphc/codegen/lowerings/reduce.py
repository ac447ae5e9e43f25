"""C lowering of reductions (sum, prod, max, min) and argmax/argmin, with numpy's NaN and empty-axis rules."""
from __future__ import annotations

from graphc.codegen.c import CContext, _float_literal, node_label, register, render
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.reduce import ArgReduce, Reduce

FLOATS = ("float32", "float64")


def _accumulator(kind: str, in_dtype: str, out_dtype: str) -> str:
    """Sums and products of floats accumulate in double (at least numpy's accuracy); others in the output type."""
    if kind in ("sum", "prod") and out_dtype in FLOATS:
        return "float64"
    return out_dtype if kind in ("sum", "prod") else in_dtype


def _extreme(kind: str, dtype: str) -> str:
    """The identity of max/min: -inf/+inf for floats, the type's limits for integers."""
    import numpy as np
    if dtype in FLOATS:
        return "-INFINITY" if kind == "max" else "INFINITY"
    if dtype == "bool":
        return "0" if kind == "max" else "1"
    info = np.iinfo(dtype)
    value = info.min if kind == "max" else info.max
    return f"(({ctype(dtype)}){value}{'ULL' if dtype == 'uint64' else 'LL'})" if value != -2**63 else "INT64_MIN"


def _layout(x_ndim: int, axes: tuple[int, ...], keepdims: bool):
    kept = [d for d in range(x_ndim) if d not in axes]
    out_dims = [None if d in axes else d for d in range(x_ndim)] if keepdims else kept
    out_pos = [out_dims.index(d) for d in kept]
    return kept, out_dims, out_pos


@register(Reduce)
def lower_reduce(node: Apply, ctx: CContext) -> str:
    op: Reduce = node.op
    x, out = node.inputs[0], node.outputs[0]
    acc = _accumulator(op.kind, x.dtype, out.dtype)
    kept, out_dims, out_pos = _layout(x.ndim, op.axes, op.keepdims)
    is_float = acc in FLOATS
    if op.kind == "sum":
        init, combine = "0", "acc += v;"
    elif op.kind == "prod":
        init, combine = "1", "acc *= v;"
    else:
        cmp = ">" if op.kind == "max" else "<"
        init = _extreme(op.kind, acc) if op.initial is None else _float_literal(op.initial, acc)
        combine = (f"if (v != v) {{ acc = v; goto done; }} if (v {cmp} acc) acc = v;" if is_float
                   else f"if (v {cmp} acc) acc = v;")
    return _emit(node, ctx, op.axes, kept, out_dims, out_pos, acc, init, combine, "acc",
                 needs_nonempty=op.kind in ("max", "min") and op.initial is None,
                 empty=f"zero-size array to reduction operation {op.kind} which has no identity")


@register(ArgReduce)
def lower_argreduce(node: Apply, ctx: CContext) -> str:
    op: ArgReduce = node.op
    x = node.inputs[0]
    axes = tuple(range(x.ndim)) if op.axis is None else (op.axis,)
    if op.axis is None:
        kept, out_dims, out_pos = [], [None] * x.ndim if op.keepdims else [], []
    else:
        kept, out_dims, out_pos = _layout(x.ndim, axes, op.keepdims)
    cmp = ">" if op.kind == "argmax" else "<"
    nan_check = "if (v != v) { best = idx; goto done; } " if x.dtype in FLOATS else ""
    combine = f"{nan_check}if (idx == 0 || v {cmp} acc) {{ acc = v; best = idx; }}"
    return _emit(node, ctx, axes, kept, out_dims, out_pos, x.dtype, "0", combine, "best", needs_nonempty=True,
                 empty=f"attempt to get {op.kind} of an empty sequence")


def _emit(node, ctx, axes, kept, out_dims, out_pos, acc, init, combine, result, needs_nonempty, empty) -> str:
    x, out = node.inputs[0], node.outputs[0]
    key = f"reduce:{node.op.signature()}:{x.dtype}:{x.ndim}:{out.dtype}"
    name = ctx.helper(key, lambda n: render(
        "reduce.c.j2", name=n, comment=str(node.op), ond=out.ndim, ind=x.ndim, out_dims=out_dims, kept=kept,
        reduced=list(axes), out_pos=out_pos, in_t=ctype(x.dtype), out_t=ctype(out.dtype), acc_t=ctype(acc),
        init=init, combine=combine, result=result, needs_nonempty=needs_nonempty and bool(axes),
        empty_message=empty))
    return (f"GC_TRY({name}(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, {ctx.reuse(out)}, "
            f"&{ctx.name(x)}));")
