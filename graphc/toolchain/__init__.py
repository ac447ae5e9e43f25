"""Compiler discovery and flags, the on-disk cache, and loading of compiled libraries."""
