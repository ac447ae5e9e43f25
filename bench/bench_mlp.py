"""One SGD training step of an MLP (forward, loss, gradients, updates) compiled by graphc with the optimizer on,
with it on but without the gemm rewrite, and off (mode="none"), against the same step in numpy written by hand;
then the compile time of the training function, cold (empty cache) and warm (a new process, same cache).

Two models: the digits demo (64-128-10, batch 32, the bundled digits data) and 784-512-10 (batch 256, random
data). Both are built by examples/train_digits.py's ``build``, so this times exactly the demo's training step.

Run: .venv/bin/python bench/bench_mlp.py"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import graphc as gc
from harness import Timing, best_time, table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train_digits import build, glorot, load_data  # noqa: E402
from bench.systems.numpy_sys import mlp_step  # noqa: E402

LR = 0.1
CANDIDATES = {"graphc, optimizer on": {}, "graphc, on without gemm": {"exclude": ["gemm"]},
              "graphc, mode=none": {"mode": "none"}}


def init(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(glorot(rng, a, b), np.zeros(b, "float32")) for a, b in zip(sizes[:-1], sizes[1:])]


def numpy_step(params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray, lr: float) -> float:
    """The same step by hand, in place on the (W, b) pairs (the suite's numpy system); returns the loss."""
    return mlp_step([a for pair in params for a in pair], x, y, lr)


def compiled_step(sizes: list[int], **options):
    """graphc's training step for a fresh copy of the initial parameters, and those parameters (shared)."""
    layers = [(gc.shared(W.copy()), gc.shared(b.copy())) for W, b in init(sizes)]
    train, _, _ = build(layers, LR, **options)
    return train, layers


def bench_model(title: str, sizes: list[int], x: np.ndarray, y: np.ndarray) -> str:
    reference = init(sizes)
    want_loss = numpy_step(reference, x, y, LR)
    rows = []
    for name, options in CANDIDATES.items():
        train, layers = compiled_step(sizes, **options)
        loss = float(train(x, y))
        np.testing.assert_allclose(loss, want_loss, rtol=1e-4)
        for (W, b), (Wr, br) in zip(layers, reference):
            np.testing.assert_allclose(W.get_value(), Wr, rtol=1e-3, atol=1e-5)
            np.testing.assert_allclose(b.get_value(), br, rtol=1e-3, atol=1e-5)
        gemms = sum(type(n.op).__name__ == "Gemm" for n in train.fgraph.apply_nodes)
        rows.append(Timing(name, best_time(lambda: train(x, y)),
                           f"{len(train.fgraph.apply_nodes)} nodes, {gemms} Gemm"))
    params = init(sizes)
    rows.append(Timing("numpy by hand", best_time(lambda: numpy_step(params, x, y, LR))))
    return table(title, rows, "numpy by hand")


def probe_compile_time() -> None:
    """(In a child process.) Seconds gc.function took to make the digits training function, as JSON."""
    seconds: dict[str, float] = {}
    plain = gc.function

    def timed(*args, name=None, **kwargs):
        start = time.perf_counter()
        f = plain(*args, name=name, **kwargs)
        seconds[name] = time.perf_counter() - start
        return f

    gc.function = timed
    train, _ = compiled_step([64, 128, 10])
    print(json.dumps({"seconds": seconds["train"], "compiled": train.program.compiled,
                      "rewrite_ms": train.report().seconds * 1e3 if train.program.compiled else None}))


def compile_times() -> str:
    """Cold (an empty cache directory) and warm (a second process on the same directory)."""
    lines = ["compile time of the digits training function (full pipeline, c backend), one process each:"]
    with tempfile.TemporaryDirectory(prefix="graphc-bench-cache-") as cache:
        env = dict(os.environ, GRAPHC_CACHE_DIR=cache)
        for label in ("cold (empty cache)", "warm (new process, same cache)"):
            out = subprocess.run([sys.executable, __file__, "--probe-compile"], env=env, check=True,
                                 capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            how = (f"compiled, of which rewrites {result['rewrite_ms']:.1f} ms" if result["compiled"]
                   else "cache hit: no rewriting, no compiler")
            lines.append(f"  {label:<34}{result['seconds']:>8.3f} s   ({how})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe-compile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_compile:
        probe_compile_time()
        return
    X_train, _, y_train, _ = load_data(seed=0)
    rng = np.random.default_rng(0)
    print(f"{os.cpu_count()} CPUs; times are the best of 7 rounds (the machine may be shared: expect noise)\n")
    print(bench_model("digits MLP 64-128-10, batch 32: one training step", [64, 128, 10], X_train[:32],
                      y_train[:32]))
    print()
    print(bench_model("MLP 784-512-10, batch 256 (random data): one training step", [784, 512, 10],
                      rng.standard_normal((256, 784), dtype=np.float32),
                      rng.integers(0, 10, 256).astype("int32")))
    print()
    print(compile_times())


if __name__ == "__main__":
    main()
