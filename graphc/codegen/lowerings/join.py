"""C lowering of Join (concatenate), Split (views of consecutive pieces) and StopGradient (a view)."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.join import Join, Split
from graphc.ops.nnet import StopGradient


@register(StopGradient)
def lower_stop_gradient(node: Apply, ctx: CContext) -> str:
    out = ctx.name(node.outputs[0])
    return f"{out} = {ctx.name(node.inputs[0])};\n{out}.owned = 0;"


@register(Join)
def lower_join(node: Apply, ctx: CContext) -> str:
    out = node.outputs[0]
    axis, nd = node.op.axis, out.ndim
    first = ctx.name(node.inputs[0])
    lines = [f"int64_t shape[{nd}];", f"for (int d = 0; d < {nd}; ++d) shape[d] = {first}.shape[d];",
             f"shape[{axis}] = 0;"]
    for var in node.inputs:
        v = ctx.name(var)
        lines.append(f"for (int d = 0; d < {nd}; ++d) if (d != {axis} && {v}.shape[d] != shape[d]) {{ "
                     f"char b1[256], b2[256]; gc_error(st, GC_ERR_VALUE, \"%s: all dims except axis {axis} must "
                     f"match, got %s and %s\", {node_label(node)}, gc_shape_str(b1, sizeof b1, {nd}, {first}.shape), "
                     f"gc_shape_str(b2, sizeof b2, {nd}, {v}.shape)); goto fail; }}")
        lines.append(f"shape[{axis}] += {v}.shape[{axis}];")
    lines.append(ctx.alloc(out, "shape"))
    lines.append("int64_t offset = 0;")
    o = ctx.name(out)
    for var in node.inputs:
        v = ctx.name(var)
        lines.append(f"{{ gc_array part = {o}; part.shape[{axis}] = {v}.shape[{axis}]; "
                     f"part.data += offset * {o}.strides[{axis}] * (int64_t)sizeof({ctype(out.dtype)}); "
                     f"{ctx.rt('copy_bcast', out)}(&part, &{v}, sizeof({ctype(out.dtype)})); offset += {v}.shape[{axis}]; }}")
    return "\n".join(lines)


@register(Split)
def lower_split(node: Apply, ctx: CContext) -> str:
    x = node.inputs[0]
    axis = node.op.axis
    xn = ctx.name(x)
    sizes = [f"GC_READ_SCALAR({ctx.name(s)}, int64_t)" for s in node.inputs[1:]]
    lines = [f"int64_t sizes[{len(sizes)}] = {{ {', '.join(sizes)} }}, total = 0;",
             f"for (int k = 0; k < {len(sizes)}; ++k) {{ if (sizes[k] < 0) total = -1 - {xn}.shape[{axis}]; "
             f"else total += sizes[k]; }}",
             f"if (total != {xn}.shape[{axis}]) {{ gc_error(st, GC_ERR_VALUE, \"%s: the sizes do not add up to "
             f"%lld, the size of axis {axis}\", {node_label(node)}, (long long){xn}.shape[{axis}]); goto fail; }}",
             "int64_t offset = 0;"]
    for k, out in enumerate(node.outputs):
        o = ctx.name(out)
        lines.append(f"{o} = {xn}; {o}.owned = 0; {o}.shape[{axis}] = sizes[{k}]; "
                     f"{o}.data += offset * {xn}.strides[{axis}] * (int64_t)sizeof({ctype(x.dtype)}); "
                     f"offset += sizes[{k}];")
    return "\n".join(lines)
