"""Indexing against numpy: basic and integer-array indexing, set/inc_subtensor, errors, shapes and gradients.

Each test compiles one function for many index expressions and runs it on several shapes, to keep compiles few."""
import numpy as np
import pytest

import graphc as gc
from graphc.ops.shape import ShapeI, shape_tuple
from graphc.ops.subtensor import AdvancedSubtensor, IncSubtensor, Subtensor
from tests.utils import assert_close, check_grad, rand

S = slice
A = np.array

# Each case maps the scalars (i, j) to an index; they are symbolic (int64, int32) or their numpy values.
BASIC = {
    "ints": [lambda i, j: 1, lambda i, j: -1, lambda i, j: (1, 2), lambda i, j: (-2, -3, 0),
             lambda i, j: (0, S(None), 1), lambda i, j: np.int32(2)],
    "slices": [lambda i, j: S(1, 3), lambda i, j: S(None, None, 2), lambda i, j: S(None, None, -1),
               lambda i, j: S(-1, 0, -2), lambda i, j: S(-100, 100), lambda i, j: (S(None), S(3, 0, -1)),
               lambda i, j: (S(1, None), S(None, -1), S(None, None, -2)), lambda i, j: S(5, 1),
               lambda i, j: (S(2, 2), 0), lambda i, j: (S(None), S(None), S(None))],
    "newaxis_ellipsis": [lambda i, j: None, lambda i, j: (None, 0, None), lambda i, j: Ellipsis,
                         lambda i, j: (Ellipsis, 1), lambda i, j: (0, Ellipsis, None),
                         lambda i, j: (None, Ellipsis, S(None, None, -1), None), lambda i, j: ()],
    "symbolic": [lambda i, j: i, lambda i, j: (S(None), j), lambda i, j: S(i, None), lambda i, j: S(None, j),
                 lambda i, j: S(j, i, -1), lambda i, j: S(None, None, i), lambda i, j: (S(None), S(None, None, j)),
                 lambda i, j: (i, S(j, None, i)), lambda i, j: (Ellipsis, S(j, i))],
}
ADVANCED = {
    "arrays": [lambda i, j: [0, 2], lambda i, j: [-1, 0, 0], lambda i, j: A([[0, 1], [2, 0]]),
               lambda i, j: ([1, 0], [0, 2]), lambda i, j: (S(None), [2, 0, 1]),
               lambda i, j: (S(None), S(None), [1, 0, 1, -1]), lambda i, j: [],
               lambda i, j: (A([1]), S(None), A([[0], [1]])), lambda i, j: ([[0], [1]], [0, 1, 2])],
    "mixed": [lambda i, j: (S(1, None), [0, 2]), lambda i, j: ([0, 2], S(None, None, -1)),
              lambda i, j: (0, S(None), [1, 0]), lambda i, j: (S(None), [1, 0], 0),
              lambda i, j: ([0, 1], None, [1, 0]), lambda i, j: (None, [1, 2], Ellipsis, [0, 0]),
              lambda i, j: (S(None), [0, 1], Ellipsis, [1, 0]), lambda i, j: (Ellipsis, [0, 1]),
              lambda i, j: (i, S(None), [0, 1]), lambda i, j: (S(None, None, -1), [[1], [0]], S(j, None)),
              lambda i, j: (None, i, S(None), [[1, 1]])],
}
SHAPES = [(4, 5, 3), (3, 4, 2)]
SCALARS = [(1, -1), (2, -3), (-1, 2)]


def check_cases(backend, cases, shapes, dtype="float64", scalars=SCALARS):
    """One function computing x[case(i, j)] for every case, compared with numpy on each shape and (i, j)."""
    x = gc.tensor("x", dtype, ndim=len(shapes[0]))
    i, j = gc.lscalar("i"), gc.iscalar("j")
    outs = [x[case(i, j)] for case in cases]
    f = gc.function([x, i, j], outs, backend=backend)
    for shape in shapes:
        a = rand(shape, dtype)
        for iv, jv in scalars:
            for k, (case, out, got) in enumerate(zip(cases, outs, f(a, iv, jv))):
                want = a[case(iv, jv)]
                assert_close(got, want)
                assert out.type.is_compatible(got.shape), (k, out.type, got.shape)


@pytest.mark.parametrize("group", sorted(BASIC))
def test_basic_indexing(backend, group):
    check_cases(backend, BASIC[group], SHAPES)


@pytest.mark.parametrize("group", sorted(ADVANCED))
def test_advanced_indexing(backend, group):
    check_cases(backend, ADVANCED[group], SHAPES)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int8", "bool"])
def test_dtypes(backend, dtype):
    cases = [lambda i, j: 1, lambda i, j: (S(None, None, -1), i), lambda i, j: ([0, 0, 2], S(1, None))]
    check_cases(backend, cases, SHAPES, dtype, scalars=[(1, 0)])


def test_size_zero_and_one_dims(backend):
    cases = [lambda i, j: (S(None), S(None), [0, 0]), lambda i, j: S(1, None), lambda i, j: S(None, None, -1),
             lambda i, j: [], lambda i, j: (Ellipsis, 0), lambda i, j: None, lambda i, j: S(0, 0),
             lambda i, j: (S(i, None), S(None, j))]
    check_cases(backend, cases, [(0, 3, 1), (1, 0, 2), (1, 1, 1)], scalars=[(0, 1), (1, -1)])


def test_symbolic_index_arrays(backend):
    x = gc.dmatrix("x")
    v, m = gc.lvector("v"), gc.imatrix("m")
    f = gc.function([x, v, m], [x[v], x[:, v], x[m], x[m, m], x[m, ::-1], x[1:, m]], backend=backend)
    for shape, vv, mv in [((4, 3), [0, -1, 2, 2], [[1, 0], [2, 2], [0, 0]]), ((5, 4), [3], [[-1]])]:
        a, vv, mv = rand(shape), A(vv), A(mv, dtype="int32")
        for got, want in zip(f(a, vv, mv), [a[vv], a[:, vv], a[mv], a[mv, mv], a[mv, ::-1], a[1:, mv]]):
            assert_close(got, want)


def check_writes(backend, cases, dtype="float64", shape=(4, 5, 3)):
    """set_subtensor and inc_subtensor of x[index] with a value of ``y_shape``, against numpy assignment and
    np.add.at, for every (index, y_shape) case, in one function."""
    x = gc.tensor("x", dtype, ndim=len(shape))
    ys = [gc.tensor(f"y{k}", dtype, ndim=len(y_shape)) for k, (_, y_shape) in enumerate(cases)]
    outs = []
    for (index, _), y in zip(cases, ys):
        outs += [gc.set_subtensor(x[index], y), gc.inc_subtensor(x[index], y)]
    f = gc.function([x, *ys], outs, backend=backend)
    a = rand(shape, dtype)
    bs = [rand(y_shape, dtype, rng=np.random.default_rng(k + 1)) for k, (_, y_shape) in enumerate(cases)]
    got = f(a, *bs)
    for k, ((index, _), b) in enumerate(zip(cases, bs)):
        want_set, want_inc = a.copy(), a.copy()
        want_set[index] = b
        np.add.at(want_inc, index, b)
        assert_close(got[2 * k], want_set)
        assert_close(got[2 * k + 1], want_inc)


WRITES = [
    (S(1, 3), (2, 5, 3)), (S(1, 3), (5, 3)), (S(None, None, -1), ()), ((S(None, None, -2), 0), (1, 3)),
    ((-1, S(None), None), (1, 1, 3)), (Ellipsis, (3,)), (([0, 0, 2],), (3, 5, 3)), (A([[1, 1], [1, 3]]), (5, 3)),
    ((S(1, None), [0, 0, 2]), (3, 3, 3)), ((0, S(None), [1, 1]), (2, 5)), ((S(None), [0, 1], Ellipsis, [2, 2]), (2, 4)),
    ((None, [1, 2], S(None, None, -1)), (2, 1, 3)), (([3, 0, 3], S(None), [0, 1, 0]), (3, 5)),
]


def test_set_and_inc_subtensor(backend):
    check_writes(backend, WRITES)


@pytest.mark.parametrize("dtype", ["float32", "int32", "int8", "bool"])
def test_set_and_inc_dtypes(backend, dtype):
    check_writes(backend, [(S(1, 3), (5, 3)), (([2, 0, 2], S(1, None)), (3, 4, 3))], dtype)


def test_write_python_scalars_and_symbolic_bounds(backend):
    x, i = gc.fvector("x"), gc.lscalar("i")
    f = gc.function([x, i], [gc.set_subtensor(x[i:], 2.5), gc.inc_subtensor(x[[3, 3]], 1)], backend=backend)
    a = rand((5,), "float32")
    got_set, got_inc = f(a, -2)
    want_set, want_inc = a.copy(), a.copy()
    want_set[-2:] = 2.5
    want_inc[3] += 2
    assert_close(got_set, want_set)
    assert_close(got_inc, want_inc)


def test_out_of_bounds_raise_index_error(backend):
    x, i, v = gc.dmatrix("x"), gc.lscalar("i"), gc.lvector("v")
    a = rand((3, 4))
    get_int = gc.function([x, i], x[i, ::-1], backend=backend)
    get_array = gc.function([x, v], x[:, v], backend=backend)
    set_int = gc.function([x, i], gc.set_subtensor(x[1, i], 0.0), backend=backend)
    inc_array = gc.function([x, v], gc.inc_subtensor(x[v], 1.0), backend=backend)
    for f, bad in [(get_int, 3), (get_int, -4), (set_int, 4), (set_int, -5)]:
        with pytest.raises(IndexError):
            f(a, bad)
    for f, bad in [(get_array, [0, 4]), (get_array, [-5]), (inc_array, [1, 3]), (inc_array, [-4, 0])]:
        with pytest.raises(IndexError):
            f(a, A(bad))
    assert_close(get_int(a, -3), a[-3, ::-1])


@pytest.mark.parametrize("index, error", [
    (A([True, False, True]), NotImplementedError), ([True, False, True], NotImplementedError),
    (True, NotImplementedError), (1.0, IndexError), ([0.5], IndexError), ("a", IndexError),
    ((0, 0, 0), IndexError), ((Ellipsis, Ellipsis), IndexError), ((0, Ellipsis, 0, [1]), IndexError),
    (S(None, None, 0), ValueError), (([0, 1], [0, 1, 2]), IndexError),
])
def test_bad_indices(index, error):
    with pytest.raises(error):
        gc.dmatrix("x")[index]


def test_bad_symbolic_indices():
    x = gc.dmatrix("x")
    with pytest.raises(NotImplementedError):
        x[x > 0]
    with pytest.raises(IndexError):
        x[gc.dscalar("s")]
    with pytest.raises(TypeError):
        x[S(gc.dscalar("s"), None)]
    with pytest.raises(IndexError):
        x.shape[2]


def test_bad_writes():
    x = gc.dmatrix("x")
    with pytest.raises(TypeError):
        gc.set_subtensor(x, 1.0)
    with pytest.raises(TypeError):
        gc.set_subtensor(x * 2, 1.0)
    with pytest.raises(ValueError):
        gc.set_subtensor(x[0], gc.dmatrix("y"))
    with pytest.raises(ValueError):
        gc.set_subtensor(gc.tensor("z", shape=(4, 3))[1:3], gc.tensor("y", shape=(2,)))
    with pytest.raises(TypeError):
        gc.set_subtensor(gc.lmatrix("n")[0], gc.dvector("y"))
    with pytest.raises(TypeError):
        gc.inc_subtensor(gc.lmatrix("n")[0], 0.5)


def test_shape_indexing(backend):
    x = gc.tensor3("x")
    assert isinstance(x.shape[0].owner.op, ShapeI) and x.shape[-1].owner.op == ShapeI(2)
    assert x.shape[np.int64(1)].type.ndim == 0 and x.shape[1].dtype == "int64"
    i = gc.lscalar("i")
    f = gc.function([x, i], [x.shape[0], x.shape[-1], x.shape[1:], x.shape[i]], backend=backend)
    a = rand((2, 3, 4))
    for got, want in zip(f(a, 1), [2, 4, [3, 4], 3]):
        assert_close(got, np.array(want, dtype="int64"))


def test_static_shapes():
    x, i = gc.tensor("x", shape=(5, None, 1)), gc.lscalar("i")
    cases = [
        (1, (None, 1)), (S(1, 4), (3, None, 1)), (S(None, None, -2), (3, None, 1)),
        ((S(None), S(None), 0), (5, None)), (None, (1, 5, None, 1)), (S(10, None), (0, None, 1)),
        (S(i, None), (None, None, 1)), ((0, S(2, 1)), (None, 1)), ((Ellipsis, S(None, None, -1)), (5, None, 1)),
        (([0, 1, 1],), (3, None, 1)), ((S(None), [[0], [1]], [0, 0, 0]), (5, 2, 3)),
        ((0, S(None), [0, 0]), (2, None)), ((S(None, None, 2), None, [0, 0]), (3, 1, 2, 1)),
    ]
    for index, shape in cases:
        assert x[index].type.shape == shape, index
    y = gc.tensor("y", shape=(0, None))
    assert y[S(i, None, i)].type.shape == (0, None)


def test_ops_and_props():
    x, i = gc.dmatrix("x"), gc.lscalar("i")
    y = x[1, i:, None]
    assert y.owner.op == Subtensor((("int",), ("slice", True, False, False), ("newaxis",)))
    assert str(y.owner.op) == "Subtensor{i, ?:, None}"
    z = x[1:, [0, 1]]
    assert z.owner.op == AdvancedSubtensor((False, True)) and isinstance(z.owner.inputs[0].owner.op, Subtensor)
    assert x[:, [0, 1]].owner.inputs[0] is x
    assert all(v.dtype == "int64" for v in z.owner.inputs[1:] + y.owner.inputs[1:])
    w = gc.set_subtensor(x[::2], 0.0)
    assert w.owner.op == IncSubtensor((("slice", False, False, True),), True)
    assert str(w.owner.op) == "IncSubtensor{set, ::?}"
    # Theano semantics: a chain of indexings writes into the tensor indexed last, not into x
    assert gc.set_subtensor(x[1:3][0], 1.0).owner.inputs[0].owner.op == Subtensor((("slice", True, True, False),))


def test_infer_shape(backend):
    """Each op's symbolic output shape, evaluated, equals numpy's, including symbolic steps of either sign."""
    x, i, j, v = gc.dmatrix("x"), gc.lscalar("i"), gc.lscalar("j"), gc.lvector("v")
    cases = [lambda i, j, v: S(i, j), lambda i, j, v: S(j, i, -1), lambda i, j, v: (S(None), S(None, None, i)),
             lambda i, j, v: S(i, j, j), lambda i, j, v: S(-7, 9, i), lambda i, j, v: (None, S(None, i)),
             lambda i, j, v: (i, S(j, None, -1)), lambda i, j, v: (v, S(None, None, j)),
             lambda i, j, v: (S(i, None), [[0, 0, 1]])]
    outs = [x[case(i, j, v)] for case in cases] + [gc.inc_subtensor(x[[0, 0]], 1.0)]
    shapes = [d for out in outs
              for d in out.owner.op.infer_shape(out.owner, [shape_tuple(u) for u in out.owner.inputs])[0]]
    f = gc.function([x, i, j, v], shapes, backend=backend)
    a, vv = rand((5, 4)), A([0, -1, 3])
    for iv in [-7, -2, -1, 1, 2, 6]:
        for jv in [-3, -1, 1, 3, 8]:
            try:
                wants = [a[case(iv, jv, vv)].shape for case in cases] + [a.shape]
            except IndexError:
                continue
            assert [int(s) for s in f(a, iv, jv, vv)] == [d for w in wants for d in w], (iv, jv)


def test_grad_of_indexing(backend):
    idxs = [(S(1, 3), S(None, None, -1)), (1, None), ([0, 2, 0, 0],), (S(1, None), [1, 1, 0]),
            (0, S(None), [1, 1]), ([[1, 1], [0, 2]], S(None, None, -1), 1)]
    a = rand((3, 4, 2))
    ws = [rand(a[idx].shape, rng=np.random.default_rng(k)) for k, idx in enumerate(idxs)]
    check_grad(lambda x: sum((x[idx] * w).sum() for idx, w in zip(idxs, ws)), [a], backend)


@pytest.mark.parametrize("index, x_shape, y_shape", [
    (S(1, 3), (4, 3), (3,)), ((S(None, None, -1), 0), (4, 3), (4,)), ([2, 0], (4, 3), (1, 3)),
    ((S(1, None), [0, 2]), (4, 3), (3, 2)), ((0, S(None), [1, 0]), (2, 4, 3), (2, 1)),
])
def test_grad_of_writes(backend, index, x_shape, y_shape):
    a, b = rand(x_shape), rand(y_shape, rng=np.random.default_rng(1))
    w1, w2 = (rand(x_shape, rng=np.random.default_rng(k)) for k in (2, 3))
    check_grad(lambda x, y: (gc.set_subtensor(x[index], y) * w1).sum() + (gc.inc_subtensor(x[index], y) * w2).sum(),
               [a, b], backend)


def test_grad_of_inc_with_repeated_indices(backend):
    a, b = rand((4, 3)), rand((3,), rng=np.random.default_rng(1))
    w = rand((4, 3), rng=np.random.default_rng(2))
    check_grad(lambda x, y: (gc.inc_subtensor(x[[2, 0, 2], ::-1], y) * w).sum(), [a, b], backend)
