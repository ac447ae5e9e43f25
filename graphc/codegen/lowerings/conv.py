"""C lowering of conv2d and its gradients: im2col/col2im and a BLAS gemm per image (csrc/graphc_conv.h). The CUDA
backend reuses these lowerings with its runtime's twins (csrc/graphc_cuda_conv.h)."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradWeight


def _geometry(node: Apply, ctx: CContext, xs: str, ws: str) -> list[str]:
    """Statements defining ``g`` (gc_conv) from int64 shape expressions of the input and the filters."""
    ctx.include("graphc_conv.h")
    op = node.op
    params = ", ".join(str(v) for v in (*op.stride, *op.padding, *op.dilation))
    return [f"static const int64_t params[6] = {{ {params} }};",
            f"const int64_t xs[4] = {{ {xs} }}, ws[4] = {{ {ws} }};",
            "gc_conv g;",
            f"GC_TRY(gc_conv_geometry(st, {node_label(node)}, xs, ws, params, &g));"]


def _call(node: Apply, ctx: CContext, fn: str, shape: str, args: str) -> list[str]:
    out = node.outputs[0]
    return [f"int64_t shape[4] = {{ {shape} }};", ctx.alloc(out, "shape"),
            f"GC_TRY({ctx.rt(f'{fn}_{ctype(out.dtype)}', out)}(st, {node_label(node)}, &g, {args}, &{ctx.name(out)}));"]


@register(Conv2d)
def lower_conv2d(node: Apply, ctx: CContext) -> str:
    x, w = (ctx.name(v) for v in node.inputs)
    dims = lambda a: ", ".join(f"{a}.shape[{d}]" for d in range(4))
    return "\n".join(_geometry(node, ctx, dims(x), dims(w)) +
                     _call(node, ctx, "conv2d", "g.n, g.k, g.oh, g.ow", f"&{x}, &{w}"))


@register(Conv2dGradInput)
def lower_conv2d_grad_input(node: Apply, ctx: CContext) -> str:
    g, w, h, wd = (ctx.name(v) for v in node.inputs)
    xs = f"{g}.shape[0], {w}.shape[1], GC_READ_SCALAR({h}, int64_t), GC_READ_SCALAR({wd}, int64_t)"
    ws = ", ".join(f"{w}.shape[{d}]" for d in range(4))
    return "\n".join(_geometry(node, ctx, xs, ws) +
                     _call(node, ctx, "conv2d_grad_input", "g.n, g.c, g.h, g.w", f"&{g}, &{w}"))


@register(Conv2dGradWeight)
def lower_conv2d_grad_weight(node: Apply, ctx: CContext) -> str:
    x, g, r, s = (ctx.name(v) for v in node.inputs)
    xs = ", ".join(f"{x}.shape[{d}]" for d in range(4))
    ws = f"{g}.shape[1], {x}.shape[1], GC_READ_SCALAR({r}, int64_t), GC_READ_SCALAR({s}, int64_t)"
    return "\n".join(_geometry(node, ctx, xs, ws) +
                     _call(node, ctx, "conv2d_grad_weight", "g.k, g.c, g.r, g.s", f"&{x}, &{g}"))
