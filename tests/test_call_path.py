"""The call extension (csrc/graphc_callmodule.c): arguments that are not plain aligned arrays of the input's type
are converted as the Python filter says, and results own their memory."""
import gc as python_gc

import numpy as np
import pytest

import graphc as gc


@pytest.fixture(scope="module")
def add():
    x, y = gc.fvector("x"), gc.fvector("y")
    return gc.function([x, y], x + y)


def test_byte_swapped_unaligned_and_subclassed_inputs_give_numpy_values(add):
    a = np.arange(5, dtype=np.float32)
    swapped = a.astype(">f4")
    raw = np.zeros(5 * 4 + 1, np.uint8)[1:].view(np.float32)      # data one byte off alignment
    raw[:] = a
    assert not raw.flags.aligned
    sub = a.view(type("Sub", (np.ndarray,), {}))
    for arg in (swapped, raw, sub, a[::-1], [0.0, 1, 2, 3, 4]):
        np.testing.assert_array_equal(add(arg, a), np.asarray(arg, np.float32) + a)


def test_wrong_arguments_name_the_input(add):
    with pytest.raises(TypeError, match="'x'.*float64"):
        add(np.zeros(3), np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="'y'.*dimension"):
        add(np.zeros(3, np.float32), np.zeros((3, 1), np.float32))
    with pytest.raises(ValueError, match="shape"):
        add(np.zeros(3, np.float32), np.zeros(4, np.float32))


def test_many_inputs_and_outputs_and_empty_results():
    xs = [gc.dvector(f"x{i}") for i in range(11)]
    outs = [x * (i + 1) for i, x in enumerate(xs)] + [sum(xs)]
    f = gc.function(xs, outs)
    values = [np.full(3, float(i)) for i in range(11)]
    got = f(*values)
    for i, v in enumerate(values):
        np.testing.assert_array_equal(got[i], v * (i + 1))
    np.testing.assert_array_equal(got[-1], sum(values))
    empty = f(*[np.zeros(0)] * 11)
    assert all(r.shape == (0,) and r.dtype == np.float64 for r in empty)


def test_results_own_their_memory_and_outlive_the_function():
    x = gc.dmatrix("x")
    f = gc.function([x], [gc.exp(x), x.sum(axis=0)])
    a = np.random.default_rng(0).standard_normal((50, 40))
    e, s = f(a)
    assert e.flags.c_contiguous and e.flags.writeable and e.base is not None
    del f
    python_gc.collect()
    e += 1                                   # the buffer is still ours to write
    np.testing.assert_allclose(e, np.exp(a) + 1)
    np.testing.assert_allclose(s, a.sum(axis=0))


def test_recycled_output_memory_is_never_shared_with_a_live_array():
    """A large output's buffer goes back to a pool when its last array dies and the next call of that size writes
    into it: arrays (and views) still alive are never written, and a change of shape is still right."""
    x = gc.fmatrix("x")
    f = gc.function([x], [x * 2, x.sum(axis=1)])
    a = np.random.default_rng(5).standard_normal((512, 1024), dtype=np.float32)    # 2 MB outputs
    kept, _ = f(a)
    view = f(a + 1)[0][::2]                       # the array dies, its view keeps the memory
    for k in range(4):
        b = a + k
        got, total = f(b)
        np.testing.assert_array_equal(got, b * 2)
        np.testing.assert_allclose(total, b.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-4)
        assert not np.shares_memory(got, kept) and not np.shares_memory(got, view)
    np.testing.assert_array_equal(kept, a * 2)
    np.testing.assert_array_equal(view, ((a + 1) * 2)[::2])
    for shape in [(256, 1024), (1024, 1024), (512, 1024)]:      # sizes change: smaller, larger, back
        b = np.ones(shape, np.float32)
        np.testing.assert_array_equal(f(b)[0], b * 2)
