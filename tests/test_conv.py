"""gc.conv2d (NCHW, stride, padding, dilation) against a direct numpy loop, and its gradients against finite
differences, on the numpy reference backend and generated C (im2col + BLAS)."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from tests.utils import assert_close, check_grad, noncontig

GEOMETRIES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2), dilation=(2, 1)),
    dict(stride=3, dilation=2, padding=2),
]


def conv_reference(x: np.ndarray, w: np.ndarray, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The definition, one output element at a time (independent of the im2col formulation)."""
    (sh, sw), (ph, pw), (dh, dw) = (np.broadcast_to(v, 2) for v in (stride, padding, dilation))
    n, c, h, wd = x.shape
    k, _, r, s = w.shape
    oh, ow = (h + 2 * ph - dh * (r - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (s - 1) - 1) // sw + 1
    out = np.zeros((n, k, oh, ow), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            for a in range(r):
                for b in range(s):
                    y, z = i * sh - ph + a * dh, j * sw - pw + b * dw
                    if 0 <= y < h and 0 <= z < wd:
                        out[:, :, i, j] += x[:, :, y, z] @ w[:, :, a, b].T
    return out.astype(x.dtype)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_matches_numpy(backend, geometry, dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2, 3, 9, 8)).astype(dtype)
    W = rng.normal(size=(4, 3, 3, 2)).astype(dtype)
    x, w = gc.tensor4("x", dtype=dtype), gc.tensor4("w", dtype=dtype)
    f = gc.function([x, w], gc.conv2d(x, w, **geometry), backend=backend)
    want = conv_reference(X, W, **geometry)
    assert_close(f(X, W), want, rtol=1e-4 if dtype == "float32" else None)
    assert_close(f(noncontig(X), noncontig(W)), want, rtol=1e-4 if dtype == "float32" else None)


@pytest.mark.parametrize("geometry", GEOMETRIES[:3], ids=str)
def test_conv2d_gradients_match_finite_differences(backend, geometry):
    rng = np.random.default_rng(2)
    X, W = rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(3, 2, 3, 2))
    weights = gc.constant(rng.normal(size=conv_reference(X, W, **geometry).shape))
    check_grad(lambda x, w: gc.sum(gc.conv2d(x, w, **geometry) * weights), [X, W], backend=backend)


def test_conv2d_in_a_training_step(backend):
    """A conv layer trained by SGD on a shared filter bank: the update and the loss agree with numpy's."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 1, 6, 6)).astype("float32")
    W0 = rng.normal(size=(2, 1, 3, 3)).astype("float32")
    x = gc.tensor4("x", dtype="float32")
    w = gc.shared(W0, name="w")
    loss = gc.mean(gc.relu(gc.conv2d(x, w, padding=1)) ** 2)
    step = gc.function([x], loss, updates=[(w, w - 0.1 * gc.grad(loss, w))], backend=backend)
    reference = gc.function([x], gc.grad(loss, w), backend="py")(X)
    assert_close(step(X), np.mean(np.maximum(conv_reference(X, W0, padding=1), 0) ** 2), rtol=1e-4)
    assert_close(w.get_value(), W0 - 0.1 * reference, rtol=1e-4, atol=1e-6)


def test_conv2d_errors(backend):
    x, w = gc.tensor4("x"), gc.tensor4("w")
    f = gc.function([x, w], gc.conv2d(x, w), backend=backend)
    with pytest.raises(ValueError, match="channels"):
        f(np.ones((1, 2, 5, 5)), np.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        f(np.ones((1, 2, 2, 5)), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="stride"):
        gc.conv2d(x, w, stride=0)
    with pytest.raises(TypeError, match="float32 or float64"):
        gc.conv2d(gc.tensor4("i", dtype="int32"), gc.tensor4("j", dtype="int32"))
