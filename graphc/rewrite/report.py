"""What the rewrites did to one compilation: per pass, how often it fired, node counts before/after, time, notes.

Printed by ``gc.optimization_report(f)`` or ``print(f.report())``; the text is deterministic except for times."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from graphc.function import Function


def mark_created(nodes, known: set[int], by: str) -> None:
    """Record on each node not in ``known`` (ids of the nodes that existed before) the rewrite that made it, as
    ``node.created_by``, so a debugging run can say which pass built a node that computes a wrong value. Nodes
    without it were written by the user."""
    for node in nodes:
        if id(node) not in known and not hasattr(node, "created_by"):
            node.created_by = by


@dataclass
class PassRecord:
    """One pass of the pipeline; a phase also counts each of its node rewrites."""

    name: str
    nodes_before: int = 0
    nodes_after: int = 0
    seconds: float = 0.0
    fired: int = 0
    by_rewrite: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def count(self, rewrite: str, times: int = 1) -> None:
        self.by_rewrite[rewrite] += times

    def note(self, text: str) -> None:
        """Something a reader of the report should know (a bound hit, an input nothing uses, ...)."""
        self.notes.append(text)


@dataclass
class RewriteReport:
    options: str
    nodes_before: int
    records: list[PassRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def nodes_after(self) -> int:
        return self.records[-1].nodes_after if self.records else self.nodes_before

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def fired(self, name: str) -> int:
        """How often the pass or node rewrite ``name`` fired (0 if it did not run)."""
        return sum(r.fired if r.name == name else r.by_rewrite.get(name, 0) for r in self.records)

    def __str__(self) -> str:
        lines = [f"rewrites ({self.options}): {self.nodes_before} -> {self.nodes_after} nodes "
                 f"in {self.seconds * 1e3:.1f} ms",
                 f"  {'pass':<26}{'fired':>6}   {'nodes':>13}   {'time':>9}"]
        for r in self.records:
            nodes = f"{r.nodes_before} -> {r.nodes_after}"
            lines.append(f"  {r.name:<26}{r.fired:>6}   {nodes:>13}   {r.seconds * 1e3:>6.2f} ms")
            lines += [f"    {name:<24}{n:>6}" for name, n in sorted(r.by_rewrite.items())]
            lines += [f"    note: {text}" for text in r.notes]
        if self.skipped:
            lines.append(f"  off: {', '.join(self.skipped)}")
        return "\n".join(lines) + "\n"

    __repr__ = __str__


def optimization_report(f: "Function", file: TextIO | str | None = None) -> str | None:
    """Print the rewrite report of compiled function ``f`` (``file="str"`` returns the text instead)."""
    text = str(f.report())
    if file == "str":
        return text
    (sys.stdout if file is None else file).write(text)
    return None
