"""The digits MLP's predict function as a model file for the ``graphc`` command:

    graphc show examples/model_digits.py:build
    graphc compile examples/model_digits.py:build --out build/model_digits
    graphc compile examples/model_digits.py:trained --bake-weights --name digits --out build/digits

``build`` gives the network with weights drawn from a fixed seed, held in shared variables (so a compiled entry
point takes them as arguments); ``trained`` gives it after a few full-batch gradient steps on scikit-learn's
digits, so that its predictions mean something (``examples/aot/`` links it). The input is raw 8x8 pixel
intensities (0-16), scaled inside the graph; the outputs are the predicted digit and the class probabilities."""
from __future__ import annotations

import numpy as np

import graphc as gc
from train_digits import cross_entropy, glorot

SIZES = (64, 32, 10)
HELD_OUT = 16
"""The last images of the data set are not trained on: examples/aot/digits.txt holds them."""


def build(seed: int = 0) -> gc.Function:
    return _predictor(_parameters(seed))


def trained(epochs: int = 2, batch: int = 64, lr: float = 0.5, seed: int = 0) -> gc.Function:
    from sklearn.datasets import load_digits
    digits = load_digits()
    images, labels = digits.data[:-HELD_OUT].astype("float32"), digits.target[:-HELD_OUT].astype("int32")
    params = _parameters(seed)
    x, y = gc.matrix("pixels", dtype="float32"), gc.ivector("labels")
    loss = cross_entropy(_probabilities(x, params), y)
    grads = gc.grad(loss, params)
    step = gc.function([x, y], loss, updates=[(v, v - lr * g) for v, g in zip(params, grads)], name="train")
    for _ in range(epochs):
        for start in range(0, len(images), batch):
            step(images[start:start + batch], labels[start:start + batch])
    return _predictor(params)


def _parameters(seed: int) -> list[gc.SharedVariable]:
    """W0, b0, W1, b1, ...: Glorot-uniform weights from ``seed``, zero biases."""
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        params += [gc.shared(glorot(rng, n_in, n_out), name=f"W{k}"), gc.shared(np.zeros(n_out, "float32"), name=f"b{k}")]
    return params


def _probabilities(pixels, params):
    h = pixels / 16.0
    layers = list(zip(params[0::2], params[1::2]))
    for k, (W, b) in enumerate(layers):
        h = h @ W + b
        if k + 1 < len(layers):
            h = gc.tanh(h)
    return gc.softmax(h)


def _predictor(params) -> gc.Function:
    pixels = gc.matrix("pixels", dtype="float32")
    probabilities = _probabilities(pixels, params)
    probabilities.name = "probabilities"
    digit = probabilities.argmax(axis=1)
    digit.name = "digit"
    return gc.function([pixels], [digit, probabilities], name="predict")
