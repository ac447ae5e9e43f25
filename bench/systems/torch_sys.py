"""PyTorch on CPU: ``torch.compile`` (default inductor backend) of the same math, on 2 threads, inference under
``torch.no_grad``. The training step is one compiled function: gradients by ``torch.func.grad_and_value``
(autograd's functional form, which torch.compile traces into the same graph) and an in-place SGD update under
``no_grad``. ``loss.backward()`` inside a compiled function breaks the graph in two; measured on 1 thread here,
that form took 2.8x as long on the digits step and 1.1x as long on 784-512-10."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from bench.workloads import mlp_loss

VERSION = torch.__version__
m = SimpleNamespace(exp=torch.exp, sin=torch.sin, tanh=torch.tanh, softmax=lambda a: torch.softmax(a, dim=-1),
                    logsumexp=lambda a: torch.logsumexp(a, dim=-1), cross_entropy=F.cross_entropy)


def setup(variant: str) -> None:
    global VERSION
    torch.set_num_threads(2)
    VERSION = f"{torch.__version__} (inductor, {torch.get_num_threads()} threads)"


def compile(fn: Callable[..., Any], arrays: list[np.ndarray], trust: bool = False) -> Callable[[], Any] | None:
    if trust:
        return None
    f = torch.no_grad()(torch.compile(fn))
    args = [torch.from_numpy(a) for a in arrays]
    return lambda: f(*args)


def train_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float,
               example: bool = False) -> tuple[Callable[[], Any], Callable[[], list[np.ndarray]]]:
    state = [torch.tensor(p) for p in params]
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))  # cross_entropy takes int64 targets

    @torch.compile
    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        grads, loss = torch.func.grad_and_value(lambda p: mlp_loss(m, p, x, y))(state)
        with torch.no_grad():
            for p, g in zip(state, grads):
                p.sub_(lr * g)
        return loss

    return lambda: step(xt, yt), lambda: [p.detach().numpy().copy() for p in state]


def to_numpy(value: Any) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
