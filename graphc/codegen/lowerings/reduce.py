"""C lowering of reductions (sum, prod, max, min) and argmax/argmin, with numpy's NaN and empty-axis rules."""
from __future__ import annotations

from graphc.codegen.c import CContext, _float_literal, node_label, register, render
from graphc.codegen.scalar import ctype, float_to_int
from graphc.graph.basic import Apply
from graphc.codegen.lowerings.elemwise import BAD_MESSAGE, program_steps
from graphc.ops.fused import FusedReduce
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


def _reduce_parts(op: Reduce, in_dtype: str, out_dtype: str) -> dict:
    """Accumulator type, identity and combining statement of a Reduce (numpy's NaN rule for max/min)."""
    acc = _accumulator(op.kind, in_dtype, out_dtype)
    if op.kind == "sum":
        return {"acc": acc, "init": "0", "combine": "acc += v;"}
    if op.kind == "prod":
        return {"acc": acc, "init": "1", "combine": "acc *= v;"}
    cmp = ">" if op.kind == "max" else "<"
    init = _extreme(op.kind, acc) if op.initial is None else _float_literal(op.initial, acc)
    # a tie goes to the later element, as numpy's reductions (and minimum/maximum) give it: max(-0.0, 0.0) is 0.0
    combine = (f"if (v != v) {{ acc = v; goto done; }} if (v {cmp}= acc) acc = v;" if acc in FLOATS
               else f"if (v {cmp} acc) acc = v;")
    return {"acc": acc, "init": init, "combine": combine}


@register(Reduce)
def lower_reduce(node: Apply, ctx: CContext) -> str:
    op: Reduce = node.op
    x = node.inputs[0]
    parts = _reduce_parts(op, x.dtype, op.dtype)
    value = float_to_int("p0[o0]" if x.ndim else "a0s", x.dtype, parts["acc"])
    return _emit(node, ctx, op, x.ndim, [], value, parts)


@register(FusedReduce)
def lower_fused_reduce(node: Apply, ctx: CContext) -> str:
    op: FusedReduce = node.op
    c = op.composite
    value_dtype = c.dtype_of(c.outputs[0])
    nd = op._value_type(node.inputs).ndim
    parts = _reduce_parts(op.reduce, value_dtype, op.reduce.dtype)
    value = float_to_int(f"t{c.outputs[0] - len(node.inputs)}", value_dtype, parts["acc"])
    return _emit(node, ctx, op.reduce, nd, program_steps(c, node, _row_scalars(node, nd)), value, parts)


def _row_scalars(node: Apply, nd: int) -> frozenset[int]:
    """The inputs broadcast along the loop's last dim by their type (size 1 there, as ``m`` in ``exp(x - m)``):
    one value per row, which the vectorized path loads once a row instead of spreading it over a buffer."""
    return frozenset(k for k, v in enumerate(node.inputs) if nd and v.ndim and v.type.shape[-1] == 1)


def _vector_parts(kind: str, acc: str) -> dict | None:
    """How the vectorized paths of reduce.c.j2 reduce a chunk (``r``), merge it into ``acc``, and accumulate into side-by-side
    accumulators ``accs[i]``. Float max/min vectorize without NaN and signed-zero ties: a chunk holding a NaN, or
    whose extreme is zero, is reduced again one element at a time, so results are exactly the sequential ones."""
    if acc == "bool":
        return None
    if kind in ("sum", "prod"):
        sym = "+" if kind == "sum" else "*"
        return {"op": sym, "identity": "0" if kind == "sum" else "1", "chunk_update": f"r {sym}= v;",
                "merge": f"acc {sym}= r;", "accumulate": f"accs[i] {sym}= v;", "exact_rescan": False}
    cmp = ">" if kind == "max" else "<"
    if acc in FLOATS:
        return {"op": kind, "identity": "-INFINITY" if kind == "max" else "INFINITY",
                "chunk_update": f"nan |= v != v; r = v {cmp} r ? v : r;", "merge": f"if (r {cmp}= acc) acc = r;",
                "accumulate": f"accs[i] = accs[i] != accs[i] ? accs[i] : (v != v || v {cmp}= accs[i]) ? v : accs[i];",
                "exact_rescan": True}
    return {"op": kind, "identity": _extreme(kind, acc), "chunk_update": f"r = v {cmp} r ? v : r;",
            "merge": f"if (r {cmp} acc) acc = r;", "accumulate": f"accs[i] = v {cmp} accs[i] ? v : accs[i];",
            "exact_rescan": False}


def _emit(node: Apply, ctx: CContext, op: Reduce, ind: int, steps: list[dict], value: str, parts: dict) -> str:
    kept, out_dims, out_pos = _layout(ind, op.axes, op.keepdims)
    empty = f"zero-size array to reduction operation {op.kind} which has no identity"
    return _render(node, ctx, ind, kept, out_dims, out_pos, steps, value, parts,
                   needs_nonempty=op.kind in ("max", "min") and op.initial is None, empty=empty, comment=str(node.op),
                   vec=_vector_parts(op.kind, parts["acc"]) if ind else None)


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
    parts = {"acc": x.dtype, "init": "0", "combine": f"{nan_check}if (idx == 0 || v {cmp} acc) {{ acc = v; best = idx; }}"}
    return _render(node, ctx, x.ndim, kept, out_dims, out_pos, [], "p0[o0]" if x.ndim else "a0s", parts,
                   needs_nonempty=bool(axes), empty=f"attempt to get {op.kind} of an empty sequence",
                   comment=str(op), result="best", reduced=axes)


def _render(node, ctx, ind, kept, out_dims, out_pos, steps, value, parts, needs_nonempty, empty, comment,
            result="acc", reduced=None, vec: dict | None = None) -> str:
    out = node.outputs[0]
    reduced = list(reduced if reduced is not None else [d for d in range(ind) if d not in kept])
    row_scalars = _row_scalars(node, ind)
    inputs = [{"k": k, "ctype": ctype(v.dtype), "ndim": v.ndim, "row_scalar": k in row_scalars}
              for k, v in enumerate(node.inputs)]
    key = f"reduce:{node.op.signature()}:{[(v.dtype, v.ndim) for v in node.inputs]}:{out.dtype}"
    name = ctx.helper(key, lambda n: render(
        "reduce.c.j2", name=n, comment=comment.replace("*/", "* /"), ond=out.ndim, ind=ind, out_dims=out_dims,
        kept=kept, reduced=reduced, out_pos=out_pos, inputs=inputs, steps=steps, value=value,
        out_t=ctype(out.dtype), acc_t=ctype(parts["acc"]), init=parts["init"], combine=parts["combine"],
        result=result, needs_nonempty=needs_nonempty and bool(reduced), empty_message=empty,
        bad_message=BAD_MESSAGE, vec=vec))
    ins = "".join(f", &{ctx.name(v)}" for v in node.inputs)
    return f"GC_TRY({name}(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, {ctx.reuse(out)}{ins}));"
