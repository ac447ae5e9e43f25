"""C lowerings, one module per op family; importing this package registers them all."""
from graphc.codegen.lowerings import blas, conv, elemwise, join, reduce, shape, subtensor  # noqa: F401
