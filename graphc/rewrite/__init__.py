"""Graph rewriting between the user's graph and code generation: a registry of named, tagged passes in one ordered
pipeline (see ``pipeline``), the options that select them, and the report of what they did.

Importing this package registers every pass; a new pass registers itself the same way from its own module."""
from graphc.rewrite.options import MODES, RewriteOptions
from graphc.rewrite.pipeline import optimize
from graphc.rewrite.registry import REGISTRY, node_rewrite, register_pass, register_phase
from graphc.rewrite.report import PassRecord, RewriteReport, optimization_report
from graphc.rewrite import arith, fold, fusion, gemm, memory, merge, prune, shapes, stability, stop_gradient  # noqa: F401  (register)

__all__ = ["MODES", "REGISTRY", "PassRecord", "RewriteOptions", "RewriteReport", "node_rewrite", "optimization_report",
           "optimize", "register_pass", "register_phase"]
