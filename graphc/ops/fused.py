"""FusedElemwise: a connected group of elementwise ops computed in one loop (the fusion pass makes them).

The group is kept as a Composite: a small DAG of scalar ops over the fused node's inputs, with any number of
outputs. Each step's result is converted to that step's own dtype, exactly as the unfused ops would materialise
it, so fusion never changes a value (small integers still wrap where numpy's intermediates would)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphc.graph.basic import Apply, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType, broadcast_static
from graphc.ops.elemwise import ScalarOp

Ref = int  # 0..n_inputs-1: an input of the composite; n_inputs + j: step j


@dataclass(frozen=True)
class Step:
    op: ScalarOp
    args: tuple[Ref, ...]
    loop: tuple[str, ...]   # the dtypes the arguments are computed in (numpy's loop selection)
    dtype: str              # the dtype of the result


@dataclass(frozen=True)
class Composite:
    """The scalar program of a fused group: ``steps`` in order, ``outputs`` naming the refs that leave the loop."""

    in_dtypes: tuple[str, ...]
    steps: tuple[Step, ...]
    outputs: tuple[Ref, ...]

    @classmethod
    def of_elemwise(cls, node: Apply) -> "Composite":
        """A plain Elemwise node as a one-step program."""
        op = node.op.scalar_op
        in_dtypes = tuple(v.dtype for v in node.inputs)
        loop, out = op.loop_dtypes(list(in_dtypes))
        return cls(in_dtypes, (Step(op, tuple(range(len(in_dtypes))), tuple(loop), out),), (len(in_dtypes),))

    def signature(self) -> str:
        n = len(self.in_dtypes)
        name = lambda r: f"i{r}" if r < n else f"t{r - n}"
        body = "; ".join(f"t{j}={s.op.signature()}({','.join(map(name, s.args))})" for j, s in enumerate(self.steps))
        return f"composite[{','.join(self.in_dtypes)}]{{{body}}}->({','.join(map(name, self.outputs))})"

    def dtype_of(self, ref: Ref) -> str:
        n = len(self.in_dtypes)
        return self.in_dtypes[ref] if ref < n else self.steps[ref - n].dtype

    def depends_on(self, ref: Ref) -> set[int]:
        """The composite inputs a ref reads, directly or through steps."""
        n = len(self.in_dtypes)
        if ref < n:
            return {ref}
        deps: set[int] = set()
        for a in self.steps[ref - n].args:
            deps |= self.depends_on(a)
        return deps

    def text(self, names: list[str]) -> list[str]:
        """The steps as readable lines (for dprint): ``t0 = exp(x)``."""
        n = len(self.in_dtypes)
        ref = lambda r: names[r] if r < n else f"t{r - n}"
        return [f"t{j} = {s.op.signature()}({', '.join(map(ref, s.args))})" for j, s in enumerate(self.steps)]


class FusedElemwise(Op):
    """Several elementwise ops over broadcast inputs in one loop; one output per value the group exports."""

    __props__ = ("composite",)

    def __init__(self, composite: Composite):
        self.composite = composite

    def __str__(self) -> str:
        names = "·".join(s.op.name for s in self.composite.steps)
        return f"FusedElemwise{{{names}}}"

    def signature(self) -> str:
        return f"FusedElemwise{{{self.composite.signature()}}}"

    def make_node(self, *inputs) -> Apply:
        c = self.composite
        if [v.dtype for v in inputs] != list(c.in_dtypes):
            raise TypeError(f"{self}: input dtypes {[v.dtype for v in inputs]} differ from {list(c.in_dtypes)}")
        outputs = []
        for ref in c.outputs:
            deps = sorted(c.depends_on(ref))
            shape = broadcast_static([inputs[k].type.shape for k in deps])
            outputs.append(Variable(TensorType(c.dtype_of(ref), shape)))
        return Apply(self, list(inputs), outputs)

    def perform(self, node, inputs):
        return evaluate(self.composite, list(inputs))

    def infer_shape(self, node, input_shapes):
        from graphc.ops.shape import broadcast_shape_vars
        return [broadcast_shape_vars([input_shapes[k] for k in sorted(self.composite.depends_on(ref))], var.ndim)
                for ref, var in zip(self.composite.outputs, node.outputs)]


def evaluate(composite: Composite, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The composite's outputs with numpy, each broadcast to the shape of the inputs it reads."""
    values: list[np.ndarray] = list(inputs)
    with np.errstate(all="ignore"):
        for step in composite.steps:
            args = [np.asarray(values[a], dtype=d) for a, d in zip(step.args, step.loop)]
            values.append(np.asarray(step.op.impl(*args)).astype(step.dtype, copy=False))
    results = []
    for ref in composite.outputs:
        shape = np.broadcast_shapes(*(inputs[k].shape for k in sorted(composite.depends_on(ref))))
        results.append(np.broadcast_to(values[ref], shape).astype(composite.dtype_of(ref), copy=True))
    return results


class FusedReduce(Op):
    """A reduction of an elementwise program's single output, computed as it is reduced: the elementwise result
    is never stored (``sum(exp(x - m))`` reads x once and writes only the sums)."""

    __props__ = ("reduce", "composite")

    def __init__(self, reduce: Op, composite: Composite):
        if len(composite.outputs) != 1:
            raise ValueError("a fused reduction reduces one elementwise output")
        self.reduce = reduce
        self.composite = composite

    def __str__(self) -> str:
        return f"FusedReduce{{{self.reduce}, {'·'.join(s.op.name for s in self.composite.steps)}}}"

    def signature(self) -> str:
        return f"FusedReduce{{{self.reduce.signature()}, {self.composite.signature()}}}"

    def _value_type(self, inputs) -> TensorType:
        ref = self.composite.outputs[0]
        deps = sorted(self.composite.depends_on(ref))
        return TensorType(self.composite.dtype_of(ref), broadcast_static([inputs[k].type.shape for k in deps]))

    def make_node(self, *inputs) -> Apply:
        value = Variable(self._value_type(inputs))
        out_type = self.reduce.make_node(value).outputs[0].type
        return Apply(self, list(inputs), [Variable(out_type)])

    def perform(self, node, inputs):
        value = evaluate(self.composite, list(inputs))[0]
        return self.reduce.perform(self.reduce.make_node(Variable(self._value_type(node.inputs))), [value])

    def infer_shape(self, node, input_shapes):
        from graphc.ops.shape import broadcast_shape_vars
        deps = sorted(self.composite.depends_on(self.composite.outputs[0]))
        value_shape = broadcast_shape_vars([input_shapes[k] for k in deps], len(self._value_type(node.inputs).shape))
        return self.reduce.infer_shape(self.reduce.make_node(Variable(self._value_type(node.inputs))), [value_shape])
