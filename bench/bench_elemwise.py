"""A 10-op elementwise chain on 10^7 float32: fused vs unfused graphc vs numpy, against the machine's memory
bandwidth measured in the same run by a STREAM-triad C loop built with graphc's own toolchain.

Run: .venv/bin/python bench/bench_elemwise.py [--n 10000000]"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

import graphc as gc
from harness import Timing, best_time, table

def triad_function():
    """The triad loop compiled with the same compiler and flags as graphc's generated code."""
    import cffi
    from graphc.toolchain.compiler import toolchain
    work = Path(tempfile.mkdtemp(prefix="graphc-triad-"))
    (work / "triad.c").write_text(Path(__file__).with_name("triad.c").read_text())
    toolchain().compile_shared(work / "triad.c", work / "triad.so")
    ffi = cffi.FFI()
    ffi.cdef("void triad(float *, const float *, const float *, float, int64_t, int);")
    lib = ffi.dlopen(str(work / "triad.so"))
    return ffi, lib


def chain(x, y):
    """Ten arithmetic ops, two inputs, one output: memory-bound when fused (8 bytes in, 4 out per element)."""
    z = x * 1.5 + y
    z = z * z - 0.5 * y
    z = (z + 2.0) * (x - 1.0)
    z = z / (y * y + 1.0)
    return z


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000_000)
    args = parser.parse_args()
    n = args.n
    rng = np.random.default_rng(0)
    xv, yv = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    x, y = gc.fvector("x"), gc.fvector("y")
    fused = gc.function([x, y], chain(x, y), borrow=True)
    unfused = gc.function([x, y], chain(x, y), borrow=True, exclude=["fusion"])
    for f in (fused, unfused):
        f.trust_input = True
        np.testing.assert_allclose(f(xv, yv), chain(xv, yv), rtol=1e-5)
    ffi, lib = triad_function()
    a, b, c = np.empty(n, np.float32), rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    pa, pb, pc = (ffi.from_buffer("float[]", v) for v in (a, b, c))
    triad_s = best_time(lambda: lib.triad(pa, pb, pc, 3.0, n, os.cpu_count() or 1))
    bandwidth = 12 * n / triad_s
    rows = [Timing("STREAM triad (C, same flags)", triad_s, f"{bandwidth / 1e9:.1f} GB/s")]
    for name, fn in [("graphc fused", lambda: fused(xv, yv)), ("graphc unfused (exclude fusion)",
                                                              lambda: unfused(xv, yv)),
                     ("numpy eager", lambda: chain(xv, yv))]:
        seconds = best_time(fn)
        gbs = 12 * n / seconds
        rows.append(Timing(name, seconds, f"{gbs / 1e9:.1f} GB/s effective = {gbs / bandwidth:.0%} of triad"))
    print(table(f"10-op elementwise chain, {n:,} float32 (bytes = 2 inputs read + 1 output written)", rows,
                "numpy eager"))
    print(f"  fused kernels: {sum(1 for _ in fused.fgraph.apply_nodes)}, unfused: "
          f"{sum(1 for _ in unfused.fgraph.apply_nodes)}")


if __name__ == "__main__":
    main()
