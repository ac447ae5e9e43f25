"""(being written)"""
def dot(*a, **k): raise NotImplementedError
def matmul(*a, **k): raise NotImplementedError
