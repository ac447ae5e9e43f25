"""Op families, one module each: elemwise, reduce, shape, subtensor, blas, nnet."""
