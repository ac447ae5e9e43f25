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
from tests.op_families import input_values, op_families

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


@pytest.fixture(scope="module")
def all_ops():
    """Every op family in one function: one nvcc run."""
    if not _has_cublas():
        pytest.skip("cuBLAS headers/libraries not installed (pip install 'graphc[cuda]')")
    previous, gc.config.cuda_arch = gc.config.cuda_arch, "90"
    try:
        inputs, families = op_families()
        outputs = [o for outs, _ in families.values() for o in outs]
        updates = [u for _, ups in families.values() for u in ups]
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


def test_every_op_family_compiles(all_ops):
    source = all_ops.program.source
    assert Path(all_ops.program.library_path).is_file()
    for needle in ("gc_dmatmul2d", "gc_dbatched_matmul", "gc_dgemm", "gc_dadv_scatter", "gc_dadv_gather",
                   "gc_dsum_to", "gc_arg_better", "gc_dfill", "gc_dcopy_bcast"):
        assert needle in source or needle in _runtime_text(), needle


def _runtime_text() -> str:
    from graphc.resources import resource_dir
    return "".join(p.read_text() for p in resource_dir("csrc").glob("graphc_cu*.h"))


def test_call_without_device_raises_clearly(all_ops):
    from graphc.backends.cuda import NoCudaDevice
    values = input_values(np.random.default_rng(0))
    w_before = all_ops.shared_inputs[0].get_value()
    with pytest.raises(NoCudaDevice, match="no CUDA device"):
        all_ops(*values)
    np.testing.assert_array_equal(all_ops.shared_inputs[0].get_value(), w_before)


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


def test_missing_toolchain_pieces_are_named(monkeypatch):
    import graphc.toolchain.nvcc as nvcc
    monkeypatch.setattr(nvcc, "find_nvcc", lambda: None)
    nvcc._nvcc_toolchain.cache_clear()
    try:
        with pytest.raises(CudaUnavailable, match="nvcc was not found"):
            nvcc.nvcc_toolchain("90")
    finally:
        nvcc._nvcc_toolchain.cache_clear()
    monkeypatch.setattr(nvcc, "LIBRARIES", {"graphc_cublas.h": ("no_such_header.h", "libnothing.so.1", "cu13")})
    nvcc.cuda_library.cache_clear()
    try:
        with pytest.raises(CudaUnavailable, match=r"pip install 'graphc\[cuda\]'"):
            nvcc.cuda_library("graphc_cublas.h")
    finally:
        nvcc.cuda_library.cache_clear()


def test_libraries_are_found_through_nested_includes():
    """A conv-only graph includes cuBLAS only through graphc_cuda_conv.h: it must still be linked against it."""
    from graphc.codegen.cuda import generate
    from graphc.resources import runtime_headers
    x, w = gc.tensor4("x", dtype="float32"), gc.tensor4("w", dtype="float32")
    source = generate(gc.function([x, w], gc.conv2d(x, w), backend="py").fgraph, "v")
    assert '#include "graphc_cublas.h"' not in source
    assert "graphc_cublas.h" in runtime_headers(source)
