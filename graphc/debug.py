"""Finding where generated code and numpy part ways.

``gc.function(..., mode="debug")`` compiles the optimized graph with every intermediate as an extra output, runs
it, and runs each node's numpy ``perform`` on the compiled inputs of that node: the first node whose compiled
result differs is named in a ``DebugError``, with the rewrite that created it. It then runs the function as it
is normally compiled (buffer reuse, in-place writes) and checks that its outputs are the debug run's.

``gc.bisect(inputs, outputs, values)`` compiles a graph normally and with each pass (then each node rewrite of
a guilty phase) excluded in turn, and names the passes whose exclusion makes the result numpy's again."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from graphc.graph.basic import Apply, Constant
from graphc.graph.fg import FunctionGraph

if TYPE_CHECKING:
    from graphc.function import Function


class DebugError(AssertionError):
    """Generated code computed something other than numpy: the message names the node and the pass that made it."""


def difference(got, want) -> str | None:
    """Why ``got`` is not ``want`` (None when equal): dtype, shape, then values; exact for integers and bools,
    NaN in the same places and a tolerance for floats (sums may run in another order)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"compiled {got.dtype}{got.shape}, numpy {want.dtype}{want.shape}"
    if want.dtype.kind == "f":
        rtol = 1e-4 if want.dtype == np.float32 else 1e-9
        with np.errstate(all="ignore"):
            bad = ~np.isclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        bad = got != want
    if not np.any(bad):
        return None
    first = tuple(np.argwhere(bad)[0]) if want.ndim else ()
    return (f"{int(np.sum(bad))} of {want.size} elements differ; first at {list(map(int, first))}: "
            f"compiled {got[first]!r}, numpy {want[first]!r}")


def describe(node: Apply) -> str:
    made = getattr(node, "created_by", None)
    inputs = ", ".join(f"{v!r}: {v.type}" for v in node.inputs)
    return f"{node.op}({inputs}), {f'created by rewrite {made!r}' if made else 'as written (no rewrite made it)'}"


class DebugProgram:
    """The C program of a debug-mode function (see the module docstring); ``run`` raises DebugError."""

    compiled = True

    def __init__(self, user_fgraph: FunctionGraph, fgraph: FunctionGraph, options: str):
        from graphc.backends.c import CProgram
        self.fgraph = fgraph
        self.order = fgraph.toposort()
        self.watched = [v for node in self.order for v in node.outputs]
        every = FunctionGraph(list(fgraph.inputs), list(fgraph.outputs) + self.watched)
        self.debug = CProgram(every, lambda: every, f"debug {options}")
        self.normal = CProgram(user_fgraph, lambda: fgraph, options)

    def run(self, values: list[np.ndarray], borrow: bool = False) -> list[np.ndarray]:
        n_out = len(self.fgraph.outputs)
        outs = self.debug.run(values)
        env = {id(v): x for v, x in zip(self.fgraph.inputs, values)}
        env.update({id(v): x for v, x in zip(self.watched, outs[n_out:])})
        for step, node in enumerate(self.order):
            args = [v.data if isinstance(v, Constant) else env[id(v)] for v in node.inputs]
            try:
                with np.errstate(all="ignore"):
                    expected = node.op.perform(node, args)
            except Exception as exc:
                raise DebugError(f"node {step} of {len(self.order)}, {describe(node)}: compiled code gave a result, "
                                 f"numpy raised {type(exc).__name__}: {exc}") from None
            for k, (var, want) in enumerate(zip(node.outputs, expected)):
                why = difference(env[id(var)], want)
                if why:
                    raise DebugError(f"node {step} of {len(self.order)}, {describe(node)}: output {k} differs from "
                                     f"numpy's: {why}")
        results = self.normal.run(values, borrow)
        for k, (got, want) in enumerate(zip(results, outs[:n_out])):
            why = difference(got, want)
            if why:
                raise DebugError(f"output {k}: every node agrees with numpy, but the function as normally compiled "
                                 f"(buffer reuse, in-place writes) gives another value: {why}")
        return results


@dataclass
class BisectResult:
    """What ``bisect`` found: the first output that differs with every pass on, and the rewrites to blame."""
    difference: str | None
    culprits: list[str] = field(default_factory=list)
    tried: dict[str, str | None] = field(default_factory=dict)    # excluded name -> remaining difference

    def __str__(self) -> str:
        if self.difference is None:
            return "the compiled function agrees with numpy on these values"
        lines = [f"with every pass: {self.difference}"]
        lines += [f"  without {name:<24} {'agrees with numpy' if why is None else 'still differs'}"
                  for name, why in self.tried.items()]
        blame = ", ".join(self.culprits) or "no single pass (the unoptimized graph differs too, or several passes)"
        return "\n".join(lines + [f"responsible: {blame}"])


def _call(f: "Function", values) -> list[np.ndarray]:
    """The outputs and the updated shared values of one call; the shared variables are left as they were."""
    saved = [(s, s.get_value()) for s in f.shared_inputs]
    try:
        got = f(*values)
        return ([got] if f.single_output else got) + [target.get_value() for target, _ in f.updates]
    finally:
        for s, value in saved:
            s.set_value(value)


def _first_difference(f: "Function", reference: list[np.ndarray], values) -> str | None:
    for k, (g, w) in enumerate(zip(_call(f, values), reference)):
        why = difference(g, w)
        if why:
            return f"{'output' if k < f.n_outputs else 'update'} {k if k < f.n_outputs else k - f.n_outputs}: {why}"
    return None


def bisect(inputs, outputs, values, updates=None, backend: str = "c") -> BisectResult:
    """Compile ``inputs -> outputs`` with every pass and with each pass excluded in turn, compare each with the
    numpy reference (the py backend without rewrites) on ``values``, and name the passes whose exclusion removes
    the difference. When a phase of node rewrites is to blame, its rewrites are tried one at a time too."""
    from graphc.function import function
    from graphc.rewrite import REGISTRY

    def build(**options):
        return function(inputs, outputs, updates=updates, backend=backend, **options)

    reference = _call(function(inputs, outputs, updates=updates, backend="py", mode="none"), values)
    result = BisectResult(_first_difference(build(), reference, values))
    if result.difference is None:
        return result
    for entry in REGISTRY.ordered():
        result.tried[entry.name] = _first_difference(build(exclude=[entry.name]), reference, values)
    guilty = [name for name, why in result.tried.items() if why is None]
    for phase in guilty:
        for rewrite in REGISTRY.members(phase):
            result.tried[rewrite.name] = _first_difference(build(exclude=[rewrite.name]), reference, values)
    result.culprits = [name for name, why in result.tried.items() if why is None]
    return result
