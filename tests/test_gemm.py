"""The Gemm op and the gemm rewrite: which expressions become one BLAS call, which must not, and the same values
with the rewrite as without it (py and c backends), down to the digits MLP's training step."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.ops.blas import Dot, Gemm
from graphc.ops.shape import DimShuffle, MakeVector, shape_tuple
from tests.rewrite_helpers import checked  # noqa: F401  (re-validate the graph after every pass)
from tests.utils import FLOAT_DTYPES, assert_close, noncontig, rand

M, K, N = 4, 3, 5
SHAPES = {"A": (M, K), "B": (K, N), "C": (M, N), "b": (N,), "r": (1, N), "x": (K, M), "g": (K, N), "v": (K,),
          "c": (M,), "s": ()}
STATIC = {"r": (1, None)}
"""Run-time shapes of the inputs a pattern may use (x is A stored transposed), and static shapes other than (?, ...)."""

LR = 0.1
PATTERNS = {
    # name: (inputs, builder, (alpha, beta) of the Gemm it becomes; beta 0: no C)
    "dot + C": ("ABC", lambda A, B, C: gc.dot(A, B) + C, (1.0, 1.0)),
    "C + dot": ("ABC", lambda A, B, C: C + gc.dot(A, B), (1.0, 1.0)),
    "alpha*dot + beta*C": ("ABC", lambda A, B, C: 0.5 * gc.dot(A, B) + 2.0 * C, (0.5, 2.0)),
    "C*beta - dot*alpha": ("ABC", lambda A, B, C: C * 0.5 - gc.dot(A, B) * 0.25, (-0.25, 0.5)),
    "C - alpha*dot": ("ABC", lambda A, B, C: C - 0.25 * gc.dot(A, B), (-0.25, 1.0)),
    "dot - C": ("ABC", lambda A, B, C: gc.dot(A, B) - C, (1.0, -1.0)),
    "-(alpha*dot) - C": ("ABC", lambda A, B, C: -(2.0 * gc.dot(A, B)) - C, (-2.0, -1.0)),
    "dot*alpha": ("AB", lambda A, B: gc.dot(A, B) * 3.0, (3.0, 0.0)),
    "-dot": ("AB", lambda A, B: -gc.dot(A, B), (-1.0, 0.0)),
    "A @ W + bias": ("Ab", lambda A, b: A @ gc.ones((K, N), A.dtype) + b, (1.0, 1.0)),
    "dot + row": ("ABr", lambda A, B, r: gc.dot(A, B) + r, (1.0, 1.0)),
    "dot + scalar": ("ABs", lambda A, B, s: gc.dot(A, B) + s, (1.0, 1.0)),
    "SGD update W - lr*dot(x.T, g)": ("xgC", lambda x, g, C: C - LR * gc.dot(x.T, g), (-LR, 1.0)),
    "gemv dot(A, v) + c": ("Avc", lambda A, v, c: gc.dot(A, v) + c, (1.0, 1.0)),
    "gemv 2*dot(v, B) - bias": ("vBb", lambda v, B, b: 2.0 * gc.dot(v, B) - b, (2.0, -1.0)),
}


def _inputs(names: str, dtype: str) -> list[gc.Variable]:
    return [gc.tensor(n, dtype, shape=STATIC.get(n, (None,) * len(SHAPES[n]))) for n in names]


def _values(names: str, dtype: str, rng, layout=np.asarray) -> list[np.ndarray]:
    return [layout(rand(SHAPES[n], dtype, rng)) for n in names]


def _gemms(f: gc.Function) -> list[Gemm]:
    return [node.op for node in f.fgraph.toposort() if isinstance(node.op, Gemm)]


def _pair(inputs, outputs, backend: str) -> tuple[gc.Function, gc.Function]:
    """(with the gemm rewrite, without it): the rest of the pipeline is the same."""
    return (gc.function(inputs, outputs, backend=backend),
            gc.function(inputs, outputs, backend=backend, exclude=["gemm"]))


def _same_values(with_gemm: gc.Function, without: gc.Function, values) -> None:
    got, want = with_gemm(*values), without(*values)
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want], strict=True):
        assert_close(g, w)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_every_pattern_becomes_one_gemm_with_the_same_values(backend, dtype):
    """All patterns in one function (each on its own inputs, so no dot is shared): every output is a Gemm with the
    expected scales, no Dot is left, and the values are those of the graph without the rewrite."""
    inputs, outputs, names = [], [], []
    for spec, build, _ in PATTERNS.values():
        these = _inputs(spec, dtype)
        inputs += these
        outputs.append(build(*these))
        names.append(spec)
    with_gemm, without = _pair(inputs, outputs, backend)
    assert not any(isinstance(n.op, Dot) for n in with_gemm.fgraph.toposort())
    for (name, (_, _, (alpha, beta))), out in zip(PATTERNS.items(), with_gemm.fgraph.outputs):
        op = out.owner.op
        assert isinstance(op, Gemm), name
        assert (op.alpha, op.beta) == (float(np.asarray(alpha, dtype)), beta), name
    assert with_gemm.report().fired("gemm") == len(PATTERNS)
    rng = np.random.default_rng(0)
    for layout in (np.asarray, noncontig, lambda a: a.T.copy().T):  # C order, strided, Fortran order
        _same_values(with_gemm, without, [v for spec in names for v in _values(spec, dtype, rng, layout)])


def test_transposed_operands_stay_views(backend):
    """dot(x.T, g) and dot(g, W.T): each Gemm reads a DimShuffle view of the input (a BLAS transpose flag at run
    time); the graph holds nothing else, so no transpose is copied."""
    x, g, W, C = gc.fmatrix("x"), gc.fmatrix("g"), gc.fmatrix("W"), gc.fmatrix("C")
    with_gemm, without = _pair([x, g, W, C], [W - LR * gc.dot(x.T, g), gc.dot(g, W.T) + C], backend)
    assert len(with_gemm.fgraph.toposort()) == 4
    for out, (position, name) in zip(with_gemm.fgraph.outputs, [(0, "x"), (1, "W")]):
        view = out.owner.inputs[position].owner
        assert isinstance(out.owner.op, Gemm) and view.op == DimShuffle((1, 0)) and view.inputs[0].name == name
    rng = np.random.default_rng(1)
    values = [rand(s, "float32", rng) for s in [(7, 4), (7, 6), (4, 6), (7, 4)]]
    for layout in (np.asarray, noncontig, np.asfortranarray):
        _same_values(with_gemm, without, [layout(v) for v in values])


@pytest.mark.parametrize("c_shape", [(M, N), (N,), (1, N), (M, 1), (1, 1), (), (1,)])
def test_c_broadcasts_into_the_product(backend, c_shape):
    A, B = gc.dmatrix("A"), gc.dmatrix("B")
    C = gc.tensor("C", "float64", shape=tuple(1 if d == 1 else None for d in c_shape))
    f = gc.function([A, B, C], 0.5 * gc.dot(A, B) + C, backend=backend)
    assert len(_gemms(f)) == 1
    rng = np.random.default_rng(2)
    a, b, c = rand((M, K), rng=rng), rand((K, N), rng=rng), rand(c_shape, rng=rng)
    assert_close(f(a, b, c), 0.5 * np.dot(a, b) + c)


@pytest.mark.parametrize("a_shape,b_shape,c_shape", [((1, K), (K, N), (M, N)), ((M, K), (K, 1), (M, N)),
                                                     ((1, K), (K, 1), (M, N)), ((1, K), (K,), (M,))])
def test_c_may_widen_a_size_one_dim_of_the_product(backend, a_shape, b_shape, c_shape):
    """Dims not known to be 1 broadcast at run time, as in numpy: (1, n) + (m, n) is (m, n), so Gemm must too."""
    A, B, C = (gc.tensor(n, "float64", shape=(None,) * len(s)) for n, s in zip("ABC", (a_shape, b_shape, c_shape)))
    f = gc.function([A, B, C], gc.dot(A, B) - C, backend=backend)
    assert len(_gemms(f)) == 1
    rng = np.random.default_rng(3)
    a, b, c = rand(a_shape, rng=rng), rand(b_shape, rng=rng), rand(c_shape, rng=rng)
    assert_close(f(a, b, c), np.dot(a, b) - c)


@pytest.mark.parametrize("m,k,n", [(0, K, N), (M, 0, N), (M, K, 0)])
def test_empty_dims(backend, m, k, n):
    A, B, C = gc.dmatrix("A"), gc.dmatrix("B"), gc.dmatrix("C")
    f = gc.function([A, B, C], 3.0 * gc.dot(A, B) - 2.0 * C, backend=backend)
    a, b, c = rand((m, k)), rand((k, n)), rand((m, n))
    assert_close(f(a, b, c), 3.0 * np.dot(a, b) - 2.0 * c)


def test_shape_errors_name_both_shapes(backend):
    A, B, C = gc.dmatrix("A"), gc.dmatrix("B"), gc.dmatrix("C")
    f = gc.function([A, B, C], gc.dot(A, B) + C, backend=backend)
    assert len(_gemms(f)) == 1
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(2, 5\)"):
        f(rand((4, 3)), rand((2, 5)), rand((4, 5)))
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(3, 5\)"):
        f(rand((4, 3)), rand((3, 5)), rand((3, 5)))


def test_static_checks_of_the_op():
    a, b = gc.tensor("a", shape=(3, 4)), gc.tensor("b", shape=(4, 5))
    assert Gemm(2.0, 1.0)(a, b, gc.tensor("c", shape=(1, 5))).type.shape == (3, 5)
    assert Gemm(2.0, 0.0)(a, b).type.shape == (3, 5)
    with pytest.raises(ValueError, match=r"\(3, 5\).*\(2, 5\)"):
        Gemm(1.0, 1.0)(a, b, gc.tensor("c", shape=(2, 5)))
    with pytest.raises(ValueError, match="not aligned"):
        Gemm(1.0, 0.0)(a, gc.tensor("d", shape=(3, 5)))
    with pytest.raises(TypeError, match="float32/float64"):
        Gemm(1.0, 0.0)(gc.imatrix("i"), gc.imatrix("j"))
    with pytest.raises(TypeError, match="beta"):
        Gemm(1.0, 1.0)(a, b)
    with pytest.raises(ValueError, match="nonzero alpha"):
        Gemm(0.0, 1.0)


def test_infer_shape_matches_the_result():
    """The symbolic shape (what the memory plan sizes buffers with) includes C widening the product."""
    A, B, C = gc.dmatrix("A"), gc.dmatrix("B"), gc.dmatrix("C")
    out = Gemm(1.0, 1.0)(A, B, C)
    node = out.owner
    shape = MakeVector()(*node.op.infer_shape(node, [shape_tuple(i) for i in node.inputs])[0])
    f = gc.function([A, B, C], [out, shape], backend="py")
    for a_shape, c_shape in [((M, K), (M, N)), ((1, K), (M, N)), ((M, K), (1, N))]:
        value, got = f(rand(a_shape), rand((K, N)), rand(c_shape))
        assert tuple(got) == value.shape


def test_gradient_of_a_gemm_is_refused_clearly():
    A, B = gc.dmatrix("A"), gc.dmatrix("B")
    with pytest.raises(NotImplementedError, match="gemm rewrite"):
        gc.grad(gc.sum(Gemm(2.0, 0.0)(A, B)), A)


@pytest.mark.parametrize("build,reason,scaled_only", [
    (lambda A, B, C: [gc.dot(A, B) + C, gc.dot(A, B)], "computed twice", 0),
    # the scaled dot, used twice, is still one Gemm (beta 0); only the + C around it is not taken in
    (lambda A, B, C: [2.0 * gc.dot(A, B) + C, gc.exp(2.0 * gc.dot(A, B))], "computed twice", 1),
    (lambda A, B, C: [gc.cast(A, "int32").dot(gc.cast(B, "int32")) + 1], "int32", 0),
    (lambda A, B, C: [gc.dot(A[0], B[:, 0]) + C[0, 0]], "two vectors", 0),
    (lambda A, B, C: [gc.dot(A, B) + gc.cast(C, "float64")], "float64", 0),
    (lambda A, B, C: [gc.dot(A, B) * C], "not a constant scalar", 0),
    (lambda A, B, C: [0.0 * gc.dot(A, B) + C], "nonzero alpha", 0),
])
def test_what_is_not_rewritten_and_why(build, reason, scaled_only):
    A, B, C = gc.fmatrix("A"), gc.fmatrix("B"), gc.fmatrix("C")
    f, without = _pair([A, B, C], build(A, B, C), "py")
    assert [op.beta for op in _gemms(f)] == [0.0] * scaled_only
    notes = [n for r in f.report().records if r.name == "gemm" for n in r.notes]
    assert any(reason in n for n in notes), notes
    rng = np.random.default_rng(4)
    _same_values(f, without, [rand((M, M), "float32", rng) for _ in range(3)])


# --- the digits MLP --------------------------------------------------------------------------------------------------
def test_digits_training_step_uses_gemm_and_trains_the_same(demo, backend):
    """Both dense layers (x @ W + b) and both SGD updates (W - lr * dot(h.T, g)) become Gemm; five steps give the
    same losses and parameters as without the rewrite."""
    data = demo.load_data(seed=1)
    X, y = data[0][:96], data[2][:96]
    results = []
    for options in ({}, {"exclude": ["gemm"]}):
        rng = np.random.default_rng(3)
        layers = [(gc.shared(demo.glorot(rng, 64, 32)), gc.shared(np.zeros(32, "float32"))),
                  (gc.shared(demo.glorot(rng, 32, 10)), gc.shared(np.zeros(10, "float32")))]
        previous = gc.config.backend
        gc.config.backend = backend
        try:
            train, _, _ = demo.build(layers, lr=0.1, **options)
        finally:
            gc.config.backend = previous
        results.append(([float(train(X[i:i + 32], y[i:i + 32])) for i in (0, 32, 64, 0, 32)],
                        [v.get_value() for pair in layers for v in pair]))
        if not options:
            gemms = _gemms(train)
            assert sorted(op.beta for op in gemms) == [1.0] * 4
            assert sorted(op.alpha for op in gemms) == [-np.float32(0.1).item()] * 2 + [1.0] * 2
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
