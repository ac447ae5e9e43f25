"""CUDA lowering of reductions (sum, prod, max, min, a fused elementwise program's reduction) and argmax/argmin:
block reductions, with the C backend's accumulator types, identities and numpy's NaN and empty-axis rules."""
from __future__ import annotations

from graphc.codegen.c import node_label, render
from graphc.codegen.cuda import CudaContext, register
from graphc.codegen.cuda_lowerings.elemwise import operand_entries
from graphc.codegen.lowerings.elemwise import BAD_MESSAGE, program_steps
from graphc.codegen.lowerings.reduce import FLOATS, _layout, _reduce_parts
from graphc.codegen.scalar import ctype, float_to_int
from graphc.graph.basic import Apply
from graphc.ops.fused import FusedReduce
from graphc.ops.reduce import ArgReduce, Reduce


def _merge(kind: str, acc: str) -> str:
    """The statement folding (v, iv) into (acc, best): the same for a thread's elements and between threads."""
    if kind == "sum":
        return "acc = acc + v;"
    if kind == "prod":
        return "acc = acc * v;"
    if kind in ("argmax", "argmin"):
        return (f"if (gc_arg_better<{ctype(acc)}, {str(kind == 'argmax').lower()}>(v, iv, acc, best)) "
                "{ acc = v; best = iv; }")
    if acc in FLOATS:   # NaN wins, as in numpy
        return f"acc = gc_{kind}_{ctype(acc)}(acc, v);"
    return f"acc = v {'>' if kind == 'max' else '<'} acc ? v : acc;"


@register(Reduce, scalars_by_value=True)
def lower_reduce(node: Apply, ctx: CudaContext) -> str:
    op: Reduce = node.op
    x = node.inputs[0]
    parts = _reduce_parts(op, x.dtype, op.dtype)
    kept, out_dims, _ = _layout(x.ndim, op.axes, op.keepdims)
    value = float_to_int("p0[o0]" if x.ndim else "a0s", x.dtype, parts["acc"])
    return _render(node, ctx, op.kind, x.ndim, kept, out_dims, [], value, parts["acc"], parts["init"],
                   needs_nonempty=op.kind in ("max", "min") and op.initial is None)


@register(FusedReduce, scalars_by_value=True)
def lower_fused_reduce(node: Apply, ctx: CudaContext) -> str:
    op: FusedReduce = node.op
    c = op.composite
    value_dtype = c.dtype_of(c.outputs[0])
    parts = _reduce_parts(op.reduce, value_dtype, op.reduce.dtype)
    nd = op._value_type(node.inputs).ndim
    kept, out_dims, _ = _layout(nd, op.reduce.axes, op.reduce.keepdims)
    value = float_to_int(f"t{c.outputs[0] - len(node.inputs)}", value_dtype, parts["acc"])
    return _render(node, ctx, op.reduce.kind, nd, kept, out_dims, program_steps(c, node), value, parts["acc"],
                   parts["init"],
                   needs_nonempty=op.reduce.kind in ("max", "min") and op.reduce.initial is None)


@register(ArgReduce, scalars_by_value=True)
def lower_argreduce(node: Apply, ctx: CudaContext) -> str:
    op: ArgReduce = node.op
    x = node.inputs[0]
    if op.axis is None:
        kept, out_dims = [], [None] * x.ndim if op.keepdims else []
    else:
        kept, out_dims, _ = _layout(x.ndim, (op.axis,), op.keepdims)
    return _render(node, ctx, op.kind, x.ndim, kept, out_dims, [], "p0[o0]" if x.ndim else "a0s", x.dtype, "0",
                   needs_nonempty=x.ndim > 0, result="best")


def _render(node: Apply, ctx: CudaContext, kind: str, ind: int, kept: list[int], out_dims: list, steps: list[dict],
            value: str, acc: str, init: str, needs_nonempty: bool, result: str = "acc") -> str:
    out = node.outputs[0]
    reduced = [d for d in range(ind) if d not in kept]
    inputs = operand_entries(node, ctx)
    key = f"cuda-reduce:{node.op.signature()}:{[(v.dtype, v.ndim) for v in node.inputs]}:{out.dtype}:" \
          f"{[i['by_value'] for i in inputs]}"
    empty = (f"attempt to get {kind} of an empty sequence" if result == "best"
             else f"zero-size array to reduction operation {kind} which has no identity")
    name = ctx.helper(key, lambda n: render(
        "reduce.cu.j2", name=n, comment=str(node.op).replace("*/", "* /"), ond=out.ndim, ind=ind,
        out_dims=out_dims, kept=kept, reduced=reduced, inputs=inputs, steps=steps, value=value,
        out_t=ctype(out.dtype), acc_t=ctype(acc), init=init, merge=_merge(kind, acc), result=result,
        needs_nonempty=needs_nonempty and bool(reduced), empty_message=empty,
        reports=any("&bad" in s["expr"]["strided"] for s in steps), bad_message=BAD_MESSAGE))
    ins = "".join(f", &{ctx.name(v)}" for v in node.inputs)
    return f"GC_TRY({name}(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, {ctx.reuse(out)}{ins}));"
