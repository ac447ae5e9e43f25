"""Algebraic simplification of elementwise arithmetic, only where the result is bit-for-bit what numpy computes.

What is deliberately *not* rewritten, and why:

- ``x * 0 -> 0``: NaN and inf times 0 are NaN;
- ``x + 0.0 -> x`` for floats: -0.0 + 0.0 is +0.0 (``x + -0.0`` and ``x - 0.0`` are exact, and are rewritten);
- ``x - x -> 0`` for floats: inf - inf is NaN (integers are rewritten);
- ``x / x -> 1``: 0/0 is NaN for floats, and integer true division is float division, so the same;
- ``exp(log(x)) -> x``: NaN for x < 0, and exp(log(x)) differs from x by more than a rounding."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.shape import zeros_like
from graphc.rewrite.patterns import converted, elemwise_inputs, is_filled, is_float, with_type
from graphc.rewrite.registry import node_rewrite

TAGS = ("fast_run", "canonicalize")


def _other_if(node: Apply, test) -> Variable | None:
    """For a binary node: the operand that is not the one ``test`` accepts (either side), or None."""
    a, b = node.inputs
    return a if test(b) else b if test(a) else None


@node_rewrite("mul_by_one", "canonicalize", TAGS, tracks=("mul",))
def mul_by_one(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """x * 1 and 1 * x -> x (converted to the result dtype, which is exactly what the product is)."""
    x = _other_if(node, lambda v: is_filled(v, 1))
    return None if x is None else _as_list(converted(x, node.out.type))


@node_rewrite("add_zero", "canonicalize", TAGS, tracks=("add",))
def add_zero(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """x + 0 and 0 + x -> x for integers and bools; for floats only with a -0.0 constant."""
    sign = True if is_float(node.out) else None
    x = _other_if(node, lambda v: is_filled(v, 0, negative_zero=sign))
    return None if x is None else _as_list(converted(x, node.out.type))


@node_rewrite("sub_zero", "canonicalize", TAGS, tracks=("sub",))
def sub_zero(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """x - 0 -> x (x - +0.0 is exact for every float, -0.0 included)."""
    x, zero = node.inputs
    sign = False if is_float(node.out) else None
    return _as_list(converted(x, node.out.type)) if is_filled(zero, 0, negative_zero=sign) else None


@node_rewrite("sub_self", "canonicalize", TAGS, tracks=("sub",))
def sub_self(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """x - x -> zeros of x's shape, for integers only (inf - inf is NaN)."""
    x, y = node.inputs
    if x is not y or x.dtype not in ("int8", "uint8", "int16", "int32", "int64"):
        return None
    return _as_list(with_type(zeros_like(x), node.out.type))


@node_rewrite("neg_neg", "canonicalize", TAGS, tracks=("neg",))
def neg_neg(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """--x -> x (exact, integer wrap-around included)."""
    inner = elemwise_inputs(node.inputs[0], "neg")
    return None if inner is None else _as_list(with_type(inner[0], node.out.type))


@node_rewrite("log_exp", "canonicalize", TAGS + ("stability",), tracks=("log",))
def log_exp(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(exp(x)) -> x: the naive form overflows to inf for x > ~709 (88 for float32) and underflows to -inf."""
    inner = elemwise_inputs(node.inputs[0], "exp")
    return None if inner is None else _as_list(converted(inner[0], node.out.type))


@node_rewrite("where_constant", "canonicalize", TAGS, tracks=("where",))
def where_constant(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """where(True, x, c) -> x and where(False, c, y) -> y (converted to the result dtype, as where does), when
    the branch dropped is a constant: a computed one might raise when the function runs, and must still."""
    condition, x, y = node.inputs
    picked = (x if is_filled(condition, True) and isinstance(y, Constant) else
              y if is_filled(condition, False) and isinstance(x, Constant) else None)
    return None if picked is None else _as_list(converted(picked, node.out.type))


def _as_list(var: Variable | None) -> list[Variable] | None:
    return None if var is None else [var]
