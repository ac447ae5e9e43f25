"""Elementwise ops: a table of scalar ops, and Elemwise, which maps one over broadcast inputs.

Each scalar op carries numpy's implementation and dtype rules (``ufunc.resolve_dtypes``), and its gradient as a
few graph-building lines. The C text of each scalar op lives in ``graphc.codegen.scalar``."""
from __future__ import annotations

import operator
from typing import Callable, Sequence

import numpy as np

from graphc.graph.basic import Apply, Variable
from graphc.graph.op import Op
from graphc.graph.type import DTYPES, TensorType, broadcast_static, check_dtype
from graphc.ops.convert import as_operands, as_tensor

GradRule = Callable[[list[Variable], Variable, Variable], list["Variable | None"]]


def _stable_sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def _softplus(x):
    with np.errstate(over="ignore"):
        return (np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)).astype(x.dtype)


def _relu(x):
    return np.maximum(x, np.zeros((), x.dtype))


class ScalarOp:
    """One scalar function: its name, arity, numpy implementation and dtype rule.

    ``ufunc`` gives numpy's loop selection: the dtypes the inputs are computed in and the output dtype.
    ``floats_only`` ops (transcendentals) refuse integer inputs that numpy would compute in float16."""

    def __init__(self, name: str, nin: int, impl: Callable, ufunc: np.ufunc | None = None,
                 dtype_like: np.ufunc | None = None, params: tuple = ()):
        self.name = name
        self.nin = nin
        self.impl = impl
        self.ufunc = ufunc
        self.dtype_like = dtype_like or ufunc
        self.params = params

    def signature(self) -> str:
        return self.name + (f"[{','.join(map(str, self.params))}]" if self.params else "")

    def __eq__(self, other) -> bool:
        return isinstance(other, ScalarOp) and self.signature() == other.signature()

    def __hash__(self) -> int:
        return hash(self.signature())

    def __str__(self) -> str:
        return self.signature()

    __repr__ = __str__

    def loop_dtypes(self, in_dtypes: Sequence[str]) -> tuple[list[str], str]:
        """(dtypes the inputs are computed in, output dtype), exactly as numpy picks them."""
        if self.dtype_like is not None:
            try:
                resolved = self.dtype_like.resolve_dtypes(tuple(np.dtype(d) for d in in_dtypes) + (None,))
            except (TypeError, np.exceptions.DTypePromotionError) as exc:
                raise TypeError(f"{self.name} is not defined for dtypes {', '.join(in_dtypes)} "
                                f"(numpy: {exc})") from None
            loop = [d.name for d in resolved[:-1]]
            out = resolved[-1].name
            if self.name in ("sigmoid", "softplus", "relu"):
                loop, out = [out], out
        else:
            out = self.out_dtype(in_dtypes)
            loop = self.in_loop_dtypes(in_dtypes, out)
        if out not in DTYPES or any(d not in DTYPES for d in loop):
            raise TypeError(f"{self.name} of {', '.join(in_dtypes)} would compute in float16, which graphc does "
                            f"not support; cast the input to float32 or float64 first")
        return loop, out

    def out_dtype(self, in_dtypes: Sequence[str]) -> str:
        raise NotImplementedError

    def in_loop_dtypes(self, in_dtypes: Sequence[str], out: str) -> list[str]:
        return [out] * len(in_dtypes)


class Cast(ScalarOp):
    def __init__(self, dtype: str):
        dtype = check_dtype(dtype)
        super().__init__("cast", 1, lambda x: x.astype(dtype), params=(dtype,))
        self.dtype = dtype

    def out_dtype(self, in_dtypes):
        return self.dtype

    def in_loop_dtypes(self, in_dtypes, out):
        return list(in_dtypes)


class Where(ScalarOp):
    def __init__(self):
        super().__init__("where", 3, np.where)

    def out_dtype(self, in_dtypes):
        return np.result_type(*in_dtypes[1:]).name

    def in_loop_dtypes(self, in_dtypes, out):
        return ["bool", out, out]


class Clip(ScalarOp):
    def __init__(self):
        super().__init__("clip", 3, np.clip)

    def out_dtype(self, in_dtypes):
        return np.result_type(*in_dtypes).name


def _ufunc_op(name: str, ufunc: np.ufunc) -> ScalarOp:
    return ScalarOp(name, ufunc.nin, ufunc, ufunc)


SCALAR_OPS: dict[str, ScalarOp] = {op.name: op for op in [
    _ufunc_op("add", np.add), _ufunc_op("sub", np.subtract), _ufunc_op("mul", np.multiply),
    _ufunc_op("true_div", np.true_divide), _ufunc_op("floor_div", np.floor_divide),
    _ufunc_op("mod", np.remainder), _ufunc_op("pow", np.power),
    _ufunc_op("maximum", np.maximum), _ufunc_op("minimum", np.minimum),
    _ufunc_op("neg", np.negative), _ufunc_op("abs", np.absolute), _ufunc_op("sign", np.sign),
    _ufunc_op("exp", np.exp), _ufunc_op("log", np.log), _ufunc_op("log1p", np.log1p),
    _ufunc_op("expm1", np.expm1), _ufunc_op("sqrt", np.sqrt), _ufunc_op("sin", np.sin),
    _ufunc_op("cos", np.cos), _ufunc_op("tanh", np.tanh),
    ScalarOp("sigmoid", 1, _stable_sigmoid, dtype_like=np.exp),
    ScalarOp("softplus", 1, _softplus, dtype_like=np.exp),
    ScalarOp("relu", 1, _relu, dtype_like=np.negative),
    _ufunc_op("eq", np.equal), _ufunc_op("neq", np.not_equal), _ufunc_op("lt", np.less),
    _ufunc_op("le", np.less_equal), _ufunc_op("gt", np.greater), _ufunc_op("ge", np.greater_equal),
    _ufunc_op("bitwise_and", np.bitwise_and), _ufunc_op("bitwise_or", np.bitwise_or),
    _ufunc_op("bitwise_xor", np.bitwise_xor), _ufunc_op("invert", np.invert),
    _ufunc_op("isnan", np.isnan), _ufunc_op("isinf", np.isinf), _ufunc_op("isfinite", np.isfinite),
    Where(), Clip(),
]}


class Elemwise(Op):
    """Applies a scalar op elementwise over inputs broadcast together, as a numpy ufunc does."""

    __props__ = ("scalar_op",)

    def __init__(self, scalar_op: ScalarOp):
        self.scalar_op = scalar_op

    def __str__(self) -> str:
        return f"Elemwise{{{self.scalar_op}}}"

    def make_node(self, *inputs) -> Apply:
        inputs = [as_tensor(v) for v in inputs]
        if len(inputs) != self.scalar_op.nin:
            raise TypeError(f"{self.scalar_op.name} takes {self.scalar_op.nin} inputs, got {len(inputs)}")
        _, out_dtype = self.scalar_op.loop_dtypes([v.dtype for v in inputs])
        shape = broadcast_static([v.type.shape for v in inputs])
        return Apply(self, inputs, [Variable(TensorType(out_dtype, shape))])

    def perform(self, node, inputs):
        out_dtype = node.outputs[0].dtype
        loop, _ = self.scalar_op.loop_dtypes([v.dtype for v in node.inputs])
        args = [np.asarray(a, dtype=d) for a, d in zip(inputs, loop)]
        with np.errstate(all="ignore"):
            result = self.scalar_op.impl(*args)
        result = np.asarray(result)
        shape = np.broadcast_shapes(*(a.shape for a in inputs))
        return [np.broadcast_to(result, shape).astype(out_dtype, copy=True)]

    def infer_shape(self, node, input_shapes):
        from graphc.ops.shape import broadcast_shape_vars
        return [broadcast_shape_vars(input_shapes, node.outputs[0].ndim)]

    def grad(self, inputs, outputs, output_grads):
        gz = output_grads[0]
        rule = GRADS.get(self.scalar_op.name)
        if rule is None:
            return [None] * len(inputs)
        from graphc.ops.shape import sum_to
        grads = rule(inputs, outputs[0], gz)
        result: list[Variable | None] = []
        for inp, g in zip(inputs, grads):
            if g is None or inp.dtype not in ("float32", "float64"):
                result.append(None)
                continue
            if self.scalar_op.name in UNBOUNDED_SLOPES:
                g = where(eq(gz, 0), 0, g)
            result.append(cast(sum_to(g, inp), inp.dtype))
        return result


# --- builders -------------------------------------------------------------------------------------
_COMPARISONS = {"eq": operator.eq, "neq": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
                "ge": operator.ge}


def _out_of_range_comparison(name: str, args) -> Variable | None:
    """numpy 2 compares an integer array with a Python int outside the array's dtype exactly (``x_u8 < -1`` is all
    False, no OverflowError): every element compares the same way, so the result is a constant of the array's shape."""
    if name not in _COMPARISONS or len(args) != 2:
        return None
    for k in (0, 1):
        v, other = args[k], args[1 - k]
        if not isinstance(v, int) or isinstance(v, bool) or isinstance(other, (bool, int, float)):
            continue
        other = as_tensor(other)
        if other.type.np_dtype.kind not in "iu":
            continue
        info = np.iinfo(other.dtype)
        if info.min <= v <= info.max:
            continue
        pair = (info.min, v) if k == 1 else (v, info.min)     # any in-range element gives the same answer
        from graphc.ops.shape import alloc, shape_tuple
        return alloc(np.array(_COMPARISONS[name](*pair)), shape_tuple(other))
    return None


def _builder(name: str) -> Callable[..., Variable]:
    op = Elemwise(SCALAR_OPS[name])

    def build(*args):
        folded = _out_of_range_comparison(name, args)
        if folded is not None:
            return folded
        return op(*as_operands(*args))

    build.__name__ = name
    build.__doc__ = f"Elementwise {name}, broadcasting as numpy does."
    return build


add = _builder("add"); sub = _builder("sub"); mul = _builder("mul"); true_div = _builder("true_div")
floor_div = _builder("floor_div"); mod = _builder("mod"); pow = _builder("pow")
maximum = _builder("maximum"); minimum = _builder("minimum")
neg = _builder("neg"); abs = _builder("abs"); sign = _builder("sign")
exp = _builder("exp"); log = _builder("log"); log1p = _builder("log1p"); expm1 = _builder("expm1")
sqrt = _builder("sqrt"); sin = _builder("sin"); cos = _builder("cos"); tanh = _builder("tanh")
sigmoid = _builder("sigmoid"); softplus = _builder("softplus"); relu = _builder("relu")
eq = _builder("eq"); neq = _builder("neq"); lt = _builder("lt"); le = _builder("le"); gt = _builder("gt")
ge = _builder("ge"); bitwise_and = _builder("bitwise_and"); bitwise_or = _builder("bitwise_or")
bitwise_xor = _builder("bitwise_xor"); invert = _builder("invert")
isnan = _builder("isnan"); isinf = _builder("isinf"); isfinite = _builder("isfinite")
clip = _builder("clip")
true_divide = true_div


def where(condition, x, y) -> Variable:
    """``x`` where ``condition`` is true, else ``y`` (numpy.where with three arguments)."""
    cond = as_tensor(condition)
    x, y = as_operands(x, y)
    return Elemwise(SCALAR_OPS["where"])(cond, x, y)


def cast(x, dtype) -> Variable:
    """``x.astype(dtype)`` with numpy's conversion rules; a no-op when the dtype already matches."""
    x = as_tensor(x)
    dtype = check_dtype(dtype)
    return x if x.dtype == dtype else Elemwise(Cast(dtype))(x)


def square(x) -> Variable:
    return mul(x, x)


# --- gradients: each next to nothing but its own math ---------------------------------------------
def _zeros_like(x):
    from graphc.ops.shape import zeros_like
    return zeros_like(x)


def _pow_grad(i, z, g):
    x, y = i
    gx = g * y * pow(x, y - 1)
    gy = g * z * log(where(x > 0, x, 1))
    return [where(eq(y, 0), 0, gx), gy]


def _minmax_grad(pick_first):
    def rule(i, z, g):
        a, b = i
        first = pick_first(a, b)
        return [where(first, g, 0), where(first, 0, g)]
    return rule


# Ops whose gradient multiplies the cotangent by a slope that can be infinite or NaN (sqrt and log at 0, exp
# overflowing, x/0, ...). An element whose cotangent is exactly 0 does not affect the cost (it was indexed away,
# or masked by where), so its contribution is 0, never 0 * inf = NaN.
UNBOUNDED_SLOPES = frozenset({"mul", "true_div", "mod", "pow", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos"})

GRADS: dict[str, GradRule] = {
    "add": lambda i, z, g: [g, g],
    "sub": lambda i, z, g: [g, -g],
    "mul": lambda i, z, g: [g * i[1], g * i[0]],
    "true_div": lambda i, z, g: [g / i[1], -g * z / i[1]],
    "floor_div": lambda i, z, g: [_zeros_like(i[0]), _zeros_like(i[1])],
    "mod": lambda i, z, g: [g, -g * floor_div(i[0], i[1])],
    "pow": _pow_grad,
    "maximum": _minmax_grad(lambda a, b: ge(a, b)),
    "minimum": _minmax_grad(lambda a, b: le(a, b)),
    "neg": lambda i, z, g: [-g],
    "abs": lambda i, z, g: [g * sign(i[0])],
    "sign": lambda i, z, g: [_zeros_like(i[0])],
    "exp": lambda i, z, g: [g * z],
    "log": lambda i, z, g: [g / i[0]],
    "log1p": lambda i, z, g: [g / (i[0] + 1)],
    "expm1": lambda i, z, g: [g * (z + 1)],
    "sqrt": lambda i, z, g: [g / (2 * z)],
    "sin": lambda i, z, g: [g * cos(i[0])],
    "cos": lambda i, z, g: [-g * sin(i[0])],
    "tanh": lambda i, z, g: [g * (1 - z * z)],
    "sigmoid": lambda i, z, g: [g * z * (1 - z)],
    "softplus": lambda i, z, g: [g * sigmoid(i[0])],
    "relu": lambda i, z, g: [where(i[0] > 0, g, 0)],
    "cast": lambda i, z, g: [g],
    "where": lambda i, z, g: [None, where(i[0], g, 0), where(i[0], 0, g)],
    "clip": lambda i, z, g: [where((i[0] >= i[1]) & (i[0] <= i[2]), g, 0),
                             where(i[0] < i[1], g, 0), where(i[0] > i[2], g, 0)],
}
