"""dprint and to_dot: exact text, shared sub-trees once, determinism, DOT structure and escaping."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import graphc as gc
from graphc.graph import Apply, Op, TensorType, Variable
from graphc.printing import _letters, to_networkx


class MinMax(Op):
    """A two-output op, to check that printing names which output is used."""

    def make_node(self, x):
        outputs = [Variable(TensorType(x.dtype, ())), Variable(TensorType(x.dtype, ()))]
        return Apply(self, [x], outputs)

    def perform(self, node, inputs):
        return [np.min(inputs[0]), np.max(inputs[0])]


def small_graph():
    """x*W + 1.0 through tanh (named h), used twice, plus a vector b."""
    x = gc.fmatrix("x")
    W = gc.shared(np.zeros((3, 4), "float32"), "W")
    b = gc.fvector("b")
    h = gc.tanh(x * W + 1.0)
    h.name = "h"
    return x, W, b, h, h * h + b


SMALL_TEXT = """\
Elemwise{add} [id A] <float32 (?, ?)>
 ├─ Elemwise{mul} [id B] <float32 (?, ?)>
 │   ├─ Elemwise{tanh} [id C] 'h' <float32 (?, ?)>
 │   │   └─ Elemwise{add} [id D] <float32 (?, ?)>
 │   │       ├─ Elemwise{mul} [id E] <float32 (?, ?)>
 │   │       │   ├─ x [id F] <float32 (?, ?)>
 │   │       │   └─ W [id G] <float32 (?, ?)>
 │   │       └─ Constant{1.0} [id H] <float32 ()>
 │   └─ Elemwise{tanh} [id C] 'h' <float32 (?, ?)> ···
 └─ b [id I] <float32 (?,)>
"""


def test_exact_text_and_shared_subtree_printed_once():
    *_, y = small_graph()
    text = gc.dprint(y, file="str")
    assert text == SMALL_TEXT
    assert text.count("Elemwise{add} [id D]") == 1  # tanh's sub-tree is not repeated


def test_print_type_false_and_list_of_roots_share_ids():
    *_, h, y = small_graph()
    text = gc.dprint([y, h], file="str", print_type=False)
    lines = text.splitlines()
    assert lines[0] == "Elemwise{add} [id A]"
    assert lines[-1] == "Elemwise{tanh} [id C] 'h' ···"
    assert "<" not in text


def test_constants_show_small_values_and_repeated_leaves_keep_their_id():
    x = gc.fvector("x")
    small = x * gc.constant(np.array([1, 2], "int8")) + x
    large = x + gc.constant(np.arange(20.0, dtype="float32"), name="ramp")
    assert gc.dprint([small, large], file="str") == textwrap.dedent("""\
        Elemwise{add} [id A] <float32 (2,)>
         ├─ Elemwise{mul} [id B] <float32 (2,)>
         │   ├─ x [id C] <float32 (?,)>
         │   └─ Constant{[1, 2]} [id D] <int8 (2,)>
         └─ x [id C] <float32 (?,)>
        Elemwise{add} [id E] <float32 (20,)>
         ├─ x [id C] <float32 (?,)>
         └─ Constant{20 values} [id F] 'ramp' <float32 (20,)>
        """)


def test_multi_output_op_shows_output_index():
    x = gc.fvector("x")
    lo, hi = MinMax()(x)
    text = gc.dprint(hi - lo, file="str")
    assert text == textwrap.dedent("""\
        Elemwise{sub} [id A] <float32 ()>
         ├─ MinMax.1 [id B] <float32 ()>
         │   └─ x [id C] <float32 (?,)>
         └─ MinMax.0 [id B] <float32 ()> ···
        """)


def test_ids_are_letters_in_print_order():
    assert [_letters(n) for n in (0, 1, 25, 26, 27, 51, 52, 26 * 26)] == ["A", "B", "Z", "BA", "BB", "BZ", "CA",
                                                                         "BAA"]
    x = gc.fscalar("x")
    y = x
    for _ in range(30):
        y = y + 1.0
    first_seen = list(dict.fromkeys(re.findall(r"\[id (\w+)\]", gc.dprint(y, file="str"))))
    assert first_seen == [_letters(n) for n in range(61)]  # 30 adds, 30 constants, x


def test_two_builds_give_identical_text():
    assert gc.dprint(small_graph()[-1], file="str") == gc.dprint(small_graph()[-1], file="str")
    assert gc.to_dot(small_graph()[-1]) == gc.to_dot(small_graph()[-1])


def test_identical_across_processes():
    script = ("import tests.test_printing as t, graphc as gc\n"
              "y = t.small_graph()[-1]\n"
              "print(gc.dprint(y, file='str') + gc.to_dot(y), end='')\n")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, env=env, check=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].decode().startswith(SMALL_TEXT)


def test_file_targets(capsys):
    *_, y = small_graph()
    assert gc.dprint(y) is None
    assert capsys.readouterr().out == SMALL_TEXT
    buf = io.StringIO()
    assert gc.dprint(y, file=buf) is None
    assert buf.getvalue() == SMALL_TEXT


def test_deep_graph_does_not_recurse():
    x = gc.fscalar("x")
    y = x
    for _ in range(sys.getrecursionlimit() + 100):
        y = gc.neg(y)
    assert gc.dprint(y, file="str", print_type=False).count("\n") == sys.getrecursionlimit() + 101
    assert gc.to_dot(y).count("->") == sys.getrecursionlimit() + 101


def test_unprintable_input_names_stay_on_one_line():
    x = gc.fscalar("two\nlines")
    assert gc.dprint(-x, file="str", print_type=False) == "Elemwise{neg} [id A]\n └─ 'two\\nlines' [id B]\n"


def test_rejects_other_objects():
    with pytest.raises(TypeError, match="cannot print"):
        gc.dprint(3)
    with pytest.raises(TypeError, match="cannot print"):
        gc.to_dot([gc.fscalar("x"), 2])


# --- Function ------------------------------------------------------------------------------------------------------
def small_function():
    x, W, b, h, y = small_graph()
    return gc.function([x, b], [y, gc.sum(y)], updates={W: W - 0.1 * h}, backend="py", mode="none")


def test_function_prints_outputs_then_updates():
    text = gc.dprint(small_function(), file="str")
    assert text == SMALL_TEXT + textwrap.dedent("""\
        Sum{axes=(0, 1)} [id J] <float32 ()>
         └─ Elemwise{add} [id A] <float32 (?, ?)> ···
        Elemwise{sub} [id K] <float32 (?, ?)> (update of W)
         ├─ W [id G] <float32 (?, ?)>
         └─ Elemwise{mul} [id L] <float32 (?, ?)>
             ├─ Constant{0.1} [id M] <float32 ()>
             └─ Elemwise{tanh} [id C] 'h' <float32 (?, ?)> ···
        """)


def test_function_prints_its_compiled_graph():
    f = small_function()
    assert gc.dprint(f.fgraph, file="str") == gc.dprint(f, file="str").replace(" (update of W)", "")
    total = f.fgraph.outputs[1]
    f.fgraph.replace(total, gc.constant(np.float32(0.5)), reason="test")  # as a rewrite would
    assert "Constant{0.5} [id J] <float32 ()>\n" in gc.dprint(f, file="str")
    assert "Constant{0.5}" in gc.to_dot(f)


def test_update_to_a_leaf():
    x = gc.fvector("x")
    W = gc.shared(np.zeros(3, "float32"), "W")
    f = gc.function([x], x + W, updates=[(W, x)], backend="py")
    assert gc.dprint(f, file="str", print_type=False).splitlines()[-1] == "x [id B] (update of W)"
    kinds = [attrs["kind"] for _, attrs in to_networkx(f).nodes(data=True)]
    assert kinds == ["input", "shared", "apply", "output", "update"]


# --- to_dot --------------------------------------------------------------------------------------------------------
QUOTED = r'"(?:[^"\\]|\\.)*"'
STATEMENT = re.compile(rf"^  (n\d+)(?: -> (n\d+))?(?: \[((?:\w+={QUOTED}(?:, )?)*)\])?;$")
ATTR = re.compile(rf"(\w+)=({QUOTED})")


def parse_dot(source: str) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], dict[str, str]]]:
    """A strict reader for the subset of DOT that to_dot writes: every statement must match, on one line."""
    lines = source.splitlines()
    assert lines[0] == "digraph graphc {" and lines[-1] == "}" and source.endswith("}\n")
    nodes, edges = {}, {}
    for line in lines[1:-1]:
        match = STATEMENT.match(line)
        assert match, f"not a DOT statement to_dot writes: {line!r}"
        attrs = {key: unquote(value) for key, value in ATTR.findall(match[3] or "")}
        if match[2]:
            assert match[1] in nodes and match[2] in nodes
            edges[match[1], match[2]] = attrs
        else:
            nodes[match[1]] = attrs
    return nodes, edges


def unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], quoted[1:-1])


def test_dot_structure():
    nodes, edges = parse_dot(gc.to_dot(small_function()))
    assert list(nodes) == [f"n{i}" for i in range(len(nodes))]
    kinds = [n["kind"] for n in nodes.values()]
    assert kinds.count("apply") == 8
    assert kinds.count("input") == 2 and kinds.count("shared") == 1 and kinds.count("constant") == 2
    assert kinds.count("output") == 2 and kinds.count("update") == 1
    assert all(n["shape"] == ("box" if n["kind"] == "apply" else "ellipse") for n in nodes.values())
    assert len(edges) == 16
    by_label = {n["label"]: name for name, n in nodes.items()}
    tanh, square = by_label["Elemwise{tanh}"], [k for k, n in nodes.items() if n["label"] == "Elemwise{mul}"][1]
    assert edges[tanh, square] == {"label": "0, 1"}  # h * h: one edge listing both positions
    assert nodes["n1"]["label"] == "W\nfloat32 (?, ?)" and nodes["n1"]["kind"] == "shared"
    assert nodes["n15"]["label"] == "update of W\nfloat32 (?, ?)"


def test_dot_multi_output_edges():
    x = gc.fvector("x")
    lo, hi = MinMax()(x)
    nodes, edges = parse_dot(gc.to_dot([hi - lo, -lo]))
    assert [n["label"] for n in nodes.values()] == ["x\nfloat32 (?,)", "MinMax", "Elemwise{sub}", "Elemwise{neg}",
                                                   "output 0\nfloat32 ()", "output 1\nfloat32 ()"]
    assert edges["n1", "n2"] == {"label": "out1→0, out0→1"} and edges["n1", "n3"] == {"label": "out0"}


@pytest.mark.parametrize("name", ['say "hi"', "back\\slash\\", "two\nlines", "tab\tand\rcr", "ünïcode"])
def test_dot_escapes_names(name):
    x = gc.fvector(name)
    y = gc.exp(x)
    y.name = name
    source = gc.to_dot(y)
    nodes, _ = parse_dot(source)
    shown = name.replace("\t", "\\x09").replace("\r", "\n")
    assert nodes["n0"]["label"] == f"{shown}\nfloat32 (?,)"
    assert nodes["n2"]["label"] == f"output 0 {name!r}\nfloat32 (?,)"  # repr already made it one line


def test_import_graphc_does_not_import_networkx():
    subprocess.run([sys.executable, "-c", "import graphc, sys; assert 'networkx' not in sys.modules"], check=True)
