"""CUDA lowering of Dot, Gemm and BatchedMatmul through cuBLAS (csrc/graphc_cublas.h), with the C backend's
shape checks (csrc/graphc_matrix.h)."""
from __future__ import annotations

from graphc.codegen.c import node_label
from graphc.codegen.cuda import CudaContext, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.blas import BatchedMatmul, Dot, Gemm


@register(Dot)
def lower_dot(node: Apply, ctx: CudaContext) -> str:
    ctx.include("graphc_cublas.h")
    a, b = node.inputs
    out = node.outputs[0]
    t = ctype(out.dtype)
    an, bn, label = ctx.name(a), ctx.name(b), node_label(node)
    shape = ([f"{an}.shape[0]"] if a.ndim == 2 else []) + ([f"{bn}.shape[1]"] if b.ndim == 2 else [])
    return "\n".join([
        f"GC_TRY(gc_check_aligned(st, {label}, &{an}, &{bn}, {an}.shape[{a.ndim - 1}], {bn}.shape[0]));",
        f"int64_t shape[{max(out.ndim, 1)}] = {{ {', '.join(shape) or '0'} }};",
        ctx.alloc(out, "shape"),
        f"gc_array A = gc_as_matrix(&{an}, 1), B = gc_as_matrix(&{bn}, 0);",
        f"GC_TRY(gc_dmatmul2d_{t}(st, {label}, &A, &B, ({t} *){ctx.name(out)}.data));",
    ])


@register(Gemm)
def lower_gemm(node: Apply, ctx: CudaContext) -> str:
    ctx.include("graphc_cublas.h")
    a, b, *c = node.inputs
    out = node.outputs[0]
    an, bn, label = ctx.name(a), ctx.name(b), node_label(node)
    cref = f"&{ctx.name(c[0])}" if c else "NULL"
    return "\n".join([
        f"int64_t shape[{out.ndim}];",
        f"GC_TRY(gc_gemm_shape(st, {label}, &{an}, &{bn}, {cref}, shape));",
        ctx.alloc(out, "shape"),
        f"GC_TRY(gc_dgemm_{ctype(out.dtype)}(st, {label}, {node.op.alpha.hex()}, &{an}, &{bn}, {node.op.beta.hex()}, "
        f"{cref}, &{ctx.name(out)}));",
    ])


@register(BatchedMatmul)
def lower_batched_matmul(node: Apply, ctx: CudaContext) -> str:
    ctx.include("graphc_cublas.h")
    a, b = node.inputs
    out = node.outputs[0]
    nd, nb = out.ndim, out.ndim - 2
    an, bn, label = ctx.name(a), ctx.name(b), node_label(node)
    return "\n".join([
        f"GC_TRY(gc_check_aligned(st, {label}, &{an}, &{bn}, {an}.shape[{nd - 1}], {bn}.shape[{nd - 2}]));",
        f"GC_TRY(gc_check_batch(st, {label}, &{an}, &{bn}));",
        f"int64_t shape[{nd}];",
        f"gc_array ba = {an}, bb = {bn};",
        f"ba.ndim = bb.ndim = {nb};",
        f"{{ const gc_array *heads[2] = {{ &ba, &bb }}; GC_TRY(gc_broadcast(st, {label}, {nb}, shape, 2, heads)); }}",
        f"shape[{nd - 2}] = {an}.shape[{nd - 2}]; shape[{nd - 1}] = {bn}.shape[{nd - 1}];",
        ctx.alloc(out, "shape"),
        f"GC_TRY(gc_dbatched_matmul_{ctype(out.dtype)}(st, {label}, &{an}, &{bn}, &{ctx.name(out)}));",
    ])
