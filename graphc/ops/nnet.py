"""(being written)"""
def softmax(*a, **k): raise NotImplementedError
def log_softmax(*a, **k): raise NotImplementedError
def logsumexp(*a, **k): raise NotImplementedError
def stop_gradient(*a, **k): raise NotImplementedError
