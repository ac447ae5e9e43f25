"""mode="debug" names the first node whose compiled result differs from numpy, and the rewrite that made it;
gc.bisect names the pass whose exclusion makes a result numpy's again. Faults are injected into the C printer or
a rewrite, in a cache of the test's own (the cache key does not see a monkeypatched compiler)."""
import numpy as np
import pytest

import graphc as gc
from graphc.codegen.lowerings import elemwise as elemwise_lowering
from graphc.rewrite import REGISTRY
from graphc.rewrite.registry import NodeRewrite


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))


def test_debug_mode_agrees_and_returns_the_normal_results():
    x = gc.dmatrix("x")
    W = gc.shared(np.ones((3, 2)), name="W")
    y = gc.tanh(x @ W + 1) * 2
    f = gc.function([x], [y, gc.sum(y, axis=0)], updates=[(W, W * 0.5)], mode="debug")
    xv = np.arange(6.0).reshape(2, 3) / 10
    got = f(xv)
    want = np.tanh(xv @ np.ones((3, 2)) + 1) * 2
    np.testing.assert_allclose(got[0], want)
    np.testing.assert_allclose(got[1], want.sum(axis=0))
    np.testing.assert_allclose(W.get_value(), 0.5)


def test_debug_mode_names_the_node_and_its_rewrite(private_cache, monkeypatch):
    def wrong_tanh(op, args, loop, out):
        text = c_expr(op, args, loop, out)
        return f"({text} + 1)" if op.name == "tanh" else text

    c_expr = elemwise_lowering.c_expr
    monkeypatch.setattr(elemwise_lowering, "c_expr", wrong_tanh)
    x = gc.dvector("x")
    f = gc.function([x], gc.sum(gc.exp(x) * 2) + gc.tanh(x * 3), mode="debug")
    with pytest.raises(gc.DebugError, match=r"FusedElemwise.*created by rewrite 'fusion'.*differs") as info:
        f(np.array([0.5, -1.0]))
    assert "first at [0]" in str(info.value)


def test_debug_mode_needs_the_c_backend():
    with pytest.raises(ValueError, match="backend='c'"):
        gc.function([gc.dvector("x")], gc.dvector("y") * 0, backend="py", mode="debug")


def test_bisect_blames_the_rewrite_that_breaks_a_result(private_cache, monkeypatch):
    original = REGISTRY.node_rewrites["log1p"]

    def wrong_log1p(fgraph, node):
        new = original.fn(fgraph, node)
        return None if new is None else [new[0] * 2]

    monkeypatch.setitem(REGISTRY.node_rewrites, "log1p",
                        NodeRewrite("log1p", original.phase, original.tags, original.tracks, wrong_log1p))
    x = gc.dvector("x")
    result = gc.bisect([x], [gc.log(1 + x), x * 2], [np.array([0.5, 2.0])], backend="py")   # no compiles
    assert result.difference.startswith("output 0")
    assert result.culprits == ["stabilize", "log1p"]
    assert "responsible: stabilize, log1p" in str(result)
    agreeing = gc.bisect([x], x * 2, [np.array([0.5])])
    assert agreeing.difference is None and "agrees with numpy" in str(agreeing)
