"""C lowering of indexing: Subtensor as a view, AdvancedSubtensor as a gather, the Inc ops as a copy of x
followed by a set/add into the region (serial, so repeated indices give deterministic results)."""
from __future__ import annotations

from graphc.codegen.c import CContext, node_label, register
from graphc.codegen.scalar import ctype
from graphc.graph.basic import Apply
from graphc.ops.subtensor import AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor

KINDS = {"int": "GC_IDX_INT", "slice": "GC_IDX_SLICE", "newaxis": "GC_IDX_NEWAXIS"}


def _basic_view(node: Apply, ctx: CContext, source: str, target: str, first_index: int, tag: str = "") -> str:
    """C statements making ``target`` the view ``source[idx_list]``; index scalars start at input first_index.
    ``tag`` keeps the names of the index tables apart when one step takes two views."""
    idx_list = node.op.idx_list
    kinds = ", ".join(KINDS[e[0]] for e in idx_list) or "0"
    present = ", ".join(str(int(h)) for e in idx_list for h in (e[1:] if e[0] == "slice" else (0, 0, 0))) or "0"
    scalars = node.inputs[first_index:]
    vals = ", ".join(f"GC_READ_SCALAR({ctx.name(v)}, int64_t)" for v in scalars) or "0"
    return "\n".join([
        f"static const int kinds{tag}[{max(len(idx_list), 1)}] = {{ {kinds} }};",
        f"static const int present{tag}[{max(3 * len(idx_list), 1)}] = {{ {present} }};",
        f"const int64_t vals{tag}[{max(len(scalars), 1)}] = {{ {vals} }};",
        f"GC_TRY(gc_basic_view(st, {node_label(node)}, &{source}, &{target}, {len(idx_list)}, kinds{tag}, "
        f"present{tag}, vals{tag}, sizeof({ctype(node.inputs[0].dtype)})));",
    ])


def _copy_of_x(node: Apply, ctx: CContext) -> str:
    x, out = node.inputs[0], node.outputs[0]
    return "\n".join([ctx.alloc(out, f"{ctx.name(x)}.shape"),
                      f"{ctx.rt('copy_bcast', out)}(&{ctx.name(out)}, &{ctx.name(x)}, sizeof({ctype(x.dtype)}));"])


@register(Subtensor)
def lower_subtensor(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_index.h")
    return _basic_view(node, ctx, ctx.name(node.inputs[0]), ctx.name(node.outputs[0]), 1)


@register(IncSubtensor)
def lower_inc_subtensor(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_index.h")
    x, y, out = node.inputs[0], node.inputs[1], node.outputs[0]
    t = ctype(x.dtype)
    write = (f"{ctx.rt('copy_bcast', out)}(&region, &{ctx.name(y)}, sizeof({t}));" if node.op.set_instead_of_inc
             else f"{ctx.rt('add_bcast_' + t, out)}(&region, &{ctx.name(y)});")
    return "\n".join([
        "gc_array region = {0};",
        # checked on x first, so a bad index or value fails before anything is allocated
        _basic_view(node, ctx, ctx.name(x), "region", 2, "_x"),
        f"GC_TRY(gc_check_value_shape(st, {node_label(node)}, &{ctx.name(y)}, region.ndim, region.shape));",
        _copy_of_x(node, ctx),
        _basic_view(node, ctx, ctx.name(out), "region", 2),
        write,
    ])


def _plan(node: Apply, ctx: CContext, first_index: int) -> str:
    x = node.inputs[0]
    flags = node.op.indexed
    arrays = node.inputs[first_index:]
    names = ", ".join(f"&{ctx.name(a)}" for a in arrays)
    return "\n".join([
        f"static const int indexed[{len(flags)}] = {{ {', '.join(str(int(f)) for f in flags)} }};",
        f"const gc_array *idx[{len(arrays)}] = {{ {names} }};",
        "gc_adv_plan plan;",
        f"GC_TRY(gc_adv_make_plan(st, {node_label(node)}, &{ctx.name(x)}, {len(flags)}, indexed, {len(arrays)}, idx, "
        "&plan));",
    ])


@register(AdvancedSubtensor)
def lower_advanced_subtensor(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_index.h")
    x, out = node.inputs[0], node.outputs[0]
    return "\n".join([
        _plan(node, ctx, 1),
        ctx.alloc(out, "plan.shape"),
        f"GC_TRY({ctx.rt('adv_gather', out)}(st, {node_label(node)}, &{ctx.name(x)}, &plan, &{ctx.name(out)}, "
        f"sizeof({ctype(x.dtype)})));",
    ])


@register(AdvancedIncSubtensor)
def lower_advanced_inc_subtensor(node: Apply, ctx: CContext) -> str:
    ctx.include("graphc_index.h")
    x, y, out = node.inputs[0], node.inputs[1], node.outputs[0]
    return "\n".join([
        _plan(node, ctx, 2),
        f"GC_TRY(gc_check_value_shape(st, {node_label(node)}, &{ctx.name(y)}, plan.ndim_region, plan.shape));",
        _copy_of_x(node, ctx),
        f"GC_TRY({ctx.rt('adv_scatter_' + ctype(x.dtype), out)}(st, {node_label(node)}, &{ctx.name(out)}, &plan, "
        f"&{ctx.name(y)}, {int(node.op.set_instead_of_inc)}));",
    ])
