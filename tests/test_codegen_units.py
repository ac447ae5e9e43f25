"""A large graph's C is split into translation units compiled in parallel; the result is the single unit's."""
import numpy as np
import pytest

import graphc as gc
from graphc.backends import c as c_backend
from graphc.codegen.c import generate, generate_units


def _many_kernels():
    x, y = gc.fmatrix("x"), gc.fvector("y")
    outs = [gc.tanh(x * k + y).sum(axis=k % 2) for k in range(1, 9)] + [gc.exp(-x * x) * gc.sin(y) / k
                                                                          for k in range(1, 9)]
    return [x, y], outs


def test_kernels_are_spread_over_units_and_each_is_defined_once():
    inputs, outs = _many_kernels()
    f = gc.function(inputs, outs)
    units = generate_units(f.fgraph, "v", 1, 3)
    assert len(units) == 3
    assert "int graphc_run(" in units[0] and all("graphc_run(" not in u for u in units[1:])
    whole = generate(f.fgraph, "v", 1)
    heads = [line.split("(")[0] + "(" for line in whole.splitlines() if line.startswith("GC_KERNEL int ")]
    assert len(heads) >= 4
    for head in heads:
        defining = [u for u in units if any(line.startswith(head) and line.endswith("{")
                                            for line in u.splitlines())]
        assert len(defining) == 1, head
    assert generate_units(f.fgraph, "v", 1, 3) == units          # deterministic


@pytest.mark.parametrize("jobs", [1, 3])
def test_split_and_single_unit_builds_compute_the_same(jobs, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(c_backend, "compile_jobs", lambda: jobs)
    inputs, outs = _many_kernels()
    f = gc.function(inputs, outs)
    assert f.program.meta["units"] == jobs
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 7), dtype=np.float32), rng.standard_normal(7, dtype=np.float32)
    want = gc.function(inputs, outs, backend="py")(x, y)
    for got, expected in zip(f(x, y), want):
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)
