"""Which rewrites a compilation runs: a mode (a tag every pass of that pipeline carries) plus include/exclude."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from graphc.rewrite.registry import REGISTRY, GraphPass, NodeRewrite, Phase, Registry

MODES = ("fast_run", "fast_compile", "none")
TAGS = ("fast_run", "fast_compile", "prune", "merge", "canonicalize", "stability", "specialize",
        "fusion", "gemm", "inplace")
"""The tag vocabulary; passes that are not written yet (fusion, gemm, inplace) may already be named."""


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class RewriteOptions:
    """``mode`` picks the pipeline (``"none"`` runs nothing but what ``include`` names); ``include``/``exclude``
    add or remove single rewrites or whole tags by name. Exclusion wins."""

    mode: str = "fast_run"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def make(cls, mode: str | None = None, include=None, exclude=None,
             registry: Registry = REGISTRY) -> "RewriteOptions":
        mode = mode or "fast_run"
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
        options = cls(mode, _names(include), _names(exclude))
        known = registry.labels() | set(TAGS)
        unknown = sorted(set(options.include + options.exclude) - known)
        if unknown:
            raise ValueError(f"unknown rewrite or tag {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
        return options

    def selects(self, entry: GraphPass | NodeRewrite) -> bool:
        labels = entry.labels
        if labels & set(self.exclude):
            return False
        return self.mode in entry.tags or bool(labels & set(self.include))

    def phase_rewrites(self, phase: Phase, registry: Registry = REGISTRY) -> list[NodeRewrite]:
        """The phase's enabled node rewrites; a phase runs when it has any."""
        return [r for r in registry.members(phase.name) if self.selects(r)]

    def plan(self, registry: Registry = REGISTRY) -> list[tuple[GraphPass | Phase, list[NodeRewrite]]]:
        """The enabled pipeline, in order: each pass (with, for a phase, its enabled rewrites)."""
        out: list[tuple[GraphPass | Phase, list[NodeRewrite]]] = []
        for entry in registry.ordered():
            if isinstance(entry, Phase):
                rewrites = self.phase_rewrites(entry, registry)
                if rewrites:
                    out.append((entry, rewrites))
            elif self.selects(entry):
                out.append((entry, []))
        return out

    def __str__(self) -> str:
        text = self.mode
        for word, names in (("include", self.include), ("exclude", self.exclude)):
            text += f", {word} {', '.join(names)}" if names else ""
        return text

    def key(self, registry: Registry = REGISTRY) -> str:
        """The enabled pipeline as text, for cache keys: two option sets that run the same rewrites share it."""
        parts = [entry.name + (f"[{','.join(r.name for r in rewrites)}]" if rewrites else "")
                 for entry, rewrites in self.plan(registry)]
        return "rewrites " + " ".join(parts)
