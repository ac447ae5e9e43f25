"""(being written)"""
def concatenate(*a, **k): raise NotImplementedError
def stack(*a, **k): raise NotImplementedError
