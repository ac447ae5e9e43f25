"""The graph IR: types, variables, applies, ops and function graphs."""
from graphc.graph.type import TensorType
from graphc.graph.basic import Apply, Constant, SharedVariable, Variable
from graphc.graph.op import Op
from graphc.graph.fg import FunctionGraph

__all__ = ["TensorType", "Variable", "Constant", "SharedVariable", "Apply", "Op", "FunctionGraph"]
