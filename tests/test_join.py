"""concatenate and stack against numpy: axes (negative, None), dtype promotion, empty and strided inputs, grads."""
import numpy as np
import pytest

import graphc as gc
from graphc.ops.join import Join, Split
from tests.test_blas import dyn_tensor, inferred_shape
from tests.utils import assert_close, check_grad, noncontig, rand


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "bool"])
def test_concatenate_axes(backend, dtype):
    """One function per dtype, reused across shapes and layouts: every axis, negative axes, axis=None."""
    x, y, z = (dyn_tensor(n, dtype, 3) for n in "xyz")
    outs = [gc.concatenate([x, y, z], axis=a) for a in (0, 1, 2, -1, -3)] + [gc.concatenate([x, y], axis=None)]
    f = gc.function([x, y, z], outs, backend=backend)
    rng = np.random.default_rng(2)
    for shape in [(2, 3, 4), (1, 1, 1), (0, 3, 2), (2, 0, 1)]:
        for layout in (np.asarray, noncontig):
            vals = [layout(rand(shape, dtype, rng)) for _ in range(3)]
            want = [np.concatenate(vals, axis=a) for a in (0, 1, 2, -1, -3)] + [np.concatenate(vals[:2], axis=None)]
            for got, w in zip(f(*vals), want):
                assert_close(got, w)


def test_concatenate_unequal_sizes(backend):
    x, y, z = (dyn_tensor(n, "float64", 2) for n in "xyz")
    f = gc.function([x, y, z], gc.concatenate([x, y, z], axis=-2), backend=backend)
    vals = [rand((2, 3)), rand((0, 3)), noncontig(rand((5, 3)))]
    assert_close(f(*vals), np.concatenate(vals, axis=-2))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(1, 4\)"):
        f(rand((2, 3)), rand((1, 4)), rand((1, 3)))


def test_concatenate_promotes_like_numpy(backend):
    pairs = [("int8", "uint8"), ("int8", "bool"), ("float32", "int32"), ("float32", "int8"), ("bool", "bool"),
             ("int64", "float64")]
    inputs = [[dyn_tensor(f"a{i}", da, 1), dyn_tensor(f"b{i}", db, 1)] for i, (da, db) in enumerate(pairs)]
    f = gc.function([v for pair in inputs for v in pair], [gc.concatenate(p) for p in inputs], backend=backend)
    vals = [[rand((3,), da), rand((2,), db)] for da, db in pairs]
    for got, pair in zip(f(*[v for p in vals for v in p]), vals):
        assert_close(got, np.concatenate(pair))


def test_concatenate_static_shapes_and_errors():
    a, b = gc.tensor("a", shape=(2, None)), gc.tensor("b", shape=(3, 4))
    assert gc.concatenate([a, b]).type.shape == (5, 4)
    x = gc.vector("x")
    assert gc.concatenate([x]) is x
    with pytest.raises(ValueError, match="at least one"):
        gc.concatenate([])
    with pytest.raises(ValueError, match="zero-dimensional"):
        gc.concatenate([gc.scalar("s"), gc.scalar("t")])
    with pytest.raises(ValueError, match="same number of dimensions"):
        gc.concatenate([x, gc.matrix("m")])
    with pytest.raises(np.exceptions.AxisError):
        gc.concatenate([x, x], axis=1)
    with pytest.raises(ValueError, match="differ"):
        gc.concatenate([gc.tensor("c", shape=(2, 3)), gc.tensor("d", shape=(2, 4))])


@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_stack(backend, axis):
    x, y = dyn_tensor("x", "float32", 2), dyn_tensor("y", "int16", 2)
    f = gc.function([x, y], gc.stack([x, y, x], axis=axis), backend=backend)
    for shape in [(2, 3), (0, 2), (1, 1)]:
        xv, yv = noncontig(rand(shape, "float32")), rand(shape, "int16")
        assert_close(f(xv, yv), np.stack([xv, yv, xv], axis=axis))


def test_stack_scalars_and_errors(backend):
    s, t = gc.scalar("s"), gc.scalar("t")
    out = gc.stack([s, t, 2.0])
    assert out.type.shape == (3,)
    assert_close(gc.function([s, t], out, backend=backend)(1.0, 3.0), np.array([1.0, 3.0, 2.0]))
    with pytest.raises(ValueError, match="at least one"):
        gc.stack([])
    with pytest.raises(ValueError, match="same shape"):
        gc.stack([gc.vector("v"), gc.matrix("m")])
    with pytest.raises(np.exceptions.AxisError):
        gc.stack([s, t], axis=2)


@pytest.mark.parametrize("axis,shapes", [(0, [(2, 3), (1, 3), (3, 3)]), (1, [(2, 1), (2, 3)]),
                                         (-1, [(2, 2, 2), (2, 2, 1)])])
def test_concatenate_grad(backend, axis, shapes):
    check_grad(lambda *xs: gc.sin(gc.concatenate(xs, axis=axis)).sum(), [rand(s) for s in shapes], backend)


def test_stack_grad(backend):
    check_grad(lambda a, b: gc.sin(gc.stack([a, b, a], axis=1)).sum(), [rand((2, 3)), rand((2, 3))], backend)


def test_concatenate_grad_skips_int_inputs(backend):
    x = gc.vector("x")
    ints = gc.constant(np.arange(3, dtype="int32"))
    g = gc.grad(gc.sin(gc.concatenate([ints, x])).sum(), x)
    xv = rand((4,))
    assert_close(gc.function([x], g, backend=backend)(xv), np.cos(xv))


def test_split(backend):
    """Join's gradient, used directly: sizes are checked at run time, unused pieces get zero gradient."""
    x, n = gc.matrix("x"), gc.lscalar("n")
    pieces = Split(0).make_node(x, n, 2).outputs
    f = gc.function([x, n], pieces, backend=backend)
    xv = noncontig(rand((5, 3)))
    for got, want in zip(f(xv, 3), [xv[:3], xv[3:]]):
        assert_close(got, want)
    with pytest.raises(ValueError, match="do not add up"):
        f(xv, 1)
    with pytest.raises(ValueError, match="do not add up"):
        Split(1).make_node(gc.tensor("y", shape=(2, 4)), 1, 2)
    check_grad(lambda a: gc.sin(Split(1).make_node(a, 1, 2).outputs[1]).sum(), [rand((2, 3))], backend)
    assert isinstance(gc.grad(gc.sin(pieces[0]).sum(), x).owner.op, Join)


def test_infer_shape(backend):
    x, y, z, n = gc.matrix("x"), gc.tensor("y", shape=(None, 3)), gc.matrix("z"), gc.lscalar("n")
    outs = [gc.concatenate([x, y]), gc.concatenate([x, z, x], axis=1), *Split(1).make_node(x, n, 1).outputs]
    f = gc.function([x, y, z, n], outs + [inferred_shape(o) for o in outs], backend=backend)
    values = f(rand((2, 3)), rand((4, 3)), rand((2, 5)), 2)
    assert [list(o.shape) for o in values[:4]] == [list(s) for s in values[4:]]
