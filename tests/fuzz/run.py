"""Driving the fuzzer with hypothesis: each example is a batch (program seeds for value programs and gradient
programs); each batch runs on numpy, py, c and c with one rewrite excluded (in turn, so a long run excludes each
of them many times)."""
from __future__ import annotations

import time
from typing import Callable

from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from tests.fuzz.check import C, PY, Tally, check_batch, exclusion_configs
from tests.fuzz.programs import generate

SEEDS = st.integers(0, 2**63 - 1)


def _salted(drawn: int, salt: int) -> int:
    """A program seed from a drawn one: hypothesis starts every run with the same simple draws (0, 1, ...), and
    runs with different master seeds must not repeat each other's programs."""
    return (drawn ^ (salt * 0x9E3779B97F4A7C15)) % 2**63


def run_batches(n_batches: int, batch: int, gradient_batch: int, master_seed: int,
                on_batch: Callable[[int, Tally], None], deadline: float | None = None,
                derandomize: bool = False) -> None:
    """Draws ``n_batches`` batches with hypothesis (reproducibly from ``master_seed``), checks each and hands its
    tally to ``on_batch``. Stops drawing new batches after ``deadline`` (time.monotonic())."""
    exclusions = exclusion_configs()
    counter = iter(range(n_batches))

    @settings(max_examples=n_batches, deadline=None, database=None, derandomize=derandomize,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @seed(master_seed)
    @given(st.lists(SEEDS, min_size=batch, max_size=batch, unique=True),
           st.lists(SEEDS, min_size=gradient_batch, max_size=gradient_batch, unique=True))
    def explore(seeds: list[int], gradient_seeds: list[int]) -> None:
        k = next(counter, None)
        if k is None or (deadline is not None and time.monotonic() > deadline):
            return
        programs = [generate(_salted(s, master_seed)) for s in seeds]
        gradient_programs = [generate(_salted(s, master_seed), smooth=True) for s in gradient_seeds]
        on_batch(k, check_batch(programs, gradient_programs, [PY, C, exclusions[k % len(exclusions)]]))

    explore()


def summary(tally: Tally, seconds: float) -> str:
    lines = [f"graphs: {tally.graphs} ({tally.gradient_graphs} with gradients checked) in {seconds:.0f} s",
             f"mismatches: {tally.count('mismatch')}  crashes: {tally.count('crash')}  "
             f"type-rule differences: {tally.count('type')}  gradient mismatches: {tally.count('gradient')}"]
    if tally.refusals:
        lines.append("refusals (graphc raised where numpy has an answer; the step was redrawn):")
        lines += [f"  {n:6d}  {r}" for r, n in sorted(tally.refusals.items(), key=lambda x: -x[1])[:25]]
    return "\n".join(lines)
