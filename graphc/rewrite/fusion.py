"""Elementwise fusion: maximal connected groups of Elemwise nodes become one FusedElemwise, one loop in C.

Groups grow from a root (the last node of the group in the schedule) towards its inputs. A producer joins when
it is elementwise, has the root's rank without broadcasting into it (a broadcast producer would be recomputed for
every element of the larger loop), and joining keeps the group convex (no path leaves the group and comes back,
which would make the fused node depend on itself). A member whose value is also needed outside the group becomes
an extra output of the fused node. Why a candidate stayed out is noted in the report."""
from __future__ import annotations

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import Elemwise
from graphc.ops.fused import Composite, FusedElemwise, FusedReduce, Step
from graphc.ops.reduce import Reduce
from graphc.rewrite.registry import register_pass
from graphc.rewrite.report import PassRecord

MAX_INPUTS = 24
MAX_STEPS = 64


class _Group:
    """A growing fusion group and the bit masks that make the convexity test cheap."""

    def __init__(self, root: Apply, position: dict[int, int], ancestors: dict[int, int]):
        self.root = root
        self.nodes = [root]
        self.position = position
        self.ancestors = ancestors
        self.mask = 1 << position[id(root)]

    def member(self, node: Apply | None) -> bool:
        return node is not None and bool(self.mask >> self.position[id(node)] & 1)

    def externals(self, nodes: list[Apply]) -> list[Variable]:
        ids = {id(n) for n in nodes}
        seen: dict[int, Variable] = {}
        for node in sorted(nodes, key=lambda n: self.position[id(n)]):
            for var in node.inputs:
                if var.owner is None or id(var.owner) not in ids:
                    seen.setdefault(id(var), var)
        return list(seen.values())

    def refusal(self, candidate: Apply, fgraph: FunctionGraph) -> str | None:
        """Why ``candidate`` may not join, or None if it may."""
        out, root_out = candidate.outputs[0], self.root.outputs[0]
        if out.ndim != root_out.ndim or any(s == 1 and r != 1 for s, r in zip(out.type.shape, root_out.type.shape)):
            return f"{candidate.op} broadcasts into the group (joining would recompute it per element)"
        nodes = self.nodes + [candidate]
        mask = self.mask | 1 << self.position[id(candidate)]
        externals = self.externals(nodes)
        if any(v.owner is not None and self.ancestors[id(v.owner)] & mask for v in externals):
            return f"{candidate.op} would make the group depend on itself through an outside node"
        if len([v for v in externals if not (isinstance(v, Constant) and v.ndim == 0)]) > MAX_INPUTS:
            return f"{candidate.op}: the group would read more than {MAX_INPUTS} arrays"
        if len(nodes) > MAX_STEPS:
            return f"{candidate.op}: the group already has {MAX_STEPS} steps"
        return None

    def add(self, node: Apply) -> None:
        self.nodes.append(node)
        self.mask |= 1 << self.position[id(node)]


def _schedule_masks(order: list[Apply]) -> tuple[dict[int, int], dict[int, int]]:
    """Each node's place in the schedule, and the bit mask of all nodes it depends on."""
    position = {id(n): k for k, n in enumerate(order)}
    ancestors: dict[int, int] = {}
    for node in order:
        mask = 0
        for var in node.inputs:
            if var.owner is not None:
                mask |= ancestors[id(var.owner)] | 1 << position[id(var.owner)]
        ancestors[id(node)] = mask
    return position, ancestors


def _grow(root: Apply, fgraph: FunctionGraph, taken: set[int], position, ancestors,
          record: PassRecord) -> _Group:
    group = _Group(root, position, ancestors)
    frontier = [v.owner for v in root.inputs if v.owner is not None]
    while frontier:
        candidate = frontier.pop(0)
        if group.member(candidate) or id(candidate) in taken:
            continue
        if not isinstance(candidate.op, Elemwise):
            continue
        reason = group.refusal(candidate, fgraph)
        if reason:
            record.note(f"not fused into {root.op}: {reason}")
            continue
        group.add(candidate)
        frontier.extend(v.owner for v in candidate.inputs if v.owner is not None)
    return group


def _fused_node(group: _Group, fgraph: FunctionGraph) -> tuple[Apply, list[Variable]]:
    """The FusedElemwise node for a group, and the member outputs it replaces (in its output order)."""
    nodes = sorted(group.nodes, key=lambda n: group.position[id(n)])
    ids = {id(n) for n in nodes}
    externals = group.externals(nodes)
    refs: dict[int, int] = {id(v): k for k, v in enumerate(externals)}
    steps = []
    for node in nodes:
        op = node.op.scalar_op
        loop, dtype = op.loop_dtypes([v.dtype for v in node.inputs])
        steps.append(Step(op, tuple(refs[id(v)] for v in node.inputs), tuple(loop), dtype))
        refs[id(node.outputs[0])] = len(externals) + len(steps) - 1
    exported = [n.outputs[0] for n in nodes
                if any(c == "output" or id(c) not in ids for c, _ in fgraph.clients[n.outputs[0]])]
    composite = Composite(tuple(v.dtype for v in externals), tuple(steps), tuple(refs[id(v)] for v in exported))
    return FusedElemwise(composite).make_node(*externals), exported


MAX_RECOMPUTED = 4


def _private_chain(value: Variable, fgraph: FunctionGraph) -> list[Apply]:
    """The elementwise nodes computing ``value`` that a reduction could recompute as it reads: ``value``'s producer
    and, towards the inputs, producers of the same shape read by nothing else (at most MAX_RECOMPUTED nodes)."""
    chain: list[Apply] = []
    frontier = [value.owner]
    while frontier:
        node = frontier.pop(0)
        if node is None or not isinstance(node.op, Elemwise) or len(chain) == MAX_RECOMPUTED:
            continue
        out = node.outputs[0]
        if out.ndim != value.ndim or any(s == 1 and r != 1 for s, r in zip(out.type.shape, value.type.shape)):
            continue
        if chain and len(fgraph.clients[out]) != 1:
            continue
        chain.append(node)
        frontier.extend(v.owner for v in node.inputs)
    return chain


@register_pass("recompute_for_reductions", 49, ["fusion", "fast_run"])
def recompute_for_reductions(fgraph: FunctionGraph, record: PassRecord) -> int:
    """A reduction of an elementwise result that is also read elsewhere gets its own copy of the few elementwise
    nodes computing it, so that fusion_reduce computes them inside the reduction and the other readers fuse with
    the originals. Softmax, ``e = exp(x - m); e / sum(e)``, then reads x twice instead of writing e and reading it
    twice: recomputing exp costs less than an array's trip through memory. Runs after the last merge, which would
    undo it."""
    pairs: list[tuple[Variable, Variable]] = []
    for node in fgraph.toposort():
        if not isinstance(node.op, Reduce) or len(fgraph.clients[node.inputs[0]]) < 2:
            continue
        chain = _private_chain(node.inputs[0], fgraph)
        if not chain:
            continue
        copies: dict[int, Variable] = {}
        for member in reversed(chain):    # inputs first
            inputs = [copies.get(id(v), v) for v in member.inputs]
            copies[id(member.outputs[0])] = member.clone_with_new_inputs(inputs).outputs[0]
        copy = node.clone_with_new_inputs([copies[id(node.inputs[0])]]).outputs[0]
        if copy.type != node.outputs[0].type:
            continue
        pairs.append((node.outputs[0], copy))
        record.count("elementwise nodes recomputed", len(chain))
    if pairs:
        fgraph.replace_all(pairs, reason="recompute_for_reductions")
    return len(pairs)


@register_pass("fusion", 50, ["fusion", "fast_run"])
def fuse_elementwise(fgraph: FunctionGraph, record: PassRecord) -> int:
    order = fgraph.toposort()
    position, ancestors = _schedule_masks(order)
    taken: set[int] = set()
    pairs: list[tuple[Variable, Variable]] = []
    fused = 0
    for root in reversed(order):
        if id(root) in taken or not isinstance(root.op, Elemwise):
            continue
        group = _grow(root, fgraph, taken, position, ancestors, record)
        if len(group.nodes) < 2:
            continue
        node, exported = _fused_node(group, fgraph)
        if any(new.type != old.type for new, old in zip(node.outputs, exported)):
            record.note(f"group ending in {root.op} not fused: its fused types differ from the originals")
            continue
        taken.update(id(n) for n in group.nodes)
        for old, new in zip(exported, node.outputs):
            new.name = new.name or old.name     # a name the user gave stays visible in dprint
        pairs.extend(zip(exported, node.outputs))
        fused += 1
        record.count("groups")
        record.count("ops fused", len(group.nodes))
    if pairs:
        fgraph.replace_all(pairs, reason="fusion")
    return fused


@register_pass("fusion_reduce", 51, ["fusion", "fast_run"])
def fuse_into_reductions(fgraph: FunctionGraph, record: PassRecord) -> int:
    """A reduction of an elementwise result that nothing else reads computes that result as it reduces, so the
    intermediate array is never written (``sum(exp(x - m))``)."""
    pairs: list[tuple[Variable, Variable]] = []
    for node in fgraph.toposort():
        if not isinstance(node.op, Reduce):
            continue
        value = node.inputs[0]
        producer = value.owner
        if producer is None or not isinstance(producer.op, (Elemwise, FusedElemwise)) or len(producer.outputs) != 1:
            continue
        if len(fgraph.clients[value]) != 1:
            record.note(f"{node.op} not fused with {producer.op}: its result is also read elsewhere")
            continue
        composite = (producer.op.composite if isinstance(producer.op, FusedElemwise)
                     else Composite.of_elemwise(producer))
        fused = FusedReduce(node.op, composite).make_node(*producer.inputs).outputs[0]
        if fused.type != node.outputs[0].type:
            continue
        pairs.append((node.outputs[0], fused))
        record.count("reductions fused")
    if pairs:
        fgraph.replace_all(pairs, reason="fusion_reduce")
    return len(pairs)
