"""Model files for the ``graphc`` command: ``path/to/model.py:build`` or ``package.module:build`` names a function,
called without arguments, that returns a ``gc.function`` or the ``(inputs, outputs[, updates])`` to make one.

A model is loaded with the numpy reference backend as the default, so loading compiles nothing (a model that asks
for ``backend="c"`` explicitly still gets it): the command compiles what it needs itself, for the target it was
asked for. What the model prints goes to stderr, so that ``graphc show ... > graph.dot`` stays clean."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Iterator

from graphc.config import config
from graphc.function import Function, function
from graphc.graph.clone import substitute
from graphc.tensor import constant


class TargetError(Exception):
    """The target names no loadable model: a usage error."""


class ModelError(Exception):
    """The model's own code raised. ``detail`` holds the traceback, for ``--verbose``."""

    def __init__(self, message: str, detail: str):
        super().__init__(message)
        self.detail = detail


def load(spec: str) -> Function:
    """The function the target ``spec`` builds."""
    where, _, attr = spec.rpartition(":")
    if not where or not attr.isidentifier():
        raise TargetError(f"target {spec!r} is not of the form path/to/model.py:build or package.module:build")
    with _as_model(spec), _reference_backend(), redirect_stdout(sys.stderr):
        module = _import(where, spec)
        builder = getattr(module, attr, None)
        if not callable(builder):
            raise TargetError(f"{where} has no function {attr!r}" if builder is None else
                              f"{spec} is not a function (it is {type(builder).__name__})")
        result = builder()
        return result if isinstance(result, Function) else _to_function(result, spec)


def default_name(spec: str) -> str:
    """A name for the target's artifacts: the model file's (or module's) own name."""
    where = spec.rpartition(":")[0]
    return Path(where).stem if where.endswith(".py") or "/" in where else where.rpartition(".")[2]


def raw(f: Function) -> Function:
    """``f``'s graph as written: the same inputs, outputs and updates with no rewrites applied."""
    outputs = f.user_fgraph.outputs[:f.n_outputs]
    return function(f.inputs, outputs, updates=f.updates, backend="py", name=f.name, mode="none")


def bake_weights(f: Function) -> Function:
    """``f`` with each shared variable replaced by a constant holding its current value, so the compiled entry
    point takes only the explicit inputs. A function that updates shared variables cannot be baked."""
    if f.updates:
        names = ", ".join(target.name or "?" for target, _ in f.updates)
        raise TargetError(f"--bake-weights: the function updates shared variables ({names}); only a function "
                          f"without updates can have its weights built in")
    constants = {s: constant(s.get_value(), name=s.name) for s in f.shared_inputs}
    outputs = substitute(f.user_fgraph.outputs, constants)
    options = f.rewrite_options
    return function(f.inputs, outputs, backend="py", name=f.name, mode=options.mode, include=options.include,
                    exclude=options.exclude)


def _import(where: str, spec: str):
    if where.endswith(".py") or "/" in where or "\\" in where:
        return _import_file(Path(where), spec)
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise TargetError(f"no module named {where!r} (target {spec}); is it installed or on PYTHONPATH?")
        raise


def _import_file(path: Path, spec: str):
    """Run a model file as a module, with its directory on sys.path, as Python runs a script."""
    if not path.is_file():
        raise TargetError(f"no such model file: {path}")
    name = f"graphc_model_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise TargetError(f"{path} is not a Python file (target {spec})")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _to_function(result, spec: str) -> Function:
    if isinstance(result, dict):
        return function(**result)
    if isinstance(result, (tuple, list)) and len(result) in (2, 3):
        return function(*result)
    raise TargetError(f"{spec} returned {type(result).__name__}; a model returns a gc.function or "
                      f"(inputs, outputs[, updates])")


@contextmanager
def _as_model(spec: str) -> Iterator[None]:
    """Anything the model's code raises (other than not being found) becomes a ModelError naming the target."""
    try:
        yield
    except (TargetError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit too: a model that exits must not end the command silently
        detail = "".join(traceback.format_exception(exc))
        raise ModelError(f"{spec} raised {type(exc).__name__}: {exc}", detail) from exc


@contextmanager
def _reference_backend() -> Iterator[None]:
    previous = config.backend
    config.backend = "py"
    try:
        yield
    finally:
        config.backend = previous
