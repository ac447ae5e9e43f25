"""One worker process: one system, every workload, one JSON line on stdout. The parent starts a fresh one for
each round, so import, cache and first-call costs are those a user's new process pays."""
from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Any, Callable, Iterator

import numpy as np

from bench import workloads as w
from bench.harness import best_time

TOLERANCE = {"elemwise": (1e-4, 1e-5), "softmax": (1e-4, 1e-7), "logsumexp": (1e-5, 1e-5), "params": (1e-3, 1e-5)}
"""(rtol, atol) of each check against numpy's float64 answer."""


def _timer(opts: dict) -> Callable[[Callable[[], object]], float]:
    return lambda fn: best_time(fn, repeat=opts["repeat"], min_seconds=opts["min_seconds"])


def _measure(thunk: Callable[[], Any], check: Callable[[Any], str | None] | None, opts: dict) -> dict:
    """Warm up (the first call is where lazy systems compile), check once if asked, then time."""
    first = thunk()
    wrong = check(first) if check and opts["check"] else None
    return {"value": _timer(opts)(thunk), "unit": "s", "wrong": wrong}


def _cases(sys_: Any, opts: dict) -> Iterator[tuple[str, Callable[[], dict]]]:
    """(workload, a function that builds, checks and times it): one failing workload leaves the others."""
    from bench.systems import numpy_sys
    check = opts["check"]

    def compiled(expr: Callable, inputs: list[np.ndarray], tolerance: tuple[float, float],
                 trust: bool = False) -> dict | None:
        thunk = sys_.compile(lambda *v: expr(sys_.m, *v), inputs, trust=trust)
        if thunk is None:
            return None
        want = expr(numpy_sys.m, *(a.astype(np.float64) for a in inputs)) if check else None
        return _measure(thunk, lambda got: w.mismatch(sys_.to_numpy(got), np.asarray(want, np.float32), *tolerance),
                        opts)

    inputs = w.elemwise_inputs()
    for expr in (w.transcendental, w.arithmetic):
        yield expr.__name__, lambda expr=expr: compiled(expr, inputs, TOLERANCE["elemwise"])
    matrix = [w.matrix_input()]
    for fn in (w.softmax, w.logsumexp):
        yield fn.__name__, lambda fn=fn: compiled(fn, matrix, TOLERANCE[fn.__name__])
    for name, sizes, batch, example in (("mlp_step", w.MLP, w.MLP_BATCH, False),
                                        ("digits_step", w.DIGITS, w.DIGITS_BATCH, True)):
        yield name, lambda sizes=sizes, batch=batch, example=example: _training(sys_, sizes, batch, example, opts)
    pair = [np.ones(1, np.float32), np.full(1, 2.0, np.float32)]
    yield "call_checked", lambda: compiled(w.add, pair, (0, 0))
    yield "call_trusted", lambda: compiled(w.add, pair, (0, 0), trust=True)


def _training(sys_: Any, sizes: tuple[int, ...], batch: int, example: bool, opts: dict) -> dict:
    """The step is checked by its loss and the parameters after it, against numpy's step in float64."""
    from bench.systems import numpy_sys
    params, x, y = w.mlp_problem(sizes, batch)
    step, get_params = sys_.train_step(params, x, y, w.LR, example=example)

    def check(loss: Any) -> str | None:
        want = [p.astype(np.float64) for p in params]
        want_loss = numpy_sys.mlp_step(want, x.astype(np.float64), y, w.LR)
        if not np.isclose(float(sys_.to_numpy(loss)), want_loss, rtol=1e-4):
            return f"loss {float(sys_.to_numpy(loss))} != {want_loss}"
        for k, (got, p) in enumerate(zip(get_params(), want)):
            if (bad := w.mismatch(np.asarray(got), p.astype(np.float32), *TOLERANCE["params"])):
                return f"parameter {k}: {bad}"
        return None

    return _measure(step, check, opts)


def compile_time(sys_: Any) -> dict:
    """Seconds from just before building the 784-512-10 training function to the end of its first call."""
    params, x, y = w.mlp_problem(w.MLP, w.MLP_BATCH)
    start = time.perf_counter()
    step, _ = sys_.train_step(params, x, y, w.LR)
    step()
    return {"value": time.perf_counter() - start, "unit": "s", "wrong": None}


def run(key: str, opts: dict) -> dict:
    if key == "machine":
        from bench import machine
        return {"system": key, "version": "", "results": machine.measure(opts["triad"], _timer(opts))}
    from bench.systems import load
    try:
        sys_ = load(key)
    except ImportError as error:
        return {"system": key, "not_installed": str(error)}
    report: dict[str, Any] = {"system": key, "version": sys_.VERSION, "results": {}, "errors": {}}
    cases = [("compile", lambda: compile_time(sys_))] if opts.get("compile_only") else _cases(sys_, opts)
    for name, case in cases:
        if opts["only"] and name not in opts["only"] and name != "compile":
            continue
        try:
            result = case()
        except Exception as error:
            report["errors"][name] = "".join(traceback.format_exception_only(type(error), error)).strip()[-400:]
        else:
            if result is not None:
                report["results"][name] = result
    return report


def main(key: str, opts: dict) -> None:
    result = run(key, opts)
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
