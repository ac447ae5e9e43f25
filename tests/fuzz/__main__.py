"""The long fuzz run: ``python -m tests.fuzz --graphs 10000`` (``make fuzz``).

Batches run in worker processes (a chunk each), so a crash that kills a process (a segfault in generated code) is
counted and reported with its seed instead of ending the run. Prints the count of graphs, mismatches and crashes,
writes every failing program (as Python) to ``--out``, and exits 1 if anything failed."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fuzz.check import Failure, Tally


def _worker(args) -> None:
    from tests.fuzz.run import run_batches

    def emit(k: int, tally: Tally) -> None:
        record = {"batch": k, "graphs": tally.graphs, "gradient_graphs": tally.gradient_graphs,
                  "refusals": tally.refusals,
                  "failures": [vars(f) for f in tally.failures]}
        print(json.dumps(record), flush=True)

    run_batches(args.count, args.batch, args.gradient_batch, args.seed, emit)


def _collect(line: str, tally: Tally) -> None:
    record = json.loads(line)
    tally.add(Tally(record["graphs"], record["gradient_graphs"], [Failure(**f) for f in record["failures"]],
                    record["refusals"]))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=10000, help="how many graphs in all (default 10000)")
    parser.add_argument("--batch", type=int, default=32, help="value programs per compiled function")
    parser.add_argument("--gradient-batch", type=int, default=8, help="gradient programs per batch")
    parser.add_argument("--chunk", type=int, default=20, help="batches per worker process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="fuzz-failures.txt")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return 0
    with tempfile.TemporaryDirectory(prefix="graphc-fuzz-") as cache:
        # every batch is new code: a cache of its own, removed at the end, unless GRAPHC_CACHE_DIR names one
        env = {"GRAPHC_CACHE_DIR": cache, **os.environ}
        return _parent(args, env)


def _parent(args, env: dict[str, str]) -> int:
    Path(args.out).unlink(missing_ok=True)
    per_batch = args.batch + args.gradient_batch
    n_batches = -(-args.graphs // per_batch)
    tally, start = Tally(), time.monotonic()
    for first in range(0, n_batches, args.chunk):
        count = min(args.chunk, n_batches - first)
        cmd = [sys.executable, "-m", "tests.fuzz", "--worker", "--count", str(count), "--batch", str(args.batch),
               "--gradient-batch", str(args.gradient_batch), "--seed", str(args.seed * 1_000_003 + first)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        known = len(tally.failures)
        for line in lines:
            _collect(line, tally)
        if proc.returncode != 0:
            detail = f"worker {' '.join(cmd[1:])} died ({proc.returncode}) after {len(lines)} batches"
            tally.failures.append(Failure("crash", "worker", proc.stderr[-3000:], detail))
        with open(args.out, "a") as out:     # as they come: a long run can be read while it goes on
            out.writelines(f.report() + "\n\n" for f in tally.failures[known:])
        print(f"{first + count}/{n_batches} batches: {tally.graphs} graphs, {len(tally.failures)} failures, "
              f"{time.monotonic() - start:.0f} s", flush=True)
    from tests.fuzz.run import summary
    print(summary(tally, time.monotonic() - start))
    if tally.failures:
        print(f"failing programs written to {args.out}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
