"""Hostile conditions for compiled functions: many threads at once, fork() after OpenMP has run, and a million
calls (memory must not grow)."""
import os
import threading
import time

import numpy as np
import pytest

import graphc as gc

BIG = 100_000   # past the OpenMP threshold: parallel loops run


def _functions():
    """(function, inputs, numpy's outputs): a threaded elementwise loop and reduction, a scatter, buffer slots."""
    x, i = gc.dvector("x"), gc.lvector("i")
    h = gc.tanh(x * 2) + 1
    f = gc.function([x, i], [h, gc.sum(gc.exp(-abs(x))), gc.inc_subtensor(x[i], 1.0), gc.max(h * h)])
    rng = np.random.default_rng(0)
    cases = []
    for k in range(6):
        xv, iv = rng.normal(size=BIG + k), rng.integers(0, 50, size=1000)
        inc = xv.copy()
        np.add.at(inc, iv, 1.0)
        hv = np.tanh(xv * 2) + 1
        cases.append(((xv, iv), [hv, np.sum(np.exp(-abs(xv))), inc, np.max(hv * hv)]))
    return f, cases


def test_threads_call_compiled_functions_at_once():
    f, cases = _functions()
    errors = []

    def work(k):
        args, want = cases[k]
        for _ in range(8):
            for g, w in zip(f(*args), want):
                if not np.allclose(g, w):
                    errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_a_child_forked_after_parallel_loops_runs_them_too():
    """libgomp's thread pool does not survive fork(); without graphc's fork hook the child hangs for ever."""
    f, cases = _functions()
    args, want = cases[0]
    f(*args)
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            ok = False
            try:
                ok = all(np.allclose(g, w) for g, w in zip(f(*args), want))
            finally:
                os._exit(0 if ok else 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung in a parallel loop")
        assert os.waitstatus_to_exitcode(status) == 0
        f(*args)                        # the parent's pool starts again


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_million_calls_do_not_grow_memory():
    x = gc.dvector("x")
    f = gc.function([x], [x * 2 + 1, gc.sum(x)])
    f.trust_input = True        # the same C call and output wrapping, less Python per call
    v = np.ones(3)
    for _ in range(20_000):
        f(v)
    before = _rss()
    for _ in range(1_000_000):
        f(v)
    assert _rss() - before < 2 << 20


def test_large_outputs_called_repeatedly_do_not_grow_memory():
    """Large outputs' memory is recycled (csrc/graphc_callmodule.c): repeated calls, failed calls in between, and
    changing sizes keep the process's memory bounded."""
    x, y = gc.fmatrix("x"), gc.fmatrix("y")
    f = gc.function([x, y], [x + y, x * y])
    a = np.ones((1024, 1024), np.float32)             # 4 MB per output
    for _ in range(20):
        f(a, a)
    before = _rss()
    for k in range(300):
        n = 1024 - (k % 3) * 256
        out = f(a[:n], a[:n])
        assert out[0].shape == (n, 1024) and out[0][0, 0] == 2
        if k % 50 == 0:
            with pytest.raises(ValueError):
                f(a, a[:10])
    assert _rss() - before < 64 << 20
