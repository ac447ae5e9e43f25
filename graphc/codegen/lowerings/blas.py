"""C lowering of Dot (numpy.dot for 1-d/2-d operands), Gemm and BatchedMatmul: cblas gemm per matrix product."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.blas import BatchedMatmul, Dot, Gemm


@register(Dot)
def lower_dot(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_blas.h")
    a, b = node.inputs
    out = node.outputs[0]
    t = ctype(out.dtype)
    an, bn = ctx.name(a), ctx.name(b)
    shape = [f"{an}.shape[0]"] if a.ndim == 2 else []
    shape += [f"{bn}.shape[1]"] if b.ndim == 2 else []
    return "\n".join([
        f"GC_TRY(gc_check_aligned(st, {node_label(node)}, &{an}, &{bn}, {an}.shape[{a.ndim - 1}], {bn}.shape[0]));",
        f"int64_t shape[{max(out.ndim, 1)}] = {{ {', '.join(shape) or '0'} }};",
        ctx.alloc(out, "shape"),
        f"gc_array A = gc_as_matrix(&{an}, 1), B = gc_as_matrix(&{bn}, 0);",
        f"GC_TRY(gc_matmul2d_{t}(st, &A, &B, ({t} *){ctx.name(out)}.data));",
    ])


@register(Gemm)
def lower_gemm(node: Apply, ctx: CContext) -> str:
    """Shape check, c broadcast into the output, then one gemm call that adds alpha * the product (beta scales c)."""
    ctx.include("graphc_blas.h")
    a, b, *c = node.inputs
    out = node.outputs[0]
    an, bn = ctx.name(a), ctx.name(b)
    cref = f"&{ctx.name(c[0])}" if c else "NULL"
    return "\n".join([
        f"int64_t shape[{out.ndim}];",
        f"GC_TRY(gc_gemm_shape(st, {node_label(node)}, &{an}, &{bn}, {cref}, shape));",
        ctx.alloc(out, "shape"),
        f"GC_TRY(gc_gemm_{ctype(out.dtype)}(st, {node.op.alpha.hex()}, &{an}, &{bn}, {node.op.beta.hex()}, {cref}, "
        f"&{ctx.name(out)}));",
    ])


@register(BatchedMatmul)
def lower_batched_matmul(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_blas.h")
    a, b = node.inputs
    out = node.outputs[0]
    nd, nb = out.ndim, out.ndim - 2
    t = ctype(out.dtype)
    an, bn, on = ctx.name(a), ctx.name(b), ctx.name(out)
    return "\n".join([
        f"GC_TRY(gc_check_aligned(st, {node_label(node)}, &{an}, &{bn}, {an}.shape[{nd - 1}], {bn}.shape[{nd - 2}]));",
        f"GC_TRY(gc_check_batch(st, {node_label(node)}, &{an}, &{bn}));",
        f"int64_t shape[{nd}];",
        f"gc_array ba = {an}, bb = {bn};",
        f"ba.ndim = bb.ndim = {nb};",
        "{ const gc_array *heads[2] = { &ba, &bb }; "
        f"GC_TRY(gc_broadcast(st, {node_label(node)}, {nb}, shape, 2, heads)); }}",
        f"shape[{nd - 2}] = {an}.shape[{nd - 2}]; shape[{nd - 1}] = {bn}.shape[{nd - 1}];",
        ctx.alloc(out, "shape"),
        f"int64_t sa[{nb}], sb[{nb}], idx[{nb}] = {{0}}, count = 1;",
        f"gc_bcast_strides(&ba, {nb}, shape, sa); gc_bcast_strides(&bb, {nb}, shape, sb);",
        f"for (int d = 0; d < {nb}; ++d) count *= shape[d];",
        f"const int64_t plane = shape[{nd - 2}] * shape[{nd - 1}];",
        "for (int64_t i = 0; i < count; ++i) {",
        "    gc_array A = {0}, B = {0};",
        "    int64_t oa = 0, ob = 0;",
        f"    for (int d = 0; d < {nb}; ++d) {{ oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }}",
        f"    A.ndim = B.ndim = 2;",
        f"    A.data = {an}.data + oa * (int64_t)sizeof({t}); B.data = {bn}.data + ob * (int64_t)sizeof({t});",
        f"    for (int d = 0; d < 2; ++d) {{ A.shape[d] = {an}.shape[{nb} + d]; A.strides[d] = {an}.strides[{nb} + d];"
        f" B.shape[d] = {bn}.shape[{nb} + d]; B.strides[d] = {bn}.strides[{nb} + d]; }}",
        f"    GC_TRY(gc_matmul2d_{t}(st, &A, &B, ({t} *){on}.data + i * plane));",
        f"    for (int d = {nb} - 1; d >= 0; --d) {{ if (++idx[d] < shape[d]) break; idx[d] = 0; }}",
        "}",
    ])
