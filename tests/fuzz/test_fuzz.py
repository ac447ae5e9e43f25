"""The fuzzer's short run in the test suite: fixed seeds, time-boxed (GRAPHC_FUZZ_SECONDS, default 45 s).
``make fuzz`` runs it long."""
import os
import time

from tests.fuzz.check import Tally
from tests.fuzz.run import run_batches, summary


def test_short_fuzz_run_finds_nothing():
    budget = float(os.environ.get("GRAPHC_FUZZ_SECONDS", "45"))
    tally, start = Tally(), time.monotonic()
    run_batches(20, 24, 6, 0, lambda k, part: tally.add(part), deadline=start + budget, derandomize=True)
    print(summary(tally, time.monotonic() - start))
    assert tally.graphs >= 30
    assert not tally.failures, "\n\n".join(f.report() for f in tally.failures[:5])
