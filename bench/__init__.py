"""The benchmark suite: graphc against numpy, PyTensor, JAX and torch.compile. Run ``python -m bench --help``."""
