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
    """The best per-call time over at least ``repeat`` rounds, and over as many more as fit in ``min_seconds``:
    on a shared machine the fastest round is the one nothing else interrupted, so short rounds and many of them
    find it. A round makes enough calls to last a millisecond, so fast calls are timed in batches."""
    fn()

    def round_(calls: int) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return time.perf_counter() - start

    calls = 1
    while (elapsed := round_(calls)) < 1e-3 and calls < 1 << 20:
        calls *= 2
    best, rounds = elapsed / calls, 1
    deadline = time.perf_counter() + min_seconds
    while rounds < repeat or time.perf_counter() < deadline:
        best = min(best, round_(calls) / calls)
        rounds += 1
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
