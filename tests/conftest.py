import pytest

from tests.utils import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs a test once per backend: the numpy reference ("py") and generated C ("c")."""
    return request.param
