"""Lowering of a FunctionGraph to source text (C; CUDA later), from Jinja templates."""
