"""The rewrite machinery: modes, include/exclude, the fixed-point bound, the debug check, the report, and how
rewriting meets the C cache (options in the key; a warm start does not rewrite)."""
from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.graph.basic import Constant
from graphc.graph.fg import FunctionGraph
from graphc.ops.elemwise import Elemwise, exp
from graphc.rewrite import RewriteOptions, optimize
from graphc.rewrite.check import RewriteCheckError
from graphc.rewrite.fixed_point import MAX_SWEEPS
from graphc.rewrite.registry import Registry
from tests.rewrite_helpers import optimized, checked, op_counts  # noqa: F401  (checked: autouse fixture)


def small():
    x = gc.dvector("x")
    return x, gc.log(gc.exp(x) / gc.sum(gc.exp(x), keepdims=True)) * 1.0


def ran(f: gc.Function) -> list[str]:
    return [r.name for r in f.report().records]


def test_modes_pick_pipelines():
    x, y = small()
    assert ran(optimized([x], y)) == ["prune", "merge", "canonicalize", "stabilize", "specialize",
                                                        "merge_late"]
    fast = optimized([x], y, mode="fast_compile")
    assert ran(fast) == ["prune", "merge", "canonicalize", "specialize"]
    assert op_counts(fast)["Elemwise{mul}"] == 1  # x * 1 is fast_run's, not fast_compile's
    none = optimized([x], y, mode="none")
    assert ran(none) == [] and none.report().nodes_before == none.report().nodes_after
    with pytest.raises(ValueError, match="unknown mode 'fast'"):
        optimized([x], y, mode="fast")


def test_exclude_and_include_by_name_and_by_tag():
    x, y = small()
    assert op_counts(optimized([x], y))["Elemwise{true_div}"] == 0  # log_softmax fired
    assert op_counts(optimized([x], y, exclude=["log_softmax"]))["Elemwise{true_div}"] == 1
    no_stability = optimized([x], y, exclude="stability")
    assert "stabilize" not in ran(no_stability) and op_counts(no_stability)["Elemwise{true_div}"] == 1
    only = optimized([x], y, mode="none", include=["mul_by_one"])
    assert ran(only) == ["canonicalize"] and op_counts(only)["Elemwise{mul}"] == 0
    both = optimized([x], y, mode="none", include=["stability"], exclude=["log_softmax"])
    assert op_counts(both)["Elemwise{true_div}"] == 1


def test_unknown_rewrite_names_are_rejected_but_reserved_tags_accepted():
    x, y = small()
    with pytest.raises(ValueError, match="unknown rewrite or tag 'mul_by_on'"):
        optimized([x], y, exclude=["mul_by_on"])
    gc.function([x], y, backend="py", exclude=["fusion", "gemm", "inplace"])  # may name passes still to come


def test_report_counts_each_rewrite_and_prints_a_table():
    x, y = small()
    f = optimized([x], y)
    report = f.report()
    assert report.fired("mul_by_one") == 1 and report.fired("log_softmax") == 1 and report.fired("merge") >= 1
    assert report.nodes_after == len(f.fgraph.apply_nodes) and report.records[0].nodes_before == report.nodes_before
    text = gc.optimization_report(f, file="str")
    assert text.startswith(f"rewrites (fast_run, exclude fusion, gemm, inplace): {report.nodes_before} -> "
                           f"{report.nodes_after} nodes")
    assert "    mul_by_one                   1\n" in text and "stabilize" in text
    off = gc.optimization_report(optimized([x], y, exclude=["stability"]), file="str")
    assert "off: stabilize" in off


def test_the_fixed_point_has_a_bound():
    registry = Registry()
    registry.add_phase("spin", 0)
    registry.add_node_rewrite("rebuild_exp", "spin", ["fast_run"], tracks=("exp",))(
        lambda fgraph, node: [exp(node.inputs[0])])  # always "fires": never reaches a fixed point
    x = gc.dvector("x")
    fgraph = FunctionGraph([x], [exp(x)])
    report = optimize(fgraph, RewriteOptions.make(registry=registry), registry=registry)
    assert report.fired("rebuild_exp") == MAX_SWEEPS
    assert report.records[0].notes == [f"stopped after {MAX_SWEEPS} sweeps without reaching a fixed point"]


def test_the_check_names_a_pass_that_breaks_the_graph():
    registry = Registry()

    @registry.add_pass("sloppy", 0, ["fast_run"])
    def sloppy(fgraph, record):
        node = fgraph.toposort()[0]
        node.inputs[0] = Constant(np.zeros(2, "float32"))  # bypasses replace: the node's type no longer holds
        return 1

    x = gc.dvector("x")
    fgraph = FunctionGraph([x], [exp(x)])
    with pytest.raises(RewriteCheckError, match="after rewrite pass 'sloppy'.*Elemwise{exp}"):
        optimize(fgraph, RewriteOptions.make(registry=registry), registry=registry)


def test_a_rewrite_that_changes_a_type_is_refused():
    registry = Registry()
    registry.add_phase("p", 0)
    registry.add_node_rewrite("to_float32", "p", ["fast_run"], tracks=(Elemwise,))(
        lambda fgraph, node: [gc.cast(node.inputs[0], "float32")])
    x = gc.dvector("x")
    with pytest.raises(TypeError, match=r"replace \(to_float32\)"):
        optimize(FunctionGraph([x], [exp(x)]), RewriteOptions.make(registry=registry), registry=registry)


def test_names_are_unique():
    registry = Registry()
    registry.add_phase("p", 0)
    with pytest.raises(ValueError, match="already registered"):
        registry.add_pass("p", 1, [])(lambda fgraph, record: 0)


def test_dprint_shows_the_optimized_graph():
    x = gc.dvector("x")
    f = optimized([x], gc.exp(x) * 1.0 + gc.exp(x))
    assert gc.dprint(f, file="str", print_type=False) == (
        "Elemwise{add} [id A]\n"
        " ├─ Elemwise{exp} [id B]\n"
        " │   └─ x [id C]\n"
        " └─ Elemwise{exp} [id B] ···\n")


def test_options_are_part_of_the_c_cache_key():
    x = gc.dvector("x")
    y = gc.exp(x) * 1.0
    key = optimized([x], y, backend="c").program.key
    assert optimized([x], y, backend="c", mode="none").program.key != key
    assert optimized([x], y, backend="c", exclude=["mul_by_one"]).program.key != key
    # options that enable the same rewrites share a key
    assert optimized([x], y, backend="c", exclude=["gemm"]).program.key == key


def test_a_warm_c_start_does_not_rewrite():
    x = gc.dvector("x")
    y = gc.log1p(gc.exp(x) - 1.0) * 1.0
    cold = optimized([x], y, backend="c")
    warm = optimized([x], y, backend="c")
    assert not warm.program.compiled and "_optimized" not in vars(warm)
    np.testing.assert_array_equal(warm(np.arange(3.0)), cold(np.arange(3.0)))
    assert "_optimized" not in vars(warm)
    assert op_counts(warm) == op_counts(cold) == {"Elemwise{log1p}": 1, "Elemwise{expm1}": 1}  # rewrites now
