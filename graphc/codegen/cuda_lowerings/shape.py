"""CUDA placement of the shape, join and indexing ops. Most reuse the C backend's lowerings unchanged: views and
shape arithmetic are host code either way, and the copies, fills and scatters they call have device twins
(ctx.rt names gc_d<name> for device values). Reshape (a copy of a strided input) and arange (the fill) differ."""
from __future__ import annotations

from graphc.codegen.c import node_label
from graphc.codegen.cuda import HOST, CudaContext, register
from graphc.codegen.lowerings import join as cj, shape as cs, subtensor as ct
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.join import Join, Split
from graphc.ops.nnet import StopGradient
from graphc.ops.shape import Alloc, ARange, DimShuffle, MakeVector, Reshape, Shape, ShapeI, SumTo
from graphc.ops.subtensor import AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor

register(Shape, where=HOST, metadata_only=True)(cs.lower_shape)
register(ShapeI, where=HOST, metadata_only=True)(cs.lower_shape_i)
register(MakeVector, where=HOST, host_from=0)(cs.lower_make_vector)
register(DimShuffle, where="view")(cs.lower_dimshuffle)
register(StopGradient, where="view")(cj.lower_stop_gradient)
register(Split, where="view", host_from=1)(cj.lower_split)
register(Subtensor, where="view", host_from=1)(ct.lower_subtensor)
register(Alloc, host_from=1, host_values=(0,))(cs.lower_alloc)
register(SumTo, host_from=1)(cs.lower_sum_to)
register(Join)(cj.lower_join)
register(IncSubtensor, host_from=2)(ct.lower_inc_subtensor)
register(AdvancedSubtensor)(ct.lower_advanced_subtensor)
register(AdvancedIncSubtensor)(ct.lower_advanced_inc_subtensor)


@register(Reshape, host_from=1)
def lower_reshape(node: Apply, ctx: CudaContext) -> str:
    """gc_reshape views a contiguous input; a strided one is first copied, on the device, into the output's buffer."""
    ctx.include("graphc_shape.h")
    x, out = node.inputs[0], node.outputs[0]
    size = f"sizeof({ctype(out.dtype)})"
    return "\n".join([
        cs._scalar_shape(node, ctx, 1),
        f"gc_array flat = {ctx.name(x)};",
        f"if (!gc_is_contiguous(&flat)) GC_TRY(gc_dcopy_new(st, &flat, &{ctx.buf(out)}, &{ctx.name(x)}, {size}, "
        f"NULL));",
        f"GC_TRY(gc_reshape(st, {node_label(node)}, &{ctx.name(out)}, NULL, NULL, &flat, {out.ndim}, shape, {size}));",
    ])


@register(ARange, host_from=0)
def lower_arange(node: Apply, ctx: CudaContext) -> str:
    out = node.outputs[0]
    t = ctype(out.dtype)
    kernel = ctx.helper(f"cuda-arange:{out.dtype}", lambda name: "\n".join([
        "/* arange's fill, element by element as numpy computes it (see the C lowering) */",
        f"__global__ void {name}({t} *po, int64_t n, {t} b0, {t} b1, {cs._arange_acc(out.dtype)} delta) {{",
        "    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;",
        "         i += (int64_t)gridDim.x * blockDim.x)",
        f"        po[i] = {cs.arange_value(out.dtype, 'i')};",
        "}",
    ]))
    return "\n".join(cs.arange_setup(node, ctx) + [
        f"if (n[0] > 0) {kernel}<<<gc_blocks(n[0]), GC_THREADS>>>(({t} *){ctx.name(out)}.data, n[0], b0, b1, delta);",
    ])

