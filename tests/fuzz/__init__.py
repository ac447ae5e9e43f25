"""A differential fuzzer: random graphs evaluated by numpy, the py backend and generated C (with every rewrite, and
with each one excluded), gradients against finite differences. ``python -m tests.fuzz --graphs 10000`` runs it
long; ``tests/fuzz/test_fuzz.py`` runs it briefly in the test suite."""
