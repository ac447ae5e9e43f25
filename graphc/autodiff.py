"""Reverse-mode automatic differentiation over the graph: each Op supplies its own ``grad``."""
from __future__ import annotations

from graphc.graph.basic import Variable, toposort
from graphc.ops.convert import as_tensor

FLOAT_DTYPES = ("float32", "float64")


class DisconnectedInputError(ValueError):
    """Raised when the cost does not depend on a variable the gradient was asked for."""


def grad(cost: Variable, wrt, consider_constant=None, disconnected_inputs: str = "raise"):
    """Symbolic gradient of a scalar ``cost`` with respect to ``wrt`` (a variable, or a list of them).

    ``consider_constant`` lists variables through which no gradient flows. ``disconnected_inputs`` is
    "raise" (default, as in Theano) or "ignore" (a zero gradient is returned)."""
    if disconnected_inputs not in ("raise", "ignore"):
        raise ValueError("disconnected_inputs must be 'raise' or 'ignore'")
    cost = as_tensor(cost)
    if cost.ndim != 0:
        raise TypeError(f"grad needs a scalar cost; got {cost!r} with type {cost.type}: reduce it first "
                        f"(e.g. cost.sum() or cost.mean())")
    if cost.dtype not in FLOAT_DTYPES:
        raise TypeError(f"grad needs a float cost; got dtype {cost.dtype}")
    single = isinstance(wrt, Variable)
    targets = [wrt] if single else list(wrt)
    for w in targets:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must hold symbolic variables, got {type(w).__name__}")
        if w.dtype not in FLOAT_DTYPES:
            raise TypeError(f"grad: cannot differentiate with respect to {w!r}, which has integer/bool dtype "
                            f"{w.dtype}; gradients exist only for float32/float64 variables")
    blocked = {id(v) for v in (consider_constant or [])}
    nodes = toposort([cost])
    # Forward reachability: only nodes on a path from some wrt variable to the cost get differentiated.
    reaches: set[int] = {id(w) for w in targets}
    for node in nodes:
        if any(id(i) in reaches and id(i) not in blocked for i in node.inputs):
            reaches.update(id(o) for o in node.outputs)
    from graphc.ops.shape import ones_like
    contributions: dict[int, list[Variable]] = {id(cost): [ones_like(cost)]}
    _backprop(nodes, reaches, blocked, contributions, stabilize=True)
    results = []
    for w in targets:
        g = _total(contributions.get(id(w)))
        if g is None:
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(
                    f"the cost does not depend on {w!r}; pass disconnected_inputs='ignore' to get zeros")
            from graphc.ops.shape import zeros_like
            g = zeros_like(w)
        results.append(g)
    return results[0] if single else results


def _backprop(nodes, reaches: set[int], blocked: set[int], contributions: dict[int, list[Variable]],
              stabilize: bool) -> None:
    """Reverse walk over ``nodes`` (in topological order), adding each input's gradient to ``contributions``.

    With ``stabilize``, a node that the stabilize rewrites would replace (log(sigmoid(x)), log(softmax), ...) is
    differentiated in its stable form instead: the naive chain rule divides by a value that underflowed
    (d log(s)/ds = 1/s with s = sigmoid(-100) in float32 is inf), while the stable form's gradient is finite."""
    for node in reversed(nodes):
        if not any(id(o) in reaches for o in node.outputs):
            continue
        output_grads = [_total(contributions.get(id(o))) for o in node.outputs]
        if all(g is None for g in output_grads):
            continue
        form = _stable_form(node) if stabilize else None
        if form is not None:
            known = {id(n) for n in nodes}
            new_nodes = [n for n in toposort([form]) if id(n) not in known]
            for n in new_nodes:
                if any(id(i) in reaches and id(i) not in blocked for i in n.inputs):
                    reaches.update(id(o) for o in n.outputs)
            contributions[id(form)] = [output_grads[0]]
            _backprop(new_nodes, reaches, blocked, contributions, stabilize=False)
            continue
        input_grads = node.op.grad(node.inputs, node.outputs, output_grads)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(f"{node.op}.grad returned {len(input_grads)} gradients for {len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, input_grads):
            if g is None or id(inp) not in reaches or id(inp) in blocked:
                continue
            if g.ndim != inp.ndim:
                raise RuntimeError(f"{node.op}.grad gave rank {g.ndim} for an input of rank {inp.ndim}")
            if g.dtype != inp.dtype:
                from graphc.ops.elemwise import cast
                g = cast(g, inp.dtype)
            contributions.setdefault(id(inp), []).append(g)


def _stable_form(node) -> Variable | None:
    """What the stabilize rewrites would put in place of ``node``'s single output (None: nothing)."""
    if len(node.outputs) != 1:
        return None
    import graphc.rewrite  # noqa: F401  (registers the rewrites)
    from graphc.rewrite.registry import REGISTRY, node_keys
    keys = set(node_keys(node))
    for rewrite in REGISTRY.members("stabilize"):
        if rewrite.tracks and not keys & set(rewrite.tracks):
            continue
        replacement = rewrite(None, node)
        if replacement:
            return replacement[0]
    return None


def _total(parts: list[Variable] | None) -> Variable | None:
    if not parts:
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total
