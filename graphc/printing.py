"""Text (``dprint``) and DOT (``to_dot``) views of a graph: a Variable, a list of them, a FunctionGraph or a Function.

Both are deterministic: ids and node names come from print/toposort order, never from ``id()`` or hashes, so the
same graph gives byte-identical text in every process and CI can diff it."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

import numpy as np

from graphc.function import Function
from graphc.graph.basic import Apply, Constant, SharedVariable, Variable, toposort
from graphc.graph.fg import FunctionGraph

if TYPE_CHECKING:
    import networkx

Root = tuple[Variable, str]  # a variable to print from, and its tag ("" or "update of W")

MAX_CONSTANT_VALUES = 8  # constants up to this size show their values


def dprint(obj, file: TextIO | str | None = None, print_type: bool = True) -> str | None:
    """Print ``obj`` as an indented tree, one line per node, each sub-tree once.

    ``file=None`` prints to stdout, ``file="str"`` returns the text, any other value is written to as a file."""
    text = _render_tree(_roots(obj), print_type, _inplace_nodes(obj))
    if file == "str":
        return text
    (sys.stdout if file is None else file).write(text)
    return None


def to_networkx(obj) -> "networkx.DiGraph":
    """The graph as a networkx DiGraph: nodes ``n0, n1, ...`` in toposort order, attributes usable by Graphviz.

    Every node has a ``kind`` (apply, input, shared, constant, output, update) besides its Graphviz attributes."""
    import networkx as nx

    roots = _roots(obj)
    inplace = _inplace_nodes(obj)
    graph = nx.DiGraph()
    names: dict[object, str] = {}

    def add(key: object, kind: str, label: str) -> str:
        name = names[key] = f"n{len(names)}"
        graph.add_node(name, kind=kind, label=label, **_DOT_STYLE[kind])
        return name

    def source(var: Variable) -> str:
        if var.owner is not None:
            return names[var.owner]
        if var not in names:
            add(var, _leaf_kind(var), _dot_label(var))
        return names[var]

    for node in toposort([var for var, _ in roots]):
        sources = [source(var) for var in node.inputs]
        program = _program_text(node)
        kind = "fused" if program else "apply"
        label = "\n".join([str(node.op)] + program + (["(in place)"] if id(node) in inplace else []))
        target = add(node, kind, label)
        if id(node) in inplace:
            graph.nodes[target].update(color="red", penwidth="2")
        for pos, (var, src) in enumerate(zip(node.inputs, sources)):
            _connect(graph, src, target, _edge_text(var, str(pos) if len(node.inputs) > 1 else ""))
    for i, (var, tag) in enumerate(roots):
        src = source(var)
        label = (tag or f"output {i}") + (f" {var.name!r}" if var.name is not None else "")
        target = add(("output", i), "update" if tag else "output", f"{label}\n{var.type}")
        _connect(graph, src, target, _edge_text(var, ""))
    return graph


def to_dot(obj) -> str:
    """Graphviz DOT source for ``obj``: boxes for Applies, ellipses for inputs, constants and outputs."""
    graph = to_networkx(obj)
    lines = ["digraph graphc {"]
    lines += [f"  {name}{_dot_attrs(attrs)};" for name, attrs in graph.nodes(data=True)]
    lines += [f"  {u} -> {v}{_dot_attrs(attrs)};" for u, v, attrs in graph.edges(data=True)]
    return "\n".join(lines + ["}"]) + "\n"


# --- what to print -----------------------------------------------------------------------------------------------
def _roots(obj) -> list[Root]:
    """The variables to print from; a Function's update expressions are tagged with the variable they update."""
    if isinstance(obj, Variable):
        return [(obj, "")]
    if isinstance(obj, FunctionGraph):
        return [(var, "") for var in obj.outputs]
    if isinstance(obj, Function):
        outputs = obj.fgraph.outputs
        tags = [""] * obj.n_outputs + [f"update of {_one_line(_leaf_text(target))}" for target, _ in obj.updates]
        return list(zip(outputs, tags, strict=True))
    if isinstance(obj, (list, tuple)) and all(isinstance(var, Variable) for var in obj):
        return [(var, "") for var in obj]
    raise TypeError(f"cannot print {type(obj).__name__}; pass a Variable, a list of Variables, a FunctionGraph "
                    f"or a compiled Function")


def _leaf_text(var: Variable) -> str:
    """How an input, shared variable or constant is named: its value for small constants, else its name."""
    if isinstance(var, Constant):
        data = var.data
        return f"Constant{{{_value_text(data) if data.size <= MAX_CONSTANT_VALUES else f'{data.size} values'}}}"
    return var.name if var.name is not None else type(var).__name__


def _value_text(data: np.ndarray) -> str:
    """Nested-list text whose numbers print as numpy prints scalars (so float32 0.1 shows as 0.1)."""
    if data.ndim == 0:
        return str(data[()])
    return "[" + ", ".join(_value_text(row) for row in data) + "]"


def _op_text(var: Variable) -> str:
    node = var.owner
    return f"{node.op}.{var.index}" if len(node.outputs) > 1 else str(node.op)


# --- dprint --------------------------------------------------------------------------------------------------------
def _program_text(node: Apply) -> list[str]:
    """A fused node's scalar program, one step per line, its inputs named in0, in1, ... in input order."""
    composite = getattr(node.op, "composite", None)
    return composite.text([f"in{k}" for k in range(len(node.inputs))]) if composite is not None else []


def _inplace_nodes(obj) -> set[int]:
    """Applies the memory plan lets write an output over a dying input (for a compiled function)."""
    fgraph = obj.fgraph if isinstance(obj, Function) else obj if isinstance(obj, FunctionGraph) else None
    plan = getattr(fgraph, "memory_plan", None)
    if plan is None:
        return set()
    return {id(n) for n in plan.order if any(id(o) in plan.inplace for o in n.outputs)}


def _render_tree(roots: list[Root], print_type: bool, inplace: set[int]) -> str:
    """Depth-first with an explicit stack (deep graphs must not hit the recursion limit); ids in print order.
    A fused node's scalar program is listed under it (``╎``); nodes writing over an input say so."""
    ids: dict[Apply | Variable, str] = {}
    lines: list[str] = []
    for root, tag in roots:
        stack: list[tuple[Variable, str, str]] = [(root, "", "")]
        while stack:
            var, head, indent = stack.pop()
            key = var.owner if var.owner is not None else var
            repeated = key in ids
            if not repeated:
                ids[key] = _letters(len(ids))
            line = head + _line(var, ids[key], print_type)
            if var is root and tag:
                line += f" ({tag})"
            if var.owner is None:
                lines.append(line)
                continue
            if repeated:
                lines.append(line + " ···")
                continue
            if id(var.owner) in inplace:
                line += " (in place)"
            lines.append(line)
            lines += [f"{indent} ╎ {text}" for text in _program_text(var.owner)]
            inputs = var.owner.inputs
            for i in reversed(range(len(inputs))):
                last = i == len(inputs) - 1
                connector, below = (" └─ ", "    ") if last else (" ├─ ", " │  ")
                stack.append((inputs[i], indent + connector, indent + below))
    return "".join(line + "\n" for line in lines)


def _line(var: Variable, ident: str, print_type: bool) -> str:
    if var.owner is None and not isinstance(var, Constant):
        label, name = _one_line(_leaf_text(var)), ""
    else:
        label = _op_text(var) if var.owner is not None else _leaf_text(var)
        name = f" {var.name!r}" if var.name is not None else ""
    return f"{label} [id {ident}]{name}" + (f" <{var.type}>" if print_type else "")


def _one_line(text: str) -> str:
    """Input names print bare, unless they hold characters (newlines...) that would break the one-line layout."""
    return text if text.isprintable() else repr(text)


def _letters(number: int) -> str:
    """0 -> A, 25 -> Z, 26 -> BA: the ids PyTensor's debugprint uses."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(ord("A") + digit) + text
        if number == 0:
            return text


# --- to_dot --------------------------------------------------------------------------------------------------------
_DOT_STYLE: dict[str, dict[str, str]] = {
    "apply": {"shape": "box"},
    "fused": {"shape": "box", "style": "filled", "fillcolor": "lightyellow"},
    "input": {"shape": "ellipse"},
    "shared": {"shape": "ellipse", "style": "filled", "fillcolor": "lightblue"},
    "constant": {"shape": "ellipse", "style": "filled", "fillcolor": "lightgrey"},
    "output": {"shape": "ellipse", "style": "bold"},
    "update": {"shape": "ellipse", "style": "filled,bold,dashed", "fillcolor": "lightblue"},
}


def _leaf_kind(var: Variable) -> str:
    return "constant" if isinstance(var, Constant) else "shared" if isinstance(var, SharedVariable) else "input"


def _dot_label(var: Variable) -> str:
    name = f" {var.name!r}" if isinstance(var, Constant) and var.name is not None else ""
    return f"{_leaf_text(var)}{name}\n{var.type}"


def _edge_text(var: Variable, position: str) -> str:
    """The input position; for an output of a multi-output Apply, also which output (``out1→0``)."""
    if var.owner is not None and len(var.owner.outputs) > 1:
        return f"out{var.index}" + (f"→{position}" if position else "")
    return position


def _connect(graph: "networkx.DiGraph", src: str, dst: str, text: str) -> None:
    """A DiGraph holds one edge per pair, so a variable used at several positions gets one edge listing them."""
    if graph.has_edge(src, dst):
        graph.edges[src, dst]["label"] += ", " + text
    elif text:
        graph.add_edge(src, dst, label=text)
    else:
        graph.add_edge(src, dst)


def _dot_attrs(attrs: dict) -> str:
    return " [" + ", ".join(f"{key}={_dot_quote(str(value))}" for key, value in attrs.items()) + "]" if attrs else ""


def _dot_quote(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, newlines as ``\\n``, other control characters shown."""
    out = []
    for ch in text.replace("\r\n", "\n").replace("\r", "\n"):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
