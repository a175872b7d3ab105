"""Linear multitask models with soft parameter sharing."""

from ._logistic import MultiTaskLogistic
from ._poisson import MultiTaskPoisson
from ._ridge import MultiTaskRidge

__all__ = ["MultiTaskRidge", "MultiTaskLogistic", "MultiTaskPoisson"]
