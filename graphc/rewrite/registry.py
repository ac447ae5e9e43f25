"""The database of rewrites: named, tagged entries in one ordered pipeline, so any of them can be switched off by
name or tag while debugging (PyTensor's optdb, reduced to what graphc needs).

Two kinds of pipeline entries, both ordered by ``position``:

- a ``GraphPass``: a function ``(fgraph, record) -> int`` (how often it changed the graph) that sees the whole
  graph, e.g. merging or, later, fusion and the memory plan;
- a ``Phase``: a group of ``NodeRewrite``s applied together to a fixed point. A node rewrite is a function
  ``(fgraph, node) -> list of replacement variables (one per output) or None``; it names the ops it looks at
  (``tracks``) so the driver only calls it on those nodes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from graphc.graph.basic import Apply, Variable
from graphc.graph.fg import FunctionGraph

if TYPE_CHECKING:
    from graphc.rewrite.report import PassRecord

NodeFn = Callable[[FunctionGraph, Apply], "list[Variable] | None"]
PassFn = Callable[[FunctionGraph, "PassRecord"], int]


def node_keys(node: Apply) -> tuple:
    """What a node can be tracked by: its op class, and for an Elemwise also its scalar op's name."""
    scalar = getattr(node.op, "scalar_op", None)
    return (type(node.op),) if scalar is None else (type(node.op), scalar.name)


@dataclass(frozen=True)
class NodeRewrite:
    """One local pattern rewrite. ``tracks``: op classes and/or Elemwise scalar-op names; empty means every node."""

    name: str
    phase: str
    tags: frozenset[str]
    tracks: tuple
    fn: NodeFn

    @property
    def labels(self) -> frozenset[str]:
        return self.tags | {self.name, self.phase}

    def __call__(self, fgraph: FunctionGraph, node: Apply) -> list[Variable] | None:
        return self.fn(fgraph, node)


@dataclass(frozen=True)
class GraphPass:
    name: str
    position: float
    tags: frozenset[str]
    fn: PassFn

    @property
    def labels(self) -> frozenset[str]:
        return self.tags | {self.name}


@dataclass(frozen=True)
class Phase:
    """A pipeline slot whose work is the enabled node rewrites registered under its name."""

    name: str
    position: float

    @property
    def labels(self) -> frozenset[str]:
        return frozenset({self.name})


@dataclass
class Registry:
    entries: dict[str, GraphPass | Phase] = field(default_factory=dict)
    node_rewrites: dict[str, NodeRewrite] = field(default_factory=dict)

    def _claim(self, name: str) -> None:
        if name in self.entries or name in self.node_rewrites:
            raise ValueError(f"a rewrite named {name!r} is already registered")

    def add_pass(self, name: str, position: float, tags: Iterable[str]) -> Callable[[PassFn], PassFn]:
        def wrap(fn: PassFn) -> PassFn:
            self._claim(name)
            self.entries[name] = GraphPass(name, position, frozenset(tags), fn)
            return fn
        return wrap

    def add_phase(self, name: str, position: float) -> None:
        self._claim(name)
        self.entries[name] = Phase(name, position)

    def add_node_rewrite(self, name: str, phase: str, tags: Iterable[str],
                         tracks: Iterable = ()) -> Callable[[NodeFn], NodeRewrite]:
        def wrap(fn: NodeFn) -> NodeRewrite:
            self._claim(name)
            rewrite = NodeRewrite(name, phase, frozenset(tags), tuple(tracks), fn)
            self.node_rewrites[name] = rewrite
            return rewrite
        return wrap

    def ordered(self) -> list[GraphPass | Phase]:
        """Pipeline entries by position (ties keep registration order)."""
        return sorted(self.entries.values(), key=lambda e: e.position)

    def members(self, phase: str) -> list[NodeRewrite]:
        return [r for r in self.node_rewrites.values() if r.phase == phase]

    def labels(self) -> set[str]:
        """Every name and tag that include/exclude may mention."""
        return set().union(*(e.labels for e in [*self.entries.values(), *self.node_rewrites.values()]))


REGISTRY = Registry()
register_pass = REGISTRY.add_pass
register_phase = REGISTRY.add_phase
node_rewrite = REGISTRY.add_node_rewrite
