"""Numerical stability rewrites: each on inputs where the naive graph gives inf or NaN and the rewritten one the
right finite value, and on ordinary inputs where both agree."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from tests.rewrite_helpers import optimized, checked, compile_pair, op_counts, same_values  # noqa: F401
from tests.utils import assert_close, rand


def naive_fails_rewritten_right(inputs, output, values, want, backend="py", **options) -> gc.Function:
    """The graph without rewrites is not finite on ``values``; with them it is, and matches ``want``."""
    f, naive = compile_pair(inputs, output, backend, **options)
    assert not np.all(np.isfinite(naive(*values)))
    got = f(*values)
    assert np.all(np.isfinite(got))
    assert_close(got, want)
    return f


def test_log_sigmoid(backend):
    x = gc.dvector("x")
    y = gc.log(gc.sigmoid(x))
    f = naive_fails_rewritten_right([x], y, [np.array([-1000.0, -30.0, 0.0, 30.0])],
                                    -np.logaddexp(0, -np.array([-1000.0, -30.0, 0.0, 30.0])), backend)
    assert op_counts(f) == {"Elemwise{neg}": 2, "Elemwise{softplus}": 1}
    same_values([x], y, [rand(5)], backend)


def test_log_one_minus_sigmoid():
    x = gc.fvector("x")
    y = gc.log(1 - gc.sigmoid(x))
    values = np.array([200.0, 20.0, -3.0], "float32")
    f = naive_fails_rewritten_right([x], y, [values], -np.logaddexp(0, values).astype("float32"))
    assert op_counts(f) == {"Elemwise{neg}": 1, "Elemwise{softplus}": 1}
    same_values([x], y, [rand(5, "float32")])


def test_log_of_softmax_uses_the_shifted_values(backend):
    x = gc.dmatrix("x")
    y = gc.log(gc.softmax(x, axis=1))
    values = np.array([[0.0, -1000.0, 5.0], [1.0, 2.0, 3.0]])
    want = values - np.log(np.sum(np.exp(values - values.max(1, keepdims=True)), 1, keepdims=True)) \
        - values.max(1, keepdims=True)
    f = naive_fails_rewritten_right([x], y, [values], want, backend)
    assert f.report().fired("log_softmax") == 1
    assert op_counts(f)["Elemwise{exp}"] == 1 and op_counts(f)["Elemwise{true_div}"] == 0
    same_values([x], y, [rand((3, 4))], backend)


def test_log_of_a_hand_written_softmax():
    x = gc.dvector("x")
    e = gc.exp(x)
    y = gc.log(e / gc.sum(e, keepdims=True))
    f = naive_fails_rewritten_right([x], y, [np.array([1000.0, 1000.0])], np.log([0.5, 0.5]))
    assert f.report().fired("log_softmax") == 1
    same_values([x], y, [rand(4)])


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (0, True)])
def test_log_sum_exp(axis, keepdims, backend):
    x = gc.fmatrix("x")
    y = gc.log(gc.sum(gc.exp(x), axis=axis, keepdims=keepdims))
    values = np.array([[1000.0, 1000.0], [-1000.0, 0.0]], "float32")
    m = values.max(axis=axis, keepdims=True)
    want = (np.log(np.sum(np.exp(values - m), axis=axis, keepdims=True)) + m)
    want = want if keepdims else np.squeeze(want, axis=axis)
    f = naive_fails_rewritten_right([x], y, [values], want.astype("float32"), backend)
    assert f.report().fired("logsumexp") == 1
    same_values([x], y, [rand((2, 3), "float32")], backend)


def test_stable_forms_are_not_rewritten_again():
    x = gc.dmatrix("x")
    f = optimized([x], [gc.logsumexp(x, axis=1), gc.log_softmax(x)])
    assert f.report().fired("logsumexp") == 0 and f.report().fired("log_softmax") == 0


def test_log1p():
    x = gc.dvector("x")
    f = naive_fails_rewritten_right([x], x / gc.log(1 + x), [np.array([1e-30, 1e-20])], [1.0, 1.0])
    assert op_counts(f) == {"Elemwise{log1p}": 1, "Elemwise{true_div}": 1}
    same_values([x], gc.log(x + 1.0), [rand(4, low=0, high=5)])


def test_expm1(backend):
    x = gc.fvector("x")
    f = naive_fails_rewritten_right([x], x / (gc.exp(x) - 1), [np.array([1e-30, 1e-20], "float32")],
                                    np.ones(2, "float32"), backend)
    assert op_counts(f) == {"Elemwise{expm1}": 1, "Elemwise{true_div}": 1}
    same_values([x], gc.exp(x) - 1, [rand(4, "float32")], backend)


def test_integer_forms_are_left_alone():
    i = gc.ivector("i")
    f = same_values([i], [gc.log(1 + i), gc.exp(i) - 1], [np.array([2**31 - 1, 0, 3], "int32")])
    assert "Elemwise{log1p}" not in op_counts(f) and "Elemwise{expm1}" not in op_counts(f)
