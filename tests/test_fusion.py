"""Elementwise fusion: groups become one kernel, values stay numpy's, and refusals are reported."""
import numpy as np
import pytest

import graphc as gc
from graphc.ops.fused import FusedElemwise
from tests.utils import assert_close, noncontig, rand


def kernels(f) -> int:
    """Loop kernels the compiled graph runs (views and shape queries are not kernels)."""
    return sum(1 for n in f.fgraph.apply_nodes if n.op.view_of_input is None and type(n.op).__name__ != "ShapeI")


def chain(x, y):
    z = x * 1.5 + y
    z = z * z - 0.5 * y
    return (z + 2.0) * (x - 1.0) / (y * y + 1.0)


def test_chain_becomes_one_kernel_and_matches_numpy(backend):
    x, y = gc.fmatrix("x"), gc.fmatrix("y")
    fused = gc.function([x, y], chain(x, y), backend=backend)
    unfused = gc.function([x, y], chain(x, y), backend=backend, exclude=["fusion"])
    assert kernels(fused) == 1 and kernels(unfused) == 11
    for shape in [(3, 4), (0, 5), (1, 1), (7, 1)]:
        a, b = rand(shape, "float32"), rand(shape, "float32")
        assert_close(fused(a, b), chain(a, b))
        assert_close(fused(noncontig(a), b.T.copy().T), chain(a, b))
        assert_close(unfused(a, b), chain(a, b))


def test_broadcasting_mixed_dtypes_and_multiple_outputs(backend):
    x, v, n = gc.dmatrix("x"), gc.fvector("v"), gc.ivector("n")
    e = gc.exp(x * 0.5) + v           # float64 with float32 broadcast along rows
    k = (n * 3) % 5                    # int32 chain, fused separately (different rank)
    outs = [e, gc.tanh(e) - e * 2.0, k]
    f = gc.function([x, v, n], outs, backend=backend)
    fused = [node for node in f.fgraph.apply_nodes if isinstance(node.op, FusedElemwise)]
    assert len(fused) == 2 and any(len(node.outputs) == 2 for node in fused)
    a, b, c = rand((4, 3)), rand((3,), "float32"), np.arange(-3, 0, dtype="int32")
    got = f(a, b, c)
    want_e = np.exp(a * 0.5) + b
    assert_close(got[0], want_e)
    assert_close(got[1], np.tanh(want_e) - want_e * 2.0)
    assert_close(got[2], (c * 3) % 5)


def test_runtime_broadcast_in_a_multi_output_group(backend):
    """An exported intermediate keeps its own (smaller) shape when a dim broadcasts only at run time."""
    a, b = gc.dmatrix("a"), gc.dmatrix("b")
    t = gc.exp(a) * 2.0
    f = gc.function([a, b], [t, t + b], backend=backend)
    av, bv = rand((1, 3)), rand((4, 3))
    got = f(av, bv)
    assert got[0].shape == (1, 3)
    assert_close(got[0], np.exp(av) * 2.0)
    assert_close(got[1], np.exp(av) * 2.0 + bv)


def test_small_int_intermediates_wrap_as_unfused(backend):
    x = gc.bvector("x")
    f = gc.function([x], (x * 100 + 100) // 3, backend=backend)
    a = np.array([1, 2, -5, 127], dtype="int8")
    with np.errstate(over="ignore"):
        assert_close(f(a), (a * np.int8(100) + np.int8(100)) // np.int8(3))


def test_broadcast_producers_are_not_fused_and_the_report_says_why():
    x, v = gc.dmatrix("x"), gc.dvector("v")
    f = gc.function([x, v], gc.exp(x) * gc.exp(v), backend="py")
    notes = [n for r in f.report().records for n in r.notes]
    assert any("broadcasts into the group" in n for n in notes)
    assert kernels(f) == 2


def test_cycle_through_an_outside_node_is_refused():
    x = gc.dmatrix("x")
    a = gc.exp(x)
    s = a.sum(axis=1, keepdims=True)   # a reduction between two elementwise ops
    # (recompute_for_reductions would give the sum its own exp, which removes the cycle)
    f = gc.function([x], a / s + a, backend="py", exclude=["recompute_for_reductions"])
    notes = [n for r in f.report().records for n in r.notes]
    assert any("depend on itself" in n for n in notes)
    xv = rand((3, 4))
    e = np.exp(xv)
    assert_close(f(xv), e / e.sum(axis=1, keepdims=True) + e)


def test_dprint_shows_the_scalar_program():
    x, y = gc.fvector("x"), gc.fvector("y")
    text = gc.dprint(gc.function([x, y], gc.exp(x) * y, backend="py"), file="str")
    assert " ╎ t0 = exp(in0)\n ╎ t1 = mul(t0, in1)\n" in text
    assert 'kind="fused"' in gc.to_dot(gc.function([x, y], gc.exp(x) * y, backend="py"))


def test_elementwise_program_fused_into_its_reduction(backend):
    x = gc.dmatrix("x")
    outs = [gc.logsumexp(x, axis=1), (gc.exp(x) * 2).sum(axis=0), gc.max(x * x, axis=1, keepdims=True)]
    f = gc.function([x], outs, backend=backend)
    assert sum(type(n.op).__name__ == "FusedReduce" for n in f.fgraph.apply_nodes) == 3
    for shape in [(5, 4), (0, 3), (1, 1)]:
        v = rand(shape)
        if shape[1] == 0:
            continue
        got = f(v)
        want = [np.log(np.exp(v).sum(axis=1)), (np.exp(v) * 2).sum(axis=0), (v * v).max(axis=1, keepdims=True)]
        for g, w in zip(got, want):
            assert_close(g, w)
    assert_close(f(np.zeros((0, 3)))[1], np.zeros(3))


def test_a_value_shared_by_two_groups_is_computed_once():
    """A member exported by one group and read by another group built in the same pass is not recomputed."""
    x = gc.fmatrix("x")
    w = gc.shared(np.ones((3, 4), "float32"), name="w")
    h = gc.tanh(x @ w)
    cost = (gc.exp(h * 2 + 1) @ w.T).sum()
    f = gc.function([x], cost, updates=[(w, w - 0.1 * gc.grad(cost, w))], backend="py")
    tanh_steps = sum(1 for n in f.fgraph.apply_nodes
                     for s in getattr(getattr(n.op, "composite", None), "steps", ())
                     if s.op.name == "tanh")
    plain = sum(1 for n in f.fgraph.apply_nodes if str(n.op) == "Elemwise{tanh}")
    assert tanh_steps + plain == 1


def test_a_reduction_recomputes_its_elementwise_input_instead_of_sharing_it(backend):
    x = gc.dmatrix("x")
    e = gc.exp(x - x.max(axis=1, keepdims=True))
    f = gc.function([x], e / e.sum(axis=1, keepdims=True), backend=backend)
    kinds = sorted(type(n.op).__name__ for n in f.fgraph.apply_nodes)
    assert kinds.count("FusedReduce") == 1 and kinds.count("FusedElemwise") >= 1 and "Elemwise" not in kinds
    xv = rand((5, 40))
    want = np.exp(xv - xv.max(axis=1, keepdims=True))
    assert_close(f(xv), want / want.sum(axis=1, keepdims=True))
