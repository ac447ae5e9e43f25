"""gc.function: argument checking, outputs the caller owns, borrow, updates (simultaneous, atomic), threads."""
import threading

import numpy as np
import pytest

import graphc as gc
from tests.utils import noncontig


@pytest.fixture(scope="module")
def add_fns():
    x = gc.fvector("x")
    y = gc.fvector("y")
    return {b: gc.function([x, y], x + y, backend=b) for b in ("py", "c")}


def test_single_output_is_array_and_list_gives_list(backend):
    x = gc.dvector("x")
    assert isinstance(gc.function([x], x * 2, backend=backend)(np.ones(3)), np.ndarray)
    out = gc.function([x], [x * 2, x + 1], backend=backend)(np.ones(3))
    assert isinstance(out, list) and len(out) == 2


def test_wrong_count_and_unknown_keyword(add_fns, backend):
    f = add_fns[backend]
    with pytest.raises(TypeError, match="takes 2 input"):
        f(np.ones(1, "f"))
    with pytest.raises(TypeError, match="unknown input name"):
        f(np.ones(1, "f"), z=np.ones(1, "f"))
    np.testing.assert_array_equal(f(np.ones(2, "f"), y=np.ones(2, "f")), [2, 2])


def test_unsafe_dtype_is_a_type_error_naming_the_input(add_fns, backend):
    with pytest.raises(TypeError, match="input 'y'.*float64"):
        add_fns[backend](np.ones(2, "f"), np.ones(2, "float64"))


def test_safe_cast_and_python_values_are_accepted(add_fns, backend):
    out = add_fns[backend](np.ones(2, "int16"), [1.5, 2.5])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [2.5, 3.5])


def test_wrong_ndim_is_a_type_error(add_fns, backend):
    with pytest.raises(TypeError, match="input 'x'.*1 dimension"):
        add_fns[backend](np.ones((2, 2), "f"), np.ones(2, "f"))


def test_static_shape_mismatch_names_input_and_both_shapes(backend):
    x = gc.tensor("x", "float32", shape=(None, 3))
    f = gc.function([x], x * 2, backend=backend)
    with pytest.raises(ValueError, match=r"input 'x': expected shape \(\?, 3\), got \(2, 4\)"):
        f(np.ones((2, 4), "f"))


def test_runtime_shape_mismatch_is_a_value_error(add_fns, backend):
    with pytest.raises(ValueError, match="broadcast"):
        add_fns[backend](np.ones(3, "f"), np.ones(4, "f"))


def test_noncontiguous_and_readonly_inputs(add_fns, backend):
    a = noncontig(np.arange(5, dtype="f"))
    b = np.arange(10, dtype="f")[::-2]
    b_ro = b.copy()
    b_ro.setflags(write=False)
    np.testing.assert_array_equal(add_fns[backend](a, b), a + b)
    np.testing.assert_array_equal(add_fns[backend](a, b_ro), a + b_ro)


def test_outputs_are_owned_and_not_aliased(backend):
    x = gc.dvector("x")
    f = gc.function([x], [x, x * 1, x.T, x * 1], backend=backend)
    value = np.arange(3.0)
    outs = f(value)
    for out in outs:
        assert not np.shares_memory(out, value)
        assert out.flags.writeable and out.flags.c_contiguous
    outs[1][0] = 42.0
    assert outs[3][0] == 0.0 and value[0] == 0.0


def test_borrow_reuses_output_buffers_between_calls():
    x = gc.dvector("x")
    f = gc.function([x], x * 2, borrow=True)
    first = f(np.ones(4))
    second = f(np.full(4, 3.0))
    assert np.shares_memory(first, second)
    np.testing.assert_array_equal(second, 6.0)
    third = f(second)  # an input that is last call's output is never written into while read
    np.testing.assert_array_equal(third, 12.0)
    fresh = gc.function([x], x * 2)
    assert not np.shares_memory(fresh(np.ones(4)), fresh(np.ones(4)))


def test_updates_are_simultaneous(backend):
    a = gc.shared(np.array([1.0]), name="a")
    b = gc.shared(np.array([2.0]), name="b")
    f = gc.function([], [], updates=[(a, b), (b, a)], backend=backend)
    f()
    assert a.get_value()[0] == 2.0 and b.get_value()[0] == 1.0


def test_failed_call_leaves_shared_variables_unchanged(backend):
    w = gc.shared(np.zeros(3), name="w")
    c = gc.shared(np.zeros(3), name="c")
    x = gc.dvector("x")
    f = gc.function([x], [], updates=[(w, w + 1), (c, c + x)], backend=backend)
    f(np.ones(3))
    with pytest.raises(ValueError):
        f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), 1.0)
    np.testing.assert_array_equal(c.get_value(), 1.0)


def test_shared_get_set_value_copy_semantics():
    value = np.zeros(2)
    w = gc.shared(value, name="w")
    value[0] = 5
    assert w.get_value()[0] == 0
    got = w.get_value()
    got[1] = 7
    assert w.get_value()[1] == 0
    w.set_value(np.ones(2))
    np.testing.assert_array_equal(w.get_value(), 1)
    with pytest.raises(TypeError, match="'w'"):
        w.set_value(np.ones((2, 2)))


def test_update_type_checks():
    w = gc.shared(np.zeros(3, "f"), name="w")
    x = gc.fmatrix("x")
    with pytest.raises(TypeError, match="dims"):
        gc.function([x], [], updates=[(w, x)])
    with pytest.raises(TypeError, match="not a shared variable"):
        gc.function([x], [], updates=[(x, x)])


def test_inputs_must_be_free_variables():
    x = gc.dvector("x")
    with pytest.raises(TypeError, match="free variables"):
        gc.function([x * 2], x)
    with pytest.raises(ValueError, match="not among the function's inputs"):
        gc.function([], x * 2)


def test_trust_input_skips_checks(add_fns):
    f = add_fns["c"]
    f.trust_input = True
    try:
        np.testing.assert_array_equal(f(np.ones(2, "f"), np.ones(2, "f")), [2, 2])
    finally:
        f.trust_input = False


def test_two_threads_call_one_function(backend):
    x = gc.dmatrix("x")
    f = gc.function([x], (gc.tanh(x) * 2).sum(axis=1), backend=backend)
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(200 + k, 300)) for k in range(8)]
    errors = []

    def work(k):
        for _ in range(20):
            got = f(data[k])
            if not np.allclose(got, (np.tanh(data[k]) * 2).sum(axis=1)):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_config_floatx_from_environment():
    import subprocess
    import sys
    code = "import graphc as gc; print(gc.config.floatX, gc.matrix('x').dtype)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "GRAPHC_FLAGS": "floatX=float32"})
    assert out.stdout.split() == ["float32", "float32"]


def test_import_is_light():
    import subprocess
    import sys
    code = ("import sys, graphc; heavy = [m for m in ('jinja2', 'networkx', 'cffi') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
