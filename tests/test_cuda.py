"""The CUDA backend without a GPU: every op family and the digits training step generate CUDA that nvcc compiles
(for one target, in few nvcc runs: each costs seconds), the source is deterministic, and calling raises a clear
"no CUDA device" error. Numerical checks on a device are bench/gpu_check.py's."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.toolchain.nvcc import CudaUnavailable, cuda_library, find_nvcc

pytestmark = pytest.mark.skipif(find_nvcc() is None, reason="nvcc not found: the CUDA backend cannot build here")


def _has_cublas() -> bool:
    try:
        cuda_library("graphc_cublas.h")
        return True
    except CudaUnavailable:
        return False


needs_cublas = pytest.mark.skipif(not _has_cublas(), reason="cuBLAS headers/libraries not installed "
                                                            "(pip install 'graphc[cuda]')")


@pytest.fixture(autouse=True)
def one_target():
    """One SM target keeps each nvcc run short (the default builds two, plus PTX)."""
    previous, gc.config.cuda_arch = gc.config.cuda_arch, "90"
    yield
    gc.config.cuda_arch = previous


def every_op_family():
    """Inputs and outputs touching every op family: each scalar op over floats and ints (chained, so that fusion
    makes a few kernels of them), reductions, nnet, BLAS, shapes, indexing, joins, and the gradients that need sum_to
    and scatters."""
    x = gc.matrix("x", dtype="float32")
    d = gc.tensor3("d", dtype="float64")
    i = gc.ivector("i")
    b = gc.bvector("b")
    n = gc.lscalar("n")
    u = gc.tensor("u", "uint8", shape=(None,))
    unary = (gc.exp, gc.log, gc.log1p, gc.expm1, gc.sqrt, gc.sin, gc.cos, gc.tanh, gc.sigmoid, gc.softplus, gc.relu,
             gc.sign, gc.abs, gc.neg, gc.isnan, gc.isinf, gc.isfinite)
    binary = (gc.add, gc.sub, gc.mul, gc.true_div, gc.floor_div, gc.mod, gc.pow, gc.maximum, gc.minimum, gc.lt,
              gc.le, gc.gt, gc.ge, gc.eq, gc.neq)
    outs = [sum(f(v) for f in unary) + sum(f(v, 1.5) for f in binary) for v in (x, d)]
    outs += [sum(f(i, 3) for f in binary if f is not gc.true_div) + gc.pow(i, i) + (i % n),
             gc.bitwise_and(i, 6) | gc.bitwise_xor(i, 1), gc.invert(b) ^ b, gc.invert(u) & 3,
             gc.where(b, gc.clip(i, 0, 2), 0), gc.cast(gc.clip(x, -1, 1), "int8"), gc.cast(d, "float32"), n * 2 + 1]
    outs += [gc.sum(x, axis=1), gc.prod(d, axis=(0, 2)), gc.max(x), gc.min(i), gc.mean(x, axis=0, keepdims=True),
             gc.argmax(x, axis=0), gc.argmin(d), gc.sum(b), gc.max(d, axis=-1, keepdims=True)]
    outs += [gc.softmax(x), gc.log_softmax(d, axis=1), gc.logsumexp(x, axis=0), gc.stop_gradient(x)]
    i3 = gc.reshape(i, (1, 1, -1))
    outs += [gc.dot(x, x.T), gc.dot(x[0], x.T), gc.dot(i, i), d @ d.transpose(0, 2, 1), i3 @ i3.transpose(0, 2, 1)]
    outs += [x.T.reshape((n, -1)), gc.transpose(d, (2, 0, 1)), gc.squeeze(gc.expand_dims(x, 0), 0),
             gc.concatenate([x, x * 2], axis=1), gc.stack([i, i]), x.shape, x.size, gc.arange(n),
             gc.arange(0.5, 3.0, 0.25), gc.zeros((n, 2)), gc.alloc(x[0, 0], (n, 3)),
             gc.broadcast_to(x[0], (n, x.shape[1]))]
    outs += [x[::-1, 1:], x[None, ..., -1], d[:, n], x[i, i], d[0, i, :], gc.set_subtensor(x[1:, ::2], 0.0),
             gc.inc_subtensor(x[0], 1.0), gc.set_subtensor(x[i], x[0]), gc.inc_subtensor(u[i], 1)]
    w = gc.shared(np.ones((3, 4), "float32"), name="w")
    cost = gc.sum(gc.softmax(x @ w)[gc.arange(i.shape[0]), i]) + gc.mean(gc.tanh(x[:, :3] * w[0, :3]))
    outs += gc.grad(cost, [x, w])
    return [x, d, i, b, n, u], outs, [(w, w - 0.1 * gc.grad(cost, w))]


@pytest.fixture(scope="module")
def op_families():
    if not _has_cublas():
        pytest.skip("cuBLAS headers/libraries not installed (pip install 'graphc[cuda]')")
    previous, gc.config.cuda_arch = gc.config.cuda_arch, "90"
    try:
        inputs, outputs, updates = every_op_family()
        return gc.function(inputs, outputs, updates=updates, backend="cuda")
    finally:
        gc.config.cuda_arch = previous


def digits_train(**options):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        from train_digits import build, glorot
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(0)
    layers = [(gc.shared(glorot(rng, a, b), name=f"W{k}"), gc.shared(np.zeros(b, "float32"), name=f"b{k}"))
              for k, (a, b) in enumerate([(64, 32), (32, 10)])]
    return build(layers, 0.1, **options)


def test_every_op_family_compiles(op_families):
    source = op_families.program.source
    assert Path(op_families.program.library_path).is_file()
    for needle in ("gc_dmatmul2d", "gc_dbatched_matmul", "gc_dgemm", "gc_dadv_scatter", "gc_dadv_gather",
                   "gc_dsum_to", "gc_arg_better", "gc_dfill", "gc_dcopy_bcast"):
        assert needle in source or needle in _runtime_text(), needle


def _runtime_text() -> str:
    from graphc.resources import resource_dir
    return "".join(p.read_text() for p in resource_dir("csrc").glob("graphc_cu*.h"))


def test_call_without_device_raises_clearly(op_families):
    from graphc.backends.cuda import NoCudaDevice
    values = [np.ones((3, 4), "float32"), np.ones((2, 3, 4)), np.zeros(3, "int32"), np.ones(3, bool), 2,
              np.ones(3, "uint8")]
    w_before = op_families.shared_inputs[0].get_value()
    with pytest.raises(NoCudaDevice, match="no CUDA device"):
        op_families(*values)
    np.testing.assert_array_equal(op_families.shared_inputs[0].get_value(), w_before)


@needs_cublas
def test_digits_training_step_compiles_without_device_syncs():
    train, _, _ = digits_train(backend="py")
    from graphc.backends.cuda import CudaProgram
    program = CudaProgram(train.user_fgraph, lambda: train.fgraph, train.rewrite_options.key())
    source = program.source
    assert "gc_to_host" not in source and "gc_to_device" not in source, "a copy between host and device per step"
    assert "cublas" in source.lower() or "gc_dgemm" in source


def test_generated_source_is_deterministic():
    from graphc.codegen.cuda import generate
    first = generate(digits_train(backend="py")[0].fgraph, "v")
    second = generate(digits_train(backend="py")[0].fgraph, "v")
    assert first == second
    assert "__global__" in first


def test_shape_arithmetic_stays_on_the_host():
    """mean() divides by a count computed from shapes: on the host, passed to the kernel by value."""
    from graphc.codegen.cuda import generate
    x = gc.matrix("x", dtype="float32")
    source = generate(gc.function([x], gc.mean(x, axis=0), backend="py").fgraph, "v")
    assert "gc_to_host" not in source and "gc_to_device" not in source


def test_arch_flags():
    from graphc.toolchain.nvcc import arch_flags
    assert arch_flags("80,90") == ("-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
                                   "-gencode=arch=compute_80,code=compute_80")
    with pytest.raises(ValueError, match="SM numbers"):
        arch_flags("sm_90")
