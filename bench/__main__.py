"""python -m bench: graphc against numpy, PyTensor (default and C backends), JAX jit and torch.compile, float32
on the CPU, with the machine's own limits measured in the same run.

    python -m bench --quick --json bench-results.json --plot bench-results.png    # what `make bench` runs
    python -m bench --full

Every measurement comes from a fresh worker process (``bench/worker.py``) that prints one JSON line. Rounds are
interleaved (machine, graphc, numpy, ... then again), so a slow minute on a shared machine hits every system
alike; a figure is the median over the processes of each one's best repetition. Compile times run the 784-512-10
training step in processes on an empty cache (cold) and then on that cache again (warm); import times are
``python -c "import X"`` minus ``python -c pass``."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine, report
from bench.systems import COMPILED, SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
MODES: dict[str, dict[str, Any]] = {
    "quick": {"processes": 3, "compile_processes": 1, "repeat": 5, "min_seconds": 0.1, "timeout": 300},
    "full": {"processes": 5, "compile_processes": 3, "repeat": 20, "min_seconds": 0.3, "timeout": 900},
}
IMPORTS = {"graphc": "graphc", "numpy": "numpy", "pytensor": "pytensor", "pytensor-c": "pytensor", "jax": "jax",
           "torch": "torch"}


def cache_env(key: str, cache: Path) -> dict[str, str]:
    """Where each system keeps compiled code, pointed at ``cache``: a fresh directory makes a cold start.
    PyTensor keeps its C modules and its Numba cache under base_compiledir; JAX keeps none on disk by default."""
    if key == "graphc":
        return {"GRAPHC_CACHE_DIR": str(cache / "graphc")}
    if key.startswith("pytensor"):
        flags = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"), f"base_compiledir={cache / 'pytensor'}"]))
        return {"PYTENSOR_FLAGS": flags}
    if key == "torch":
        return {"TORCHINDUCTOR_CACHE_DIR": str(cache / "torchinductor")}
    if key == "jax":
        return {"JAX_PLATFORMS": "cpu"}
    return {}


def spawn(key: str, opts: dict, env: dict[str, str], timeout: float) -> dict:
    """Run one worker; its last JSON line, or why there is none."""
    cmd = [sys.executable, "-m", "bench", "--worker", key, "--opts", json.dumps(opts)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"system": key, "failed": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            result["process_s"] = time.perf_counter() - start
            return result
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"system": key, "failed": f"exit status {proc.returncode}: {tail[-300:]}"}


def import_seconds(module: str | None, env: dict[str, str]) -> float | None:
    """Wall time of a fresh interpreter that imports ``module`` (None: imports nothing); None if it fails."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", f"import {module}" if module else "pass"], cwd=ROOT,
                          env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start if proc.returncode == 0 else None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(keys: list[str], mode: dict, only: list[str]) -> dict:
    """All rounds; the raw worker outputs."""
    runs: list[dict] = []
    missing: set[str] = set()
    work = Path(tempfile.mkdtemp(prefix="graphc-bench-"))
    cache = ROOT / ".graphc-cache" / "bench"
    opts = {"repeat": mode["repeat"], "min_seconds": mode["min_seconds"], "triad": str(machine.build_triad(work)),
            "only": only}

    def one(key: str, phase: str, round_: int, env: dict[str, str], **extra: Any) -> None:
        result = spawn(key, {**opts, **extra}, env, mode["timeout"])
        result.update(phase=phase, round=round_)
        runs.append(result)
        if "not_installed" in result:
            missing.add(key)
        status = result.get("failed") or result.get("not_installed") or f"{result.get('process_s', 0):.1f} s"
        log(f"  {phase} round {round_ + 1}: {key:<11} {status}")

    for r in range(mode["processes"]):
        for key in ["machine"] + [k for k in keys if k not in missing]:
            one(key, "timing", r, cache_env(key, cache), check=r == 0)
    compiled = [k for k in keys if k in COMPILED and k not in missing]
    if not only or "compile" in only:
        for r in range(mode["compile_processes"]):
            fresh = Path(tempfile.mkdtemp(prefix="cold-", dir=work))
            for key in compiled:  # warm right after cold: nothing may change the system's sources in between
                for phase in ("cold", "warm"):
                    one(key, phase, r, cache_env(key, fresh), compile_only=True, check=False)
    imports: dict[str, list[float]] = {}
    if not only or "import" in only:
        for r in range(mode["processes"]):
            for key in [None] + [k for k in keys if k not in missing]:
                module = IMPORTS[key] if key else None
                seconds = import_seconds(module, cache_env(key or "", cache))
                if seconds is not None:
                    imports.setdefault(key or "bare", []).append(seconds)
        log("  import times measured")
    return {"runs": runs, "imports": imports, "missing": sorted(missing)}


def summarize(keys: list[str], raw: dict) -> dict:
    """Per system and workload: the median over processes, and whether any process found it wrong or failed."""
    systems: dict[str, dict] = {k: {"label": SYSTEMS[k][0] if k in SYSTEMS else k, "results": {}, "errors": {}}
                                for k in ["machine"] + keys}
    samples: dict[tuple[str, str], list[dict]] = {}
    for result in raw["runs"]:
        info = systems[result["system"]]
        if "not_installed" in result:
            info["not_installed"] = result["not_installed"]
            continue
        if "failed" in result:
            info["errors"].setdefault(result["phase"], result["failed"])
            continue
        info["version"] = result.get("version", "")
        info["errors"].update(result.get("errors", {}))
        for name, value in result["results"].items():
            name = result["phase"] if name == "compile" else name
            samples.setdefault((result["system"], name), []).append(value)
    for (key, name), values in samples.items():
        wrong = next((v["wrong"] for v in values if v.get("wrong")), None)
        systems[key]["results"][name] = {"median": statistics.median(v["value"] for v in values),
                                         "unit": values[0]["unit"], "n": len(values), "wrong": wrong}
    bare = statistics.median(raw["imports"].get("bare", [0.0]))
    for key, seconds in raw["imports"].items():
        if key != "bare":
            systems[key]["results"]["import"] = {"median": max(statistics.median(seconds) - bare, 0.0), "unit": "s",
                                                 "n": len(seconds), "wrong": None}
    return systems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--quick", action="store_const", dest="mode", const="quick",
                     help="3 processes per system, 1 cold/warm compile pair (the default; under 5 minutes on 2 cores)")
    how.add_argument("--full", action="store_const", dest="mode", const="full",
                     help="5 processes per system, 3 cold/warm compile pairs, longer repetitions")
    parser.add_argument("--json", type=Path, help="write every raw measurement and the medians here")
    parser.add_argument("--plot", type=Path, help="write a PNG: each workload's times relative to graphc")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--only", default="", help="comma-separated workloads (e.g. softmax,compile,import)")
    parser.add_argument("--processes", type=int, help="processes per system (overrides the mode)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--opts", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from bench import worker
        worker.main(args.worker, json.loads(args.opts))
        return
    mode = dict(MODES[args.mode or "quick"])
    if args.processes:
        mode["processes"] = args.processes
    keys = [k for k in args.systems.split(",") if k]
    unknown = [k for k in keys if k not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    only = [w for w in args.only.split(",") if w]
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    log(f"bench ({args.mode or 'quick'}): {mode['processes']} processes per system, interleaved")
    raw = run(keys, mode, only)
    elapsed = time.perf_counter() - start
    systems = summarize(keys, raw)
    info = {"machine": machine.cpu(), "mode": args.mode or "quick", "settings": mode, "elapsed_s": elapsed,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "load": [load_before, os.getloadavg()[0]]}
    print(report.render(info, systems))
    if args.json:
        args.json.write_text(json.dumps({**info, "systems": systems, **raw}, indent=1))
        log(f"raw measurements: {args.json}")
    if args.plot:
        report.plot(systems, args.plot)
        log(f"plot: {args.plot}")
    log(f"bench took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
