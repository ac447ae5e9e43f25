"""The gemm rewrite: a dot and the scaling and adding around it become one Gemm, one BLAS call.

    dot(A,B) + C,  C + dot(A,B),  alpha*dot(A,B) + beta*C,  C - alpha*dot(A,B)  ->  Gemm(alpha, beta)(A, B, C)
    dot(A,B) * alpha,  -dot(A,B)                                                  ->  Gemm(alpha, 0)(A, B)

where alpha and beta are constant scalars (any chain of ``*`` by a constant and ``-x``) and C broadcasts to the
product (a bias vector, a row, a full matrix). This covers the dense layer (``x @ W + b``) and its SGD update
(``W - lr * dot(x.T, g)``). A transposed operand (``x.T``, a DimShuffle) stays a view: BLAS reads it with a
transpose flag, so no transpose is ever copied. It runs before fusion, which would otherwise take the ``+`` into
an elementwise loop.

Not rewritten, with the reason noted in the report:

- the dot's value (or a scaled copy of it) has another use: a Gemm would compute the whole product a second time
  to save one elementwise pass. Shape queries (ShapeI) are not such uses: they are answered from A's and B's shapes;
- integer or bool dtypes (BLAS is float32/float64 only) and a dot of two vectors (a scalar);
- a scale that is not a finite nonzero constant: BLAS skips the product when alpha is 0 (0 * inf gives no NaN),
  and a symbolic scale (a shared learning rate) is not a constant;
- any candidate whose Gemm would not have exactly the replaced output's type (dtype and static shape), e.g. a C of
  another dtype, or of higher rank than the product."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.blas import FLOATS, Dot, Gemm
from graphc.ops.elemwise import Elemwise
from graphc.ops.shape import ShapeI
from graphc.rewrite.registry import register_pass
from graphc.rewrite.report import PassRecord


@dataclass
class _Term:
    """A variable seen as ``scale * base``, found by walking down through ``-x`` and ``*`` by constant scalars;
    ``chain`` holds the variables walked through, from the top one down to ``base`` (exclusive)."""

    scale: float
    base: Variable
    chain: list[Variable]


def _constant_scalar(var: Variable) -> float | None:
    return float(var.data.reshape(-1)[0]) if isinstance(var, Constant) and var.data.size == 1 else None


def _term(var: Variable) -> _Term:
    """``var`` as a scaled term (scale 1 and an empty chain when it is not scaled at all)."""
    scale, chain = 1.0, []
    while var.owner is not None and isinstance(var.owner.op, Elemwise):
        name, args = var.owner.op.scalar_op.name, var.owner.inputs
        if name == "neg":
            factor, inner = -1.0, args[0]
        elif name == "mul" and _constant_scalar(args[0]) is not None:
            factor, inner = _constant_scalar(args[0]), args[1]
        elif name == "mul" and _constant_scalar(args[1]) is not None:
            factor, inner = _constant_scalar(args[1]), args[0]
        else:
            break
        scale *= factor
        chain.append(var)
        var = inner
    return _Term(scale, var, chain)


def _value_uses(fgraph: FunctionGraph, var: Variable) -> list[str]:
    """Who needs ``var``'s value: every client but shape queries."""
    return ["an output" if node == "output" else str(node.op)
            for node, _ in fgraph.clients[var] if node == "output" or not isinstance(node.op, ShapeI)]


def _dropped(term: _Term, root: Variable) -> list[Variable]:
    """The values a Gemm replacing ``root`` makes unused: the dot's output and the scaled copies above it."""
    return [v for v in term.chain if v is not root] + [term.base]


@dataclass
class _Match:
    gemm: Variable
    dot: Apply
    dropped: list[Variable]


def _dot_refusal(fgraph: FunctionGraph, term: _Term, root: Variable) -> str | None:
    """Why the dot under ``term`` cannot become a Gemm whose output replaces ``root``, or None if it can."""
    a, b = term.base.owner.inputs
    if a.dtype not in FLOATS:
        return f"dot of dtype {a.dtype} (BLAS gemm is float32/float64 only)"
    if a.ndim == 1 and b.ndim == 1:
        return "dot of two vectors is a scalar"
    for var in _dropped(term, root):
        uses = _value_uses(fgraph, var)
        if len(uses) > 1:
            return f"{var!r} has other uses ({', '.join(sorted(set(uses)))}): the product would be computed twice"
    return None


def _build(alpha: float, beta: float, dot: Apply, c: Variable | None, root: Variable) -> Variable | str:
    """The Gemm replacing ``root``, or why there is none. The scales are rounded to the dtype, as the
    elementwise arithmetic would have rounded its constants."""
    alpha, beta = (float(np.asarray(s, dtype=root.dtype)) for s in (alpha, beta))
    try:
        out = Gemm(alpha, beta)(*dot.inputs, *([] if c is None else [c]))
    except (TypeError, ValueError) as exc:
        return str(exc)
    return out if out.type == root.type else f"the Gemm would have type {out.type}, not {root.type}"


def _c_sides(fgraph: FunctionGraph, operand: Variable, sign: float) -> list[tuple[float, Variable]]:
    """(beta, C) choices for the added operand: its own scale folded in when nothing else uses the scaled values,
    else the operand as it is."""
    term = _term(operand)
    if term.chain and all(len(fgraph.clients[v]) == 1 for v in term.chain):
        return [(sign * term.scale, term.base), (sign, operand)]
    return [(sign, operand)]


def _match(fgraph: FunctionGraph, node: Apply) -> tuple[_Match | None, list[str]]:
    """The Gemm for ``node`` (a root: add, sub, mul or neg), and why any dot found under it was not used."""
    root = node.outputs[0]
    name = node.op.scalar_op.name
    if name in ("add", "sub"):
        x, y = node.inputs
        sign = -1.0 if name == "sub" else 1.0
        options = [(_term(x), 1.0, y, sign), (_term(y), sign, x, 1.0)]
    else:
        options = [(_term(root), 1.0, None, 0.0)]
    reasons: list[str] = []
    for term, dot_sign, other, other_sign in options:
        dot = term.base.owner
        if dot is None or not isinstance(dot.op, Dot):
            continue
        reason = _dot_refusal(fgraph, term, root)
        sides = [(0.0, None)] if other is None else _c_sides(fgraph, other, other_sign)
        for beta, c in ([] if reason else sides):
            built = _build(dot_sign * term.scale, beta, dot, c, root)
            if isinstance(built, Variable):
                return _Match(built, dot, _dropped(term, root)), []
            reason = built
        reasons.append(reason)
    if not reasons and name == "mul" and any(v.owner is not None and isinstance(v.owner.op, Dot) for v in node.inputs):
        reasons.append("the dot is multiplied by a value that is not a constant scalar")
    return None, reasons


def _shape_pairs(fgraph: FunctionGraph, match: _Match) -> list[tuple[Variable, Variable]]:
    """Shape queries of the values the Gemm replaces, answered from the dot's operands instead."""
    a, b = match.dot.inputs
    dims = ([(a, 0)] if a.ndim == 2 else []) + ([(b, 1)] if b.ndim == 2 else [])
    return [(node.outputs[0], ShapeI(dims[node.op.i][1])(dims[node.op.i][0]))
            for var in match.dropped for node, _ in fgraph.clients[var]
            if node != "output" and isinstance(node.op, ShapeI)]


ROOTS = ("add", "sub", "mul", "neg")


@register_pass("gemm", 48, ["gemm", "fast_run"])
def gemm(fgraph: FunctionGraph, record: PassRecord) -> int:
    """From the outputs back, so the largest expression around each dot is matched before its parts."""
    fired = 0
    alive = set(map(id, fgraph.apply_nodes))
    for node in reversed(fgraph.toposort()):
        if id(node) not in alive or not isinstance(node.op, Elemwise) or node.op.scalar_op.name not in ROOTS:
            continue
        match, reasons = _match(fgraph, node)
        for reason in reasons:
            record.note(f"{node.op} not made a Gemm: {reason}")
        if match is None:
            continue
        fgraph.replace_all([(node.outputs[0], match.gemm)] + _shape_pairs(fgraph, match), reason="gemm")
        alive = set(map(id, fgraph.apply_nodes))
        record.count("with C" if match.gemm.owner.op.beta else "scaled dot")
        fired += 1
    return fired
