"""JAX on CPU: ``jax.jit`` of the same math, ``value_and_grad`` for the training step; every thunk waits for its
result (``block_until_ready``), as JAX's documentation says to time asynchronous dispatch."""
from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from bench.workloads import mlp_loss

VERSION = jax.__version__


def _cross_entropy(logits: Any, y: Any) -> Any:
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), y[:, None], axis=1))


m = SimpleNamespace(exp=jnp.exp, sin=jnp.sin, tanh=jnp.tanh, softmax=lambda a: jax.nn.softmax(a, axis=-1),
                    logsumexp=lambda a: jax.nn.logsumexp(a, axis=-1), cross_entropy=_cross_entropy)


def setup(variant: str) -> None:
    global VERSION
    VERSION = f"{jax.__version__} ({jax.default_backend()})"


def compile(fn: Callable[..., Any], arrays: list[np.ndarray], trust: bool = False) -> Callable[[], Any] | None:
    if trust:
        return None
    f = jax.jit(fn)
    args = [jnp.asarray(a) for a in arrays]
    return lambda: f(*args).block_until_ready()


def train_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               example: bool = False) -> tuple[Callable[[], Any], Callable[[], list[np.ndarray]]]:
    @functools.partial(jax.jit, donate_argnums=0)
    def step(params: list, x: Any, y: Any) -> tuple[list, Any]:
        loss, grads = jax.value_and_grad(lambda p: mlp_loss(m, p, x, y))(params)
        return [p - lr * g for p, g in zip(params, grads)], loss

    state = [jnp.asarray(p) for p in params]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run() -> Any:
        nonlocal state
        state, loss = step(state, xj, yj)
        return jax.block_until_ready((state, loss))[1]

    return run, lambda: [np.asarray(p) for p in state]


def to_numpy(value: Any) -> np.ndarray:
    return np.asarray(value)
