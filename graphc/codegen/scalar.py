"""The scalar-expression printer shared by the C and CUDA renderers: one C expression per scalar op.

Arguments arrive already converted to the op's loop dtype (numpy's choice); the caller converts the result to
the output dtype, so small integers wrap exactly as numpy's do."""
from __future__ import annotations

from graphc.ops.elemwise import ScalarOp

CTYPES = {"bool": "bool", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
          "int64": "int64_t", "uint64": "uint64_t", "float32": "float32_t", "float64": "float64_t"}

_UNARY_MATH = ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh")
_COMPARE = {"eq": "==", "neq": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_BINARY = {"add": "+", "sub": "-", "mul": "*", "true_div": "/", "bitwise_and": "&", "bitwise_or": "|",
           "bitwise_xor": "^"}


def ctype(dtype: str) -> str:
    return CTYPES[dtype]


def needs_error_flag(op: ScalarOp, loop: list[str]) -> bool:
    """Whether the expression reports errors through the kernel's ``bad`` flag (integer power)."""
    return op.name == "pow" and loop[0] not in ("float32", "float64")


def float_to_int(expr: str, src: str, dst: str) -> str:
    """``expr`` (of dtype ``src``) made ready for C's conversion to ``dst``: a float converted to an integer goes
    through gc_f2i32/gc_f2i64, which define NaN and out-of-range values as numpy on x86-64 (C leaves them undefined)."""
    if src in ("float32", "float64") and dst not in ("bool", "float32", "float64"):
        return f"gc_f2i{64 if dst in ('int64', 'uint64') else 32}({expr})"
    return expr


def c_expr(op: ScalarOp, args: list[str], loop: list[str], out: str) -> str:
    """C text computing ``op`` on ``args`` (already of the loop dtypes); the result is not yet cast."""
    t = loop[0] if loop else out
    is_float = t in ("float32", "float64")
    sfx = "f" if t == "float32" else ""
    ct = CTYPES[t]
    a = args[0] if args else ""
    name = op.name
    if name in _BINARY:
        return f"({a} {_BINARY[name]} {args[1]})"
    if name in _COMPARE:
        return f"({a} {_COMPARE[name]} {args[1]})"
    if name in _UNARY_MATH:
        return f"{name}{sfx}({a})"
    if name in ("floor_div", "mod"):
        if t == "bool":
            raise TypeError(f"{name} on bool computes in a wider dtype; this should not be reached")
        return f"gc_{'floordiv' if name == 'floor_div' else 'mod'}_{ct}({a}, {args[1]})"
    if name == "pow":
        return f"pow{sfx}({a}, {args[1]})" if is_float else f"gc_pow_{ct}({a}, {args[1]}, &bad)"
    if name in ("maximum", "minimum"):
        if is_float:
            return f"gc_{name[:3]}_{ct}({a}, {args[1]})"
        return f"({a} {'>=' if name == 'maximum' else '<='} {args[1]} ? {a} : {args[1]})"
    if name == "neg":
        return f"(-{a})"
    if name == "abs":
        return f"fabs{sfx}({a})" if is_float else (a if t == "bool" else f"({a} < 0 ? -{a} : {a})")
    if name == "sign":
        return f"gc_sign_{ct}({a})" if is_float else f"(({a} > 0) - ({a} < 0))"
    if name in ("sigmoid", "softplus"):
        return f"gc_{name}_{ct}({a})"
    if name == "relu":
        return f"gc_max_{ct}({a}, 0)" if is_float else f"({a} > 0 ? {a} : 0)"
    if name == "invert":
        return f"(!{a})" if t == "bool" else f"(~{a})"
    if name in ("isnan", "isinf", "isfinite"):
        if is_float:
            return f"({name}({a}) != 0)"
        return "1" if name == "isfinite" else "0"
    if name == "where":
        return f"({a} ? {args[1]} : {args[2]})"
    if name == "clip":
        if is_float:
            return f"gc_clip_{ct}({a}, {args[1]}, {args[2]})"
        lo = f"({a} >= {args[1]} ? {a} : {args[1]})"
        return f"({lo} <= {args[2]} ? {lo} : {args[2]})"
    if name == "cast":
        return float_to_int(a, t, out)
    raise NotImplementedError(f"no C expression for scalar op {name}")
