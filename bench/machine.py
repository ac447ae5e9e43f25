"""The machine's limits, measured in the same run as the workloads: memory bandwidth (a STREAM triad in C, on 1
and 2 threads, with and without non-temporal stores; bytes read + written) and float32 GEMM speed (numpy's
BLAS), plus the GEMMs alone of the MLP training step: the floor under any system's step."""
from __future__ import annotations

import ctypes
import os
import platform
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np

from bench.workloads import MLP, MLP_BATCH, N

SOURCE = Path(__file__).with_name("triad.c")


def build_triad(workdir: Path) -> Path:
    """triad.c compiled for this CPU; built at every start so the flags and compiler are today's."""
    lib = workdir / "triad.so"
    cmd = [os.environ.get("CC", "gcc"), "-O2", "-march=native", "-fopenmp", "-shared", "-fPIC", str(SOURCE),
           "-o", str(lib)]
    subprocess.run(cmd, check=True)
    return lib


def measure(lib_path: str, best_time: Callable[[Callable[[], object]], float]) -> dict[str, dict]:
    """Bandwidths in GB/s, GEMM in GFLOP/s, the MLP step's GEMMs in seconds."""
    lib = ctypes.CDLL(lib_path)
    argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_float, ctypes.c_int64, ctypes.c_int]
    rng = np.random.default_rng(0)
    a, b, c = np.zeros(N, np.float32), rng.random(N, dtype=np.float32), rng.random(N, dtype=np.float32)
    out: dict[str, dict] = {}
    for name in ("triad", "triad_nt"):
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, None
        for threads in (1, 2):
            seconds = best_time(lambda: fn(a.ctypes.data, b.ctypes.data, c.ctypes.data, 3.0, N, threads))
            out[f"{name}_{threads}t"] = {"value": 12 * N / seconds / 1e9, "unit": "GB/s"}
    np.testing.assert_allclose(a, b + 3.0 * c, rtol=1e-6)
    A = rng.standard_normal((2048, 2048), dtype=np.float32)
    out["sgemm"] = {"value": 2 * 2048 ** 3 / best_time(lambda: A @ A) / 1e9, "unit": "GFLOP/s"}
    out["mlp_gemms"] = {"value": best_time(mlp_gemms()), "unit": "s"}
    try:  # the same on one thread: when that is faster, the second core was busy with other work
        from threadpoolctl import threadpool_limits
    except ImportError:
        return out
    with threadpool_limits(1, user_api="blas"):
        out["mlp_gemms_1t"] = {"value": best_time(mlp_gemms()), "unit": "s"}
    return out


def mlp_gemms() -> Callable[[], None]:
    """The five GEMMs of one 784-512-10 step at batch 256: two forward, two weight gradients, and the gradient
    that flows back into the hidden layer."""
    rng = np.random.default_rng(0)
    (n_in, n_hid, n_out), n = MLP, MLP_BATCH
    x, W1 = rng.random((n, n_in), np.float32), rng.random((n_in, n_hid), np.float32)
    h, W2 = rng.random((n, n_hid), np.float32), rng.random((n_hid, n_out), np.float32)
    g, gh = rng.random((n, n_out), np.float32), rng.random((n, n_hid), np.float32)

    def run() -> None:
        x @ W1, h @ W2, h.T @ g, g @ W2.T, x.T @ gh

    return run


def cpu() -> dict[str, object]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
