"""Names and strings cannot inject code: variable names, constant names and paths holding quotes, newlines, comment
markers, backslashes, trigraphs, format and template syntax give valid C; compilers run with argument lists."""
import re
import subprocess
from pathlib import Path

import numpy as np

import graphc as gc
from graphc.resources import resource_dir

HOSTILE = ['a"b', "c\nd", "e*/ int evil; /*", "g\\h\\", "??/", "%s%n%d", "{{ x }}{% if %}", "/* c */", "'; rm -rf /",
           "#include <x>", "\\\nz", "é€"]


def _graph():
    xs = [gc.dvector(name) for name in HOSTILE]
    W = gc.shared(np.ones(2), name="W */ #define int")
    total = sum(x * k for k, x in enumerate(xs, 1)) + W + gc.constant(np.float64(1), name="c */ evil")
    out = gc.exp(total)
    out.name = "out\n*/\"\\"
    return xs, W, out


def test_hostile_names_compile_and_run():
    xs, W, out = _graph()
    f = gc.function(xs, [out, gc.sum(out)], updates=[(W, W * 2)])
    got = f(*[np.full(2, 0.01)] * len(xs))
    want = np.exp(0.01 * sum(range(1, len(xs) + 1)) + 2)
    np.testing.assert_allclose(got[0], [want, want])
    np.testing.assert_allclose(W.get_value(), 2.0)
    assert gc.dprint(f, file="str") and gc.to_dot(f)


def test_hostile_names_in_the_ahead_of_time_header(tmp_path):
    """The header lists every input and output by name inside a comment, and makes enum constants of them."""
    from graphc import aot
    xs, W, out = _graph()
    f = gc.function(xs, [out], updates=[(W, W * 2)], backend="py")
    header = aot.artifacts(f, "model", "", False).files["model.h"]
    odd = aot.artifacts(f, "9 lives */", "", False).files["9 lives */.h"]   # the API takes any name
    (tmp_path / "model.h").write_text(header)
    (tmp_path / "odd.h").write_text(odd)
    (tmp_path / "use.c").write_text('#include "model.h"\n#include "odd.h"\n'
                                    "int n = MODEL_N_INPUTS + MODEL_INPUT_A_B + GRAPHC_9_LIVES_N_OUTPUTS;\n")
    proc = subprocess.run(["cc", "-fsyntax-only", "-Wall", "-Werror", "-I", str(tmp_path),
                           "-I", str(resource_dir("csrc")), str(tmp_path / "use.c")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert header.count("*/") == 1, "a name closed the header's comment early"
    assert "e*\\/ int evil; /\\*" in header and "c\\nd" in header


def test_a_cache_path_with_quotes_newlines_and_comment_markers(tmp_path, monkeypatch):
    weird = tmp_path / 'c"a\\che\n*/ $(touch pwned) `x` ;'
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(weird))
    x = gc.dvector("x")
    np.testing.assert_allclose(gc.function([x], gc.exp(x) + 1)(np.zeros(2)), [2.0, 2.0])
    assert (weird / "..").exists() and not list(tmp_path.rglob("pwned"))


def test_no_shell_anywhere():
    """Compilers and tools run with argument lists: no shell can expand a name, a path or a flag."""
    root = Path(gc.__file__).parent
    pattern = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(")
    assert not [p for p in root.rglob("*.py") if pattern.search(p.read_text())]
