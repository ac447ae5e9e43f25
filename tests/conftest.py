import importlib.util
from pathlib import Path

import pytest

from tests.utils import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs a test once per backend: the numpy reference ("py") and generated C ("c")."""
    return request.param


@pytest.fixture(scope="module")
def demo():
    """examples/train_digits.py as a module (the main job's model, data and training step)."""
    path = Path(__file__).resolve().parent.parent / "examples" / "train_digits.py"
    spec = importlib.util.spec_from_file_location("train_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
