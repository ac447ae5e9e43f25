"""The CUDA backend on a GPU, in one short run: builds here (a library built elsewhere carries rpaths that do not
exist here), then

1. every op family (tests/op_families.py) and its gradients against the numpy reference backend, on fresh random
   inputs, with the device memory pool poisoned (0xFF bytes, NaN) before each run so unwritten outputs show;
2. the digits MLP (examples/train_digits.py's ``build``) trained on the device to >= 0.95 test accuracy;
3. timings against measured ceilings: a fused elementwise chain on 10^8 float32 vs a device-to-device copy of the
   same bytes, and the 784-512-10 training step (batch 256 and 4096) vs its five cuBLAS GEMMs alone;

and prints a table last. Exit status 0 when every check passes, 1 when one fails, 2 without a CUDA device.

Run from the repository root, on a machine with an NVIDIA GPU, nvcc and cuBLAS (pip install 'graphc[cuda]'):
    make gpu-check            (or: PYTHONUNBUFFERED=1 python bench/gpu_check.py)
Options: --arch 90 (SM targets to build; default: this GPU's only, for a short build), --quick (skip timings).

Where the GPU machine has no package registry but has numpy, jinja2, networkx, scikit-learn, nvcc and NVIDIA's
cuBLAS wheel (as this project's lent H200 machines do), bring cffi and pycparser as wheels for its Python:
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl cffi pycparser
and run there:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
    PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 bench/gpu_check.py"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

import graphc as gc  # noqa: E402
from graphc.backends.cuda import DeviceArray, NoCudaDevice, cuda_ffi, require_device  # noqa: E402

POISON_BYTES = 256 << 20
ROWS: list[tuple[str, str, str]] = []   # (check, result, detail) for the final table


def row(check: str, ok: bool | None, detail: str) -> bool:
    result = "info" if ok is None else "PASS" if ok else "FAIL"
    ROWS.append((check, result, detail))
    print(f"[{result}] {check}: {detail}", flush=True)
    return ok is not False


def call(lib, fn: str, *args) -> None:
    status = cuda_ffi().new("gc_status *")
    if getattr(lib, fn)(status, *args) != 0:
        raise RuntimeError(cuda_ffi().string(status.message).decode())


def device_lib():
    """A library to reach the device through, and the check that there is a device at all."""
    x = gc.vector("x", dtype="float32")
    probe = gc.function([x], x + 1, backend="cuda")
    require_device(probe.program.lib)
    return probe.program.lib


def compare(got, want) -> str | None:
    """None if got matches the numpy reference's want, else what differs."""
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"dtype/shape {got.dtype}{got.shape} != {want.dtype}{want.shape}"
    if want.dtype.kind in "biu":
        return None if np.array_equal(got, want) else f"{np.sum(got != want)} elements differ"
    rtol = 2e-4 if want.dtype == np.float32 else 1e-9
    if np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True):
        return None
    bad = ~np.isclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)
    return f"{bad.sum()} of {bad.size} elements differ, e.g. {got[bad].flat[0]!r} vs {want[bad].flat[0]!r}"


def build_cuda(inputs, families: dict) -> dict:
    """Each family's CUDA function (or the exception its build raised), built at once: the nvcc runs overlap."""
    from concurrent.futures import ThreadPoolExecutor

    def build(item):
        name, (outputs, updates) = item
        try:
            return name, gc.function(inputs, outputs, updates=updates, backend="cuda", outputs_on="host")
        except Exception as exc:  # a build failure is a result to report, not the end of the run
            return name, exc
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(build, families.items()))


def check_op_families(lib, rounds: int = 2) -> bool:
    from tests.op_families import input_values, op_families
    inputs, families = op_families()
    start = time.perf_counter()
    built = build_cuda(inputs, families)
    row("ops: build", None, f"{len(families)} CUDA functions built in {time.perf_counter() - start:.1f} s")
    ok = True
    for name, (outputs, updates) in families.items():
        f_cuda = built[name]
        if isinstance(f_cuda, Exception):
            ok &= row(f"ops: {name}", False, f"build failed: {type(f_cuda).__name__}: {str(f_cuda)[:300]}")
            continue
        f_ref = gc.function(inputs, outputs, updates=updates, backend="py")
        problems = []
        for k in range(rounds):
            values = input_values(np.random.default_rng(100 + k))
            shared = [(s, s.get_value()) for s, _ in updates]
            call(lib, "graphc_cuda_poison", POISON_BYTES)
            try:
                got = f_cuda(*values)
                got_shared = [s.get_value() for s, _ in updates]
            except Exception as exc:
                problems.append(f"round {k}: {type(exc).__name__}: {str(exc)[:300]}")
                break
            for s, value in shared:
                s.set_value(value)
            want = f_ref(*values)
            for j, (g, w) in enumerate(zip(got + got_shared, want + [s.get_value() for s, _ in updates])):
                diff = compare(g, w)
                if diff:
                    label = f"output {j}" if j < len(outputs) else f"update {j - len(outputs)}"
                    problems.append(f"round {k} {label}: {diff}")
        ok &= row(f"ops: {name}", not problems,
                  "; ".join(problems[:3]) or f"{len(outputs)} outputs x {rounds} rounds match numpy")
    return ok


def check_digits() -> bool:
    from train_digits import build, glorot, load_data
    X_train, X_test, y_train, y_test = load_data(0)
    rng = np.random.default_rng(0)
    layers = [(gc.shared(glorot(rng, a, b), name=f"W{k}"), gc.shared(np.zeros(b, "float32"), name=f"b{k}"))
              for k, (a, b) in enumerate([(64, 128), (128, 10)])]
    train, predict, compile_s = build(layers, 0.1, backend="cuda", outputs_on="host")
    start = time.perf_counter()
    for _ in range(20):
        order = rng.permutation(len(X_train))
        for i in range(0, len(order), 32):
            train(X_train[order[i:i + 32]], y_train[order[i:i + 32]])
    elapsed = time.perf_counter() - start
    accuracy = float(np.mean(predict(X_test) == y_test))
    return row("digits MLP trained on the device", accuracy >= 0.95,
               f"test accuracy {accuracy:.4f} after 20 epochs ({elapsed:.1f} s; built in {compile_s:.1f} s)")


def timed(lib, fn, repeat: int = 20) -> float:
    """Mean seconds per call of fn, after a warm-up, waiting for the device."""
    fn()
    call(lib, "graphc_cuda_sync")
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    call(lib, "graphc_cuda_sync")
    return (time.perf_counter() - start) / repeat


def time_elementwise(lib) -> None:
    n = 10 ** 8
    x = gc.vector("x", dtype="float32")
    chain = gc.function([x], gc.tanh(x * 2 + 1) * x - 3, backend="cuda")
    data = DeviceArray.from_host(np.random.default_rng(0).random(n, dtype=np.float32), lib)
    out = DeviceArray.from_host(np.zeros(n, np.float32), lib)
    pointer = lambda a: cuda_ffi().cast("void *", a.__cuda_array_interface__["data"][0])
    t_copy = timed(lib, lambda: call(lib, "graphc_cuda_copy", pointer(out), pointer(data), 4 * n, 3))
    t_chain = timed(lib, lambda: chain(data))
    gbps = lambda t: 8 * n / t / 1e9
    row("fused tanh(2x+1)*x-3 on 1e8 float32", None,
        f"{t_chain * 1e3:.2f} ms = {gbps(t_chain):.0f} GB/s; device copy {t_copy * 1e3:.2f} ms = "
        f"{gbps(t_copy):.0f} GB/s; chain at {t_copy / t_chain:.0%} of copy bandwidth")


def time_mlp(lib, batch: int) -> None:
    from train_digits import build, glorot
    rng = np.random.default_rng(0)
    layers = [(gc.shared(glorot(rng, a, b), name=f"W{k}"), gc.shared(np.zeros(b, "float32"), name=f"b{k}"))
              for k, (a, b) in enumerate([(784, 512), (512, 10)])]
    train, _, _ = build(layers, 0.01, backend="cuda")
    X = DeviceArray.from_host(rng.random((batch, 784), dtype=np.float32), lib)
    y = DeviceArray.from_host(rng.integers(0, 10, batch).astype("int32"), lib)
    t_step = timed(lib, lambda: train(X, y))
    a, h, g, dh = (gc.matrix(v, dtype="float32") for v in "ahgd")
    W0, W1 = (s for s, _ in layers)
    gemms = gc.function([a, h, g, dh], [a @ W0, h @ W1, h.T @ g, g @ W1.T, a.T @ dh], backend="cuda")
    H = DeviceArray.from_host(rng.random((batch, 512), dtype=np.float32), lib)
    G = DeviceArray.from_host(rng.random((batch, 10), dtype=np.float32), lib)
    t_gemm = timed(lib, lambda: gemms(X, H, G, H))
    row(f"784-512-10 step, batch {batch}", None,
        f"{t_step * 1e6:.0f} us per step; its 5 GEMMs alone {t_gemm * 1e6:.0f} us ({t_gemm / t_step:.0%} of the step)")


def stage(name: str, run) -> bool:
    """Run one part of the check; an exception fails that part only, so the table still comes at the end."""
    try:
        return run() is not False
    except Exception as exc:
        return row(name, False, f"{type(exc).__name__}: {str(exc)[:400]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=None, help="SM targets, e.g. 90 or 80,90 (default: this GPU's)")
    parser.add_argument("--quick", action="store_true", help="skip the timings")
    args = parser.parse_args()
    gc.config.cuda_arch = args.arch or _this_gpu_arch() or gc.config.cuda_arch
    started = time.perf_counter()
    try:
        lib = device_lib()
    except NoCudaDevice as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    ok = stage("op families", lambda: check_op_families(lib))
    ok &= stage("digits MLP", check_digits)
    if not args.quick:
        ok &= stage("elementwise timing", lambda: time_elementwise(lib))
        for batch in (256, 4096):
            ok &= stage(f"MLP timing, batch {batch}", lambda: time_mlp(lib, batch))
    print(f"\ngraphc CUDA check (sm_{gc.config.cuda_arch}), {time.perf_counter() - started:.0f} s")
    width = max(len(c) for c, _, _ in ROWS)
    print(f"| {'check':<{width}} | result | detail |\n|{'-' * (width + 2)}|--------|--------|")
    for check, result, detail in ROWS:
        print(f"| {check:<{width}} | {result:<6} | {detail} |")
    return 0 if ok else 1


def _this_gpu_arch() -> str | None:
    """The SM number of GPU 0 from nvidia-smi (compute_cap "9.0" -> "90"), so the build targets only it."""
    import subprocess
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return out[0].replace(".", "") if out else None


if __name__ == "__main__":
    sys.exit(main())
