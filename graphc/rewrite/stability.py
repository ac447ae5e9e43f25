"""Numerically stable forms of expressions whose naive evaluation overflows, underflows or cancels.

Each rewrite keeps the value (up to rounding) wherever the naive form is finite, and gives the finite, correct
value where the naive one gives inf, -inf or NaN (or loses every significant digit, as log(1 + 1e-20) = 0).
Floats only: for integers the naive forms compute something else (1 + x can wrap around)."""
from __future__ import annotations

from graphc.graph.basic import Apply, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import expm1, log, log1p, neg, softplus
from graphc.ops.nnet import StopGradient, log_softmax, logsumexp
from graphc.ops.reduce import Reduce
from graphc.rewrite.patterns import elemwise_inputs, is_filled, is_float, with_type
from graphc.rewrite.registry import node_rewrite

TAGS = ("fast_run", "stability")


def _one(node: Apply, var: Variable | None) -> list[Variable] | None:
    """The replacement of ``node``'s single output, if it exists and has exactly the output's type."""
    new = None if var is None else with_type(var, node.out.type)
    return None if new is None else [new]


def _other_than_one(a: Variable, b: Variable) -> Variable | None:
    """Of ``a + b``: the operand that is added to a constant 1, or None."""
    return b if is_filled(a, 1) else a if is_filled(b, 1) else None


@node_rewrite("log1p", "stabilize", TAGS, tracks=("log",))
def log_one_plus(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(1 + x) -> log1p(x)."""
    args = elemwise_inputs(node.inputs[0], "add")
    x = None if args is None else _other_than_one(*args)
    return None if x is None or not is_float(x) else _one(node, log1p(x))


@node_rewrite("expm1", "stabilize", TAGS, tracks=("sub",))
def exp_minus_one(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """exp(x) - 1 -> expm1(x)."""
    e, one = node.inputs
    args = elemwise_inputs(e, "exp")
    if args is None or not is_filled(one, 1) or not is_float(args[0]):
        return None
    return _one(node, expm1(args[0]))


@node_rewrite("log_sigmoid", "stabilize", TAGS, tracks=("log",))
def log_sigmoid(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(sigmoid(x)) -> -softplus(-x): sigmoid(-800) underflows to 0, whose log is -inf; the answer is -800."""
    args = elemwise_inputs(node.inputs[0], "sigmoid")
    return None if args is None or not is_float(args[0]) else _one(node, neg(softplus(neg(args[0]))))


@node_rewrite("log1m_sigmoid", "stabilize", TAGS, tracks=("log",))
def log_one_minus_sigmoid(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(1 - sigmoid(x)) -> -softplus(x): 1 - sigmoid(40) is 0 in floating point."""
    args = elemwise_inputs(node.inputs[0], "sub")
    if args is None or not is_filled(args[0], 1):
        return None
    inner = elemwise_inputs(args[1], "sigmoid")
    return None if inner is None or not is_float(inner[0]) else _one(node, neg(softplus(inner[0])))


def _sum_of(var: Variable, summed: Variable) -> Reduce | None:
    """The Sum op if ``var`` is a sum of ``summed`` in its own dtype."""
    node = var.owner
    if node is None or not isinstance(node.op, Reduce) or node.op.kind != "sum" or node.inputs[0] is not summed:
        return None
    return node.op if node.op.dtype == summed.dtype else None


def _is_shifted(a: Variable, axes: tuple[int, ...]) -> bool:
    """Whether ``a`` is ``x - shift`` with shift the max of x over ``axes`` (made 0 where not finite), as
    gc.softmax, log_softmax and logsumexp build it: then exp(a) <= 1 and its sum is >= 1, nothing can overflow."""
    args = elemwise_inputs(a, "sub")
    if args is None:
        return False
    x, shift = args
    if shift.owner is not None and isinstance(shift.owner.op, StopGradient):
        shift = shift.owner.inputs[0]
    picked = elemwise_inputs(shift, "where")
    if picked is None or not is_filled(picked[2], 0):
        return False
    m = picked[1]
    test = elemwise_inputs(picked[0], "isfinite")
    node = m.owner
    return (test is not None and test[0] is m and node is not None and isinstance(node.op, Reduce)
            and node.op.kind == "max" and node.op.axes == axes and node.op.keepdims and node.inputs[0] is x)


@node_rewrite("log_softmax", "stabilize", TAGS, tracks=("log",))
def log_of_softmax(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(exp(a) / sum(exp(a), axes, keepdims)) -> log_softmax(a): softmax underflows to 0 far from the max, and
    its log to -inf. When a is already shifted by its max (gc.softmax), this is a - log(sum(exp(a)))."""
    args = elemwise_inputs(node.inputs[0], "true_div")
    if args is None:
        return None
    e, total = args
    exp_args = elemwise_inputs(e, "exp")
    reduce = _sum_of(total, e)
    if exp_args is None or reduce is None or not reduce.keepdims:
        return None
    a = exp_args[0]
    if _is_shifted(a, reduce.axes):
        return _one(node, a - log(total))
    return _one(node, log_softmax(a, axis=reduce.axes))


@node_rewrite("logsumexp", "stabilize", TAGS, tracks=("log",))
def log_sum_exp(fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
    """log(sum(exp(a), axes)) -> logsumexp(a, axes): exp overflows to inf for a > ~709 (88 for float32)."""
    total = node.inputs[0]
    e = total.owner.inputs[0] if total.owner is not None and total.owner.inputs else None
    exp_args = None if e is None else elemwise_inputs(e, "exp")
    reduce = None if exp_args is None else _sum_of(total, e)
    if reduce is None or _is_shifted(exp_args[0], reduce.axes):
        return None
    return _one(node, logsumexp(exp_args[0], axis=reduce.axes, keepdims=reduce.keepdims))
