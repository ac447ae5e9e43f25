"""C lowering of the shape ops: shapes as int64 arrays, views (dimshuffle, reshape), alloc, sum_to, arange."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.shape import Alloc, ARange, DimShuffle, MakeVector, Reshape, Shape, ShapeI, SumTo


def _scalar_shape(node: Apply, ctx: CContext, first: int) -> str:
    """C statements filling int64_t shape[] from the node's scalar inputs from position ``first``."""
    entries = node.inputs[first:]
    reads = ", ".join(f"GC_READ_SCALAR({ctx.name(v)}, int64_t)" for v in entries) or "0"
    return f"int64_t shape[{max(len(entries), 1)}] = {{ {reads} }};"


@register(Shape)
def lower_shape(node: Apply, ctx: CContext) -> str:
    x, out = node.inputs[0], node.outputs[0]
    o = ctx.name(out)
    return (f"int64_t n[1] = {{ {x.ndim} }};\n{ctx.alloc(out, 'n')}\n"
            f"for (int d = 0; d < {x.ndim}; ++d) ((int64_t *){o}.data)[d] = {ctx.name(x)}.shape[d];")


@register(ShapeI)
def lower_shape_i(node: Apply, ctx: CContext) -> str:
    x, out = node.inputs[0], node.outputs[0]
    return f"{ctx.alloc(out, 'NULL')}\n*(int64_t *){ctx.name(out)}.data = {ctx.name(x)}.shape[{node.op.i}];"


@register(MakeVector)
def lower_make_vector(node: Apply, ctx: CContext) -> str:
    out = node.outputs[0]
    lines = [f"int64_t n[1] = {{ {len(node.inputs)} }};", ctx.alloc(out, "n")]
    for k, v in enumerate(node.inputs):
        lines.append(f"((int64_t *){ctx.name(out)}.data)[{k}] = GC_READ_SCALAR({ctx.name(v)}, int64_t);")
    return "\n".join(lines)


@register(Alloc)
def lower_alloc(node: Apply, ctx: CContext) -> str:
    value, out = node.inputs[0], node.outputs[0]
    return "\n".join([
        _scalar_shape(node, ctx, 1),
        f"for (int d = 0; d < {out.ndim}; ++d) if (shape[d] < 0) {{ gc_error(st, GC_ERR_VALUE, "
        f"\"%s: negative dimensions are not allowed\", {node_label(node)}); goto fail; }}",
        f"int64_t check[{max(out.ndim, 1)}];",
        f"const gc_array *parts[2] = {{ &{ctx.name(value)}, NULL }};",
        f"gc_array target = {{0}}; target.ndim = {out.ndim};",
        f"for (int d = 0; d < {out.ndim}; ++d) target.shape[d] = shape[d];",
        "parts[1] = &target;",
        f"GC_TRY(gc_broadcast(st, {node_label(node)}, {out.ndim}, check, 2, parts));",
        f"for (int d = 0; d < {out.ndim}; ++d) if (check[d] != shape[d]) {{ gc_error(st, GC_ERR_VALUE, "
        f"\"%s: cannot broadcast the value to the requested shape\", {node_label(node)}); goto fail; }}",
        ctx.alloc(out, "shape"),
        f"{ctx.rt('copy_bcast', out, value)}(&{ctx.name(out)}, &{ctx.name(value)}, sizeof({ctype(out.dtype)}));",
    ])


@register(SumTo)
def lower_sum_to(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_shape.h")
    g, out = node.inputs[0], node.outputs[0]
    if g.dtype not in ("float32", "float64"):
        raise NotImplementedError(f"sum_to of {g.dtype}")
    return "\n".join([
        _scalar_shape(node, ctx, 1),
        f"GC_TRY({ctx.rt('sum_to_' + ctype(g.dtype), out)}(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, "
        f"{ctx.reuse(out)}, &{ctx.name(g)}, {out.ndim}, shape));",
    ])


@register(DimShuffle)
def lower_dimshuffle(node: Apply, ctx: CContext) -> str:
    x, out = node.inputs[0], node.outputs[0]
    xn, on = ctx.name(x), ctx.name(out)
    lines = [f"{on} = {xn};", f"{on}.owned = 0;", f"{on}.ndim = {out.ndim};"]
    for k, p in enumerate(node.op.pattern):
        if p == "x":
            lines.append(f"{on}.shape[{k}] = 1; {on}.strides[{k}] = 0;")
        else:
            lines.append(f"{on}.shape[{k}] = {xn}.shape[{p}]; {on}.strides[{k}] = {xn}.strides[{p}];")
    kept = [p for p in node.op.pattern if p != "x"]
    for d in range(x.ndim):
        if d not in kept:
            lines.append(f"if ({xn}.shape[{d}] != 1) {{ gc_error(st, GC_ERR_VALUE, \"%s: dropped dim {d} has size "
                         f"%lld, not 1\", {node_label(node)}, (long long){xn}.shape[{d}]); goto fail; }}")
    return "\n".join(lines)


@register(Reshape)
def lower_reshape(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_shape.h")
    x, out = node.inputs[0], node.outputs[0]
    return "\n".join([
        _scalar_shape(node, ctx, 1),
        f"GC_TRY(gc_reshape(st, {node_label(node)}, &{ctx.name(out)}, &{ctx.buf(out)}, {ctx.reuse(out)}, "
        f"&{ctx.name(x)}, {out.ndim}, shape, sizeof({ctype(out.dtype)})));",
    ])


@register(ARange)
def lower_arange(node: Apply, ctx: CContext) -> str:
    out = node.outputs[0]
    t = ctype(out.dtype)
    return "\n".join(arange_setup(node, ctx) + [
        f"{t} *po = ({t} *){ctx.name(out)}.data;",
        f"for (int64_t i = 0; i < n[0]; ++i) po[i] = {arange_value(out.dtype, 'i')};",
    ])


def _arange_acc(dtype: str) -> str:
    return "double" if dtype in ("float32", "float64") else "int64_t"


def arange_setup(node: Apply, ctx: CContext) -> list[str]:
    """numpy's arange: the first two elements are start and start + step (in the output type: b0, b1), the others
    start + i * delta with delta = their difference, computed in double (floats) or int64 (integers). These
    statements allocate the output and define n[0], b0, b1 and delta; ``arange_value`` gives element i."""
    ctx.include("graphc_shape.h")
    out = node.outputs[0]
    t, acc = ctype(out.dtype), _arange_acc(out.dtype)
    bound_t = "double" if any(v.dtype in ("float32", "float64") for v in node.inputs) else "int64_t"
    start, stop, step = (f"GC_READ_SCALAR({ctx.name(v)}, {ctype(v.dtype)})" for v in node.inputs)
    return [
        "int64_t n[1];",
        f"GC_TRY(gc_arange_len(st, {node_label(node)}, (double){start}, (double){stop}, (double){step}, &n[0]));",
        ctx.alloc(out, "n"),
        f"const {bound_t} s0 = ({bound_t}){start}, s1 = s0 + ({bound_t}){step};",
        f"const {t} b0 = ({t})s0, b1 = ({t})s1;",
        f"const {acc} delta = ({acc})b1 - ({acc})b0;",
    ]


def arange_value(dtype: str, i: str) -> str:
    """Element ``i`` of the arange that ``arange_setup`` prepared."""
    return f"({i} == 0 ? b0 : {i} == 1 ? b1 : ({ctype(dtype)})(({_arange_acc(dtype)})b0 + {i} * delta))"
