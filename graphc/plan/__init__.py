"""Scheduling and the static memory plan: which intermediates share a buffer slot, which kernels write in place."""
from graphc.plan.memory import MemoryPlan, plan_memory

__all__ = ["MemoryPlan", "plan_memory"]
