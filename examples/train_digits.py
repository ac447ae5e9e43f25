"""Train a small MLP on scikit-learn's bundled handwritten digits with graphc.

The whole training step (forward, loss, gradients, SGD updates) is one compiled call; prediction is another.
Run with ``make demo``. Ends with the line ``test_accuracy=0.xxxx``."""
from __future__ import annotations

import argparse
import time

import numpy as np

import graphc as gc


def load_data(seed: int):
    """Standardized 8x8 digit images (64 features), a stratified 75/25 split."""
    from sklearn.datasets import load_digits  # here, so importing glorot/cross_entropy (model_digits.py) stays fast
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    X = digits.data.astype("float32")
    y = digits.target.astype("int32")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-6
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def glorot(rng, n_in: int, n_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype("float32")


def cross_entropy(p, y):
    """Mean negative log-likelihood of the labels y under the rows of p, by integer-array indexing."""
    return -gc.mean(gc.log(p)[gc.arange(y.shape[0]), y])


def build(layers: list[tuple[gc.SharedVariable, gc.SharedVariable]], lr: float, **options):
    """One compiled SGD training step and one compiled predictor for an MLP given as (W, b) pairs; ``options``
    go to ``gc.function`` (e.g. ``mode="none"``, to compare with the unoptimized step)."""
    x = gc.matrix("x", dtype="float32")
    y = gc.ivector("y")
    h = x
    for k, (W, b) in enumerate(layers):
        h = h @ W + b
        if k + 1 < len(layers):
            h = gc.tanh(h)
    p = gc.softmax(h)
    loss = cross_entropy(p, y)
    params = [v for pair in layers for v in pair]
    grads = gc.grad(loss, params)
    start = time.perf_counter()
    train = gc.function([x, y], loss, updates=[(v, v - lr * g) for v, g in zip(params, grads)], name="train",
                        **options)
    predict = gc.function([x], p.argmax(axis=1), name="predict", **options)
    compile_s = time.perf_counter() - start
    return train, predict, compile_s


def fit(name: str, sizes: list[int], data, epochs: int, batch: int, lr: float, seed: int) -> float:
    X_train, X_test, y_train, y_test = data
    rng = np.random.default_rng(seed)
    layers = [(gc.shared(glorot(rng, a, b), name=f"W{k}"), gc.shared(np.zeros(b, "float32"), name=f"b{k}"))
              for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    train, predict, compile_s = build(layers, lr)
    origin = "compiled now" if train.program.compiled else "from the cache"
    print(f"[{name}] train+predict ready in {compile_s:.2f} s ({train.backend} backend, {origin})")
    test_acc = 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(X_train))
        losses = [float(train(X_train[idx], y_train[idx]))
                  for idx in (order[i:i + batch] for i in range(0, len(order), batch))]
        elapsed = time.perf_counter() - start
        train_acc = float(np.mean(predict(X_train) == y_train))
        test_acc = float(np.mean(predict(X_test) == y_test))
        print(f"[{name}] epoch {epoch:2d}  loss {np.mean(losses):.4f}  train_acc {train_acc:.4f}  "
              f"test_acc {test_acc:.4f}  time {elapsed * 1e3:.1f} ms")
    return test_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_data(args.seed)
    print(f"digits: {len(data[0])} train / {len(data[1])} test samples, 64 features, 10 classes")
    baseline = fit("logreg", [64, 10], data, max(args.epochs // 2, 1), args.batch, args.lr, args.seed)
    print(f"logistic regression baseline test_acc {baseline:.4f}")
    accuracy = fit("mlp", [64, args.hidden, 10], data, args.epochs, args.batch, args.lr, args.seed)
    print(f"test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
