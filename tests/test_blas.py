"""dot and matmul against numpy: ranks 0-4, dtypes, empty and size-1 dims, strided inputs, broadcast batches."""
import numpy as np
import pytest

import graphc as gc
from graphc.ops.blas import BatchedMatmul, Dot
from graphc.ops.shape import MakeVector, shape_tuple
from tests.utils import assert_close, check_grad, noncontig, rand

# (m, k, n) triples: ordinary, empty along each dim, size 1 everywhere
SIZES = [(3, 4, 5), (0, 4, 5), (3, 0, 5), (3, 4, 0), (1, 1, 1)]
DTYPE_PAIRS = [("float64", "float64"), ("float32", "float32"), ("int32", "int32"), ("bool", "bool"),
               ("int8", "float32"), ("uint8", "int16")]


def dyn_tensor(name, dtype, ndim):
    """A symbolic input with no static sizes, so one compiled function serves every shape."""
    return gc.tensor(name, dtype, shape=(None,) * ndim)


def inferred_shape(out):
    """``out``'s shape as its op's infer_shape computes it symbolically (what the memory plan will use)."""
    node = out.owner
    return MakeVector()(*node.op.infer_shape(node, [shape_tuple(i) for i in node.inputs])[out.index])


@pytest.mark.parametrize("da,db", DTYPE_PAIRS)
def test_dot_ranks_dtypes_sizes(backend, da, db):
    """One compiled function covers the four rank combinations; it is reused across sizes and layouts."""
    a2, a1, b2, b1 = dyn_tensor("a2", da, 2), dyn_tensor("a1", da, 1), dyn_tensor("b2", db, 2), dyn_tensor("b1", db, 1)
    f = gc.function([a2, a1, b2, b1], [gc.dot(a2, b2), gc.dot(a2, b1), gc.dot(a1, b2), gc.dot(a1, b1)],
                    backend=backend)
    rng = np.random.default_rng(1)
    for (m, k, n) in SIZES:
        for layout in (np.asarray, noncontig):
            vals = [layout(rand(s, d, rng)) for s, d in [((m, k), da), ((k,), da), ((k, n), db), ((k,), db)]]
            a2v, a1v, b2v, b1v = vals
            want = [np.dot(a2v, b2v), np.dot(a2v, b1v), np.dot(a1v, b2v), np.dot(a1v, b1v)]
            for got, w in zip(f(*vals), want):
                assert_close(got, w)


def test_dot_with_scalar_multiplies(backend):
    s, m, v = gc.scalar("s", "float32"), gc.matrix("m", "float32"), gc.vector("v", "int16")
    f = gc.function([s, m, v], [gc.dot(s, m), gc.dot(v, s), gc.dot(2.0, m)], backend=backend)
    sv, mv, vv = np.float32(1.5), rand((2, 3), "float32"), rand((4,), "int16")
    for got, want in zip(f(sv, mv, vv), [np.dot(sv, mv), np.dot(vv, sv), np.dot(2.0, mv)]):
        assert_close(got, want)


def test_dot_static_shapes_and_errors(backend):
    a = gc.tensor("a", shape=(3, None))
    b = gc.tensor("b", shape=(None, 5))
    assert gc.dot(a, b).type.shape == (3, 5)
    assert gc.dot(gc.tensor("v", shape=(4,)), b).type.shape == (5,)
    with pytest.raises(ValueError, match="not aligned"):
        gc.dot(gc.tensor("c", shape=(3, 4)), gc.tensor("d", shape=(5, 2)))
    with pytest.raises(TypeError, match="matmul"):
        gc.dot(gc.tensor3("t"), gc.matrix("m"))
    f = gc.function([a, b], a.dot(b), backend=backend)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(2, 5\)"):
        f(np.ones((3, 4)), np.ones((2, 5)))


def test_builders_cast_then_emit_one_op():
    """The builders cast to one dtype and emit a single Dot; ranks >= 3 use BatchedMatmul."""
    out = gc.dot(gc.matrix("a", "int8"), gc.vector("b", "float32"))
    assert isinstance(out.owner.op, Dot) and out.dtype == "float32"
    assert {i.dtype for i in out.owner.inputs} == {"float32"}
    assert isinstance((gc.tensor3("x") @ gc.matrix("y")).owner.op, BatchedMatmul)


# rank pair -> (shape of a, shape of b) cases: batch broadcasting, empty and size-1 dims
MATMUL_CASES = {
    (3, 3): [((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (6, 4, 2)), ((6, 3, 4), (1, 4, 2)), ((0, 3, 4), (1, 4, 2)),
             ((2, 3, 0), (2, 0, 5)), ((2, 1, 1), (2, 1, 1))],
    (4, 3): [((2, 1, 3, 4), (5, 4, 2)), ((1, 2, 3, 4), (2, 4, 0))],
    (3, 2): [((2, 3, 4), (4, 5)), ((2, 0, 4), (4, 5))],
    (2, 3): [((3, 4), (2, 4, 5))],
    (1, 3): [((4,), (2, 4, 5)), ((0,), (2, 0, 5))],
    (3, 1): [((2, 3, 4), (4,))],
    (2, 2): [((3, 4), (4, 5))],
    (1, 1): [((4,), (4,)), ((0,), (0,))],
    (4, 4): [((2, 1, 3, 4), (1, 3, 4, 2))],
}


@pytest.mark.parametrize("ranks", list(MATMUL_CASES), ids=lambda r: f"{r[0]}d@{r[1]}d")
def test_matmul_ranks(backend, ranks):
    a, b = dyn_tensor("a", "float64", ranks[0]), dyn_tensor("b", "float64", ranks[1])
    f = gc.function([a, b], a @ b, backend=backend)
    for sa, sb in MATMUL_CASES[ranks]:
        for layout in (np.asarray, noncontig):
            av, bv = layout(rand(sa)), layout(rand(sb))
            assert_close(f(av, bv), np.matmul(av, bv))


@pytest.mark.parametrize("da,db", DTYPE_PAIRS[1:])
def test_matmul_dtypes(backend, da, db):
    a, b = dyn_tensor("a", da, 3), dyn_tensor("b", db, 3)
    f = gc.function([a, b], gc.matmul(a, b), backend=backend)
    av, bv = rand((2, 3, 4), da), rand((1, 4, 5), db)
    assert_close(f(av, bv), np.matmul(av, bv))


def test_matmul_static_shapes_and_errors(backend):
    a = gc.tensor("a", shape=(1, None, 3, None))
    b = gc.tensor("b", shape=(7, None, 5))
    assert (a @ b).type.shape == (1, 7, 3, 5)
    assert (gc.tensor("v", shape=(4,)) @ gc.tensor("c", shape=(2, 4, 5))).type.shape == (2, 5)
    with pytest.raises(ValueError, match="at least one dimension"):
        gc.matmul(gc.vector("v"), 2.0)
    with pytest.raises(ValueError, match="not aligned"):
        gc.tensor("c", shape=(2, 3, 4)) @ gc.tensor("d", shape=(2, 5, 6))
    with pytest.raises(ValueError, match="broadcast"):
        gc.tensor("c", shape=(2, 3, 4)) @ gc.tensor("d", shape=(3, 4, 6))
    x, y = gc.tensor3("x"), gc.tensor3("y")
    f = gc.function([x, y], x @ y, backend=backend)
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(3, 3, 4\)"):
        f(np.ones((2, 2, 3)), np.ones((3, 3, 4)))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(2, 4, 4\)"):
        f(np.ones((2, 2, 3)), np.ones((2, 4, 4)))


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((3, 4), (4,)), ((4,), (4, 2)), ((4,), (4,))])
def test_dot_grad(backend, sa, sb):
    check_grad(lambda a, b: gc.sin(gc.dot(a, b)).sum(), [rand(sa), rand(sb)], backend)


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 4, 2)),
                                   ((1, 3, 4), (2, 4, 2)),  # batch dim broadcast at run time
                                   ((3, 4), (2, 4, 2)),     # rank padding
                                   ((4,), (2, 4, 2)),       # 1-d promotion
                                   ((2, 1, 3, 4), (3, 4, 2))])
def test_matmul_grad(backend, sa, sb):
    check_grad(lambda a, b: gc.sin(a @ b).sum(), [rand(sa), rand(sb)], backend)


def test_infer_shape(backend):
    a3, b3, a2, v = dyn_tensor("a3", "float64", 3), dyn_tensor("b3", "float64", 3), gc.matrix("a2"), gc.vector("v")
    outs = [gc.dot(a2, v), gc.dot(v, a2), BatchedMatmul()(a3, b3)]
    f = gc.function([a3, b3, a2, v], outs + [inferred_shape(o) for o in outs], backend=backend)
    values = f(rand((1, 2, 3)), rand((4, 3, 5)), rand((3, 3)), rand((3,)))
    assert [list(o.shape) for o in values[:3]] == [list(s) for s in values[3:]]
