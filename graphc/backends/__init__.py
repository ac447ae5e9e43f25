"""Backends turn a FunctionGraph into a program with ``run(values, borrow) -> list of arrays``."""
