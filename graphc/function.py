"""The compiled callable: argument checking, outputs, and simultaneous, atomic shared-variable updates."""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Sequence

import numpy as np

from graphc.config import config
from graphc.graph.basic import Constant, SharedVariable, Variable, ancestors
from graphc.graph.fg import FunctionGraph
from graphc.graph.clone import clone_graph

if TYPE_CHECKING:
    from graphc.rewrite.report import RewriteReport

BACKENDS = ("c", "cuda", "py")


def _normalize_updates(updates) -> list[tuple[SharedVariable, Variable]]:
    from graphc.ops.convert import as_tensor
    from graphc.ops.elemwise import cast
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates or [])
    seen: set[int] = set()
    out = []
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"each update must be a (shared_variable, new_value) pair, got {pair!r}")
        target, expr = pair
        if not isinstance(target, SharedVariable):
            raise TypeError(f"update target {target!r} is not a shared variable (make it with gc.shared)")
        if id(target) in seen:
            raise ValueError(f"shared variable {target!r} is updated twice")
        seen.add(id(target))
        expr = as_tensor(expr)
        if expr.ndim != target.ndim:
            raise TypeError(f"update of {target!r}: new value has {expr.ndim} dims ({expr.type}), "
                            f"the shared variable has {target.ndim} ({target.type})")
        if expr.dtype != target.dtype:
            if not np.can_cast(expr.dtype, target.dtype, "same_kind"):
                raise TypeError(f"update of {target!r}: new value has dtype {expr.dtype}, the shared variable "
                                f"{target.dtype}; cast it explicitly")
            expr = cast(expr, target.dtype)
        out.append((target, expr))
    return out


class Function:
    """A compiled graph. Call it with the explicit inputs' values; it returns the outputs (an array for a single
    output, a list for a list) and applies the updates to shared variables, all at once, only if the call succeeds."""

    def __init__(self, inputs: Sequence[Variable], outputs, updates=None, backend: str | None = None,
                 borrow: bool = False, name: str | None = None, mode: str | None = None, include=None, exclude=None,
                 outputs_on: str = "device"):
        from graphc.rewrite import RewriteOptions
        backend = backend or config.backend
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        self.debug = mode == "debug"
        if self.debug and backend != "c":
            raise ValueError("mode='debug' checks generated C against numpy's perform; use it with backend='c'")
        self.rewrite_options = RewriteOptions.make("fast_run" if self.debug else mode, include, exclude)
        self.name = name
        self.backend = backend
        self.borrow = borrow
        self.trust_input = False
        self.single_output = isinstance(outputs, Variable)
        user_outputs = [] if outputs is None else [outputs] if self.single_output else list(outputs)
        from graphc.ops.convert import as_tensor
        user_outputs = [as_tensor(o) for o in user_outputs]
        self.inputs = self._check_inputs(inputs)
        self.updates = _normalize_updates(updates)
        roots = user_outputs + [e for _, e in self.updates]
        explicit = set(map(id, self.inputs))
        implicit = [v for v in ancestors(roots) if isinstance(v, SharedVariable) and id(v) not in explicit]
        for target, _ in self.updates:
            if id(target) not in {id(v) for v in implicit} and id(target) not in explicit:
                implicit.append(target)
        self.shared_inputs: list[SharedVariable] = implicit
        self.n_outputs = len(user_outputs)
        self.user_fgraph = FunctionGraph(self.inputs + implicit, roots)
        self._update_positions = [self.shared_inputs.index(t) if t in self.shared_inputs else None
                                  for t, _ in self.updates]
        self._input_names = [v.name or f"#{i}" for i, v in enumerate(self.inputs)]
        if outputs_on not in ("device", "host"):
            raise ValueError(f"outputs_on must be 'device' or 'host', got {outputs_on!r}")
        self.outputs_on = outputs_on
        self.program = self._build_program()
        # the C backend's call extension checks and converts arguments itself (in C, so trust_input gains nothing)
        self._checked_in_c = backend == "c" and not self.debug
        self._filters = ([self.program.filter(v) for v in self.inputs] if backend == "cuda"
                         else [v.type.filter for v in self.inputs])

    @staticmethod
    def _check_inputs(inputs) -> list[Variable]:
        if isinstance(inputs, Variable):
            raise TypeError("function inputs must be a list of variables, e.g. gc.function([x], ...)")
        inputs = list(inputs)
        for i, v in enumerate(inputs):
            if not isinstance(v, Variable):
                raise TypeError(f"input {i} is {type(v).__name__}, not a symbolic variable")
            if isinstance(v, Constant) or isinstance(v, SharedVariable):
                raise TypeError(f"input {v!r} is a {type(v).__name__}; only free symbolic variables can be inputs")
            if v.owner is not None:
                raise TypeError(f"input {v!r} is computed by {v.owner.op}; inputs must be free variables")
        if len({id(v) for v in inputs}) != len(inputs):
            raise ValueError("the same variable appears twice in the inputs")
        return inputs

    @cached_property
    def _optimized(self):
        """A copy of the user's graph, rewritten: made on first use, so a C cache hit never rewrites."""
        from graphc.rewrite import optimize
        fgraph = FunctionGraph(*clone_graph(self.user_fgraph.inputs, self.user_fgraph.outputs))
        return fgraph, optimize(fgraph, self.rewrite_options)

    @property
    def fgraph(self) -> FunctionGraph:
        """The optimized graph this function runs (what ``gc.dprint(f)`` shows)."""
        return self._optimized[0]

    def report(self) -> "RewriteReport":
        """What the rewrites did: each pass, how often it fired, node counts before/after, time."""
        return self._optimized[1]

    def _build_program(self):
        if self.backend == "py":
            from graphc.backends.py import PyProgram
            return PyProgram(self.fgraph)
        if self.backend == "cuda":
            from graphc.backends.cuda import CudaProgram
            return CudaProgram(self.user_fgraph, lambda: self.fgraph, self.rewrite_options.key(), self.n_outputs,
                               self.outputs_on)
        if self.debug:
            from graphc.debug import DebugProgram
            return DebugProgram(self.user_fgraph, self.fgraph, self.rewrite_options.key())
        from graphc.backends.c import CProgram
        filters = [v.type.filter for v in self.inputs] + [None] * len(self.shared_inputs)
        return CProgram(self.user_fgraph, lambda: self.fgraph, self.rewrite_options.key(), filters)

    def __call__(self, *args, **kwargs):
        if kwargs:
            args = self._merge_keywords(args, kwargs)
        if len(args) != len(self.inputs):
            raise TypeError(f"this function takes {len(self.inputs)} input(s) "
                            f"({', '.join(self._input_names)}), got {len(args)}")
        if self._checked_in_c:
            results = self.program.run(args, self.borrow, self._shared_values() if self.shared_inputs else None)
        else:
            values = list(args) if self.trust_input else [f(a, n) for f, a, n in zip(self._filters, args,
                                                                                      self._input_names)]
            if self.shared_inputs:
                values += self._shared_values()
            results = self.program.run(values, self.borrow)
        if self.updates:
            for (target, _), value in zip(self.updates, results[self.n_outputs:]):
                target._value = value
            results = results[:self.n_outputs]
        return results[0] if self.single_output else results

    def _shared_values(self) -> list:
        """The shared variables' current values where this backend reads them: a CUDA function keeps them on the
        device; the others move a value a CUDA function left there back to the host."""
        if self.backend == "cuda":
            return self.program.resident(self.shared_inputs)
        for s in self.shared_inputs:
            if type(s._value) is not np.ndarray:
                s._value = s.get_value()
        return [s._value for s in self.shared_inputs]

    def _merge_keywords(self, args, kwargs) -> tuple:
        values = list(args) + [None] * (len(self.inputs) - len(args))
        names = {v.name: i for i, v in enumerate(self.inputs) if v.name}
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"unknown input name {key!r}; inputs are {', '.join(self._input_names)}")
            if names[key] < len(args):
                raise TypeError(f"input {key!r} given twice")
            values[names[key]] = value
        missing = [self._input_names[i] for i, v in enumerate(values) if v is None]
        if missing:
            raise TypeError(f"missing input(s): {', '.join(missing)}")
        return tuple(values)

    def __repr__(self) -> str:
        return f"<graphc.Function {self.name or ''} backend={self.backend} {self.fgraph}>"


def function(inputs, outputs=None, updates=None, backend: str | None = None, borrow: bool = False,
             name: str | None = None, mode: str | None = None, include=None, exclude=None,
             outputs_on: str = "device") -> Function:
    """Compile ``inputs -> outputs`` (with ``updates`` to shared variables) into a callable.

    ``mode`` picks the rewrite pipeline: "fast_run" (default), "fast_compile" (cheap passes) or "none";
    "debug" runs fast_run's graph compiled and each node through numpy, and names the first node that differs;
    ``include``/``exclude`` switch single rewrites or tags on or off by name (e.g. ``exclude=["stability"]``).
    ``backend="cuda"`` returns device arrays, or numpy arrays with ``outputs_on="host"``."""
    return Function(inputs, outputs, updates=updates, backend=backend, borrow=borrow, name=name, mode=mode,
                    include=include, exclude=exclude, outputs_on=outputs_on)
