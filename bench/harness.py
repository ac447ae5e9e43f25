"""Side-by-side timing for the benchmark scripts: best-of-N wall time per candidate, printed as a table of
ratios against a baseline measured in the same run."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Timing:
    name: str
    seconds: float
    extra: str = ""


def best_time(fn: Callable[[], object], repeat: int = 7, min_seconds: float = 0.2) -> float:
    """The best per-call time over ``repeat`` rounds, each long enough to be measurable."""
    fn()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start >= min_seconds / repeat or calls >= 1 << 20:
            break
        calls *= 2
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def table(title: str, rows: list[Timing], baseline: str) -> str:
    base = next(r.seconds for r in rows if r.name == baseline)
    lines = [title, f"  {'candidate':<40}{'time':>12}{'vs ' + baseline:>22}  note"]
    for r in rows:
        lines.append(f"  {r.name:<40}{_fmt(r.seconds):>12}{base / r.seconds:>21.2f}x  {r.extra}")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.2f} us"
