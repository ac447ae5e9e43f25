"""One graph per op family, over shared inputs, for backends whose builds are expensive: tests/test_cuda.py compiles
them all in one nvcc run; bench/gpu_check.py runs each on a GPU against the numpy reference."""
from __future__ import annotations

import numpy as np

import graphc as gc

UNARY = (gc.exp, gc.log, gc.log1p, gc.expm1, gc.sqrt, gc.sin, gc.cos, gc.tanh, gc.sigmoid, gc.softplus, gc.relu,
         gc.sign, gc.abs, gc.neg, gc.isnan, gc.isinf, gc.isfinite)
BINARY = (gc.add, gc.sub, gc.mul, gc.true_div, gc.floor_div, gc.mod, gc.pow, gc.maximum, gc.minimum, gc.lt, gc.le,
          gc.gt, gc.ge, gc.eq, gc.neq)


def op_families() -> tuple[list[gc.Variable], dict[str, tuple[list[gc.Variable], list]]]:
    """(inputs, {family: (outputs, updates)}); every family reads some of the same inputs (see ``input_values``).
    Each scalar op appears for floats and ints, chained so that fusion makes a few kernels of them."""
    x = gc.matrix("x", dtype="float32")
    d = gc.tensor3("d", dtype="float64")
    i = gc.ivector("i")
    b = gc.bvector("b")
    n = gc.lscalar("n")
    u = gc.tensor("u", "uint8", shape=(None,))
    im = gc.tensor4("im", dtype="float32")
    i3 = gc.reshape(i, (1, 1, -1))
    w = gc.shared(np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4), name="w")
    filters = gc.shared(np.linspace(-1, 1, 54, dtype="float32").reshape(2, 3, 3, 3), name="filters")
    cost = gc.sum(gc.log_softmax(x @ w)[gc.arange(i.shape[0]), i]) + gc.mean(gc.tanh(x[:, :3] * w[0, :3]))
    families = {
        "elementwise": [sum(f(v) for f in UNARY) + sum(f(v, 1.5) for f in BINARY) for v in (x, d)] + [
            sum(f(i, 3) for f in BINARY if f is not gc.true_div) + gc.pow(i, i) + (i % n),
            gc.bitwise_and(i, 6) | gc.bitwise_xor(i, 1), gc.invert(b) ^ b, gc.invert(u) & 3,
            gc.where(b, gc.clip(i, 0, 2), 0), gc.cast(gc.clip(x, -1, 1) * 100, "int8"), gc.cast(d, "float32"),
            n * 2 + 1],
        "reductions": [gc.sum(x, axis=1), gc.prod(d, axis=(0, 2)), gc.max(x), gc.min(i),
                       gc.mean(x, axis=0, keepdims=True), gc.argmax(x, axis=0), gc.argmin(d), gc.sum(b),
                       gc.max(d, axis=-1, keepdims=True)],
        "nnet": [gc.softmax(x), gc.log_softmax(d, axis=1), gc.logsumexp(x, axis=0), gc.stop_gradient(x)],
        "blas": [gc.dot(x, x.T), gc.dot(x[0], x.T), gc.dot(i, i), d @ d.transpose(0, 2, 1), i3 @ i3.transpose(0, 2, 1),
                 x @ w + w[0]],
        "shapes": [x.T.reshape((n, -1)), gc.transpose(d, (2, 0, 1)), gc.squeeze(gc.expand_dims(x, 0), 0),
                   gc.concatenate([x, x * 2], axis=1), gc.stack([i, i]), x.shape, x.size, gc.arange(n),
                   gc.arange(0.5, 3.0, 0.25), gc.zeros((n, 2)), gc.alloc(x[0, 0], (n, 3)),
                   gc.broadcast_to(x[0], (n, x.shape[1]))],
        "indexing": [x[::-1, 1:], x[None, ..., -1], d[:, n], x[i, i], d[0, i, :], gc.set_subtensor(x[1:, ::2], 0.0),
                     gc.inc_subtensor(x[0], 1.0), gc.set_subtensor(x[i], x[0]), gc.inc_subtensor(u[i], 1),
                     gc.inc_subtensor(x[i, 0], 2.5)],
        "gradients": gc.grad(cost, [x, w]),
        "conv": [gc.conv2d(im, filters, stride=2, padding=1), gc.conv2d(im, filters, stride=(1, 2), dilation=2),
                 *gc.grad(gc.sum(gc.conv2d(im, filters, padding=1) ** 2), [im, filters])],
    }
    updates = {"gradients": [(w, w - 0.1 * gc.grad(cost, w))]}
    return [x, d, i, b, n, u, im], {name: (outs, updates.get(name, [])) for name, outs in families.items()}


def input_values(rng: np.random.Generator) -> list:
    """Fresh inputs for ``op_families``: i indexes x's rows and columns, d's second axis and u; n divides x's size."""
    return [rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(2, 4, 5)),
            rng.integers(0, 3, size=5).astype("int32"), rng.random(5) > 0.5, np.int64(2),
            rng.integers(0, 255, size=6).astype("uint8"), rng.normal(size=(2, 3, 7, 6)).astype("float32")]
