"""CUDA lowerings, one module per op family; importing this package registers them all."""
from graphc.codegen.cuda_lowerings import blas, conv, elemwise, reduce, shape  # noqa: F401
