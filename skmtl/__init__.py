"""skmtl: multitask learning for scikit-learn, with multitask influence functions."""

from .linear_model import MultiTaskLogistic, MultiTaskRidge

__version__ = "0.1.0"

__all__ = ["MultiTaskRidge", "MultiTaskLogistic"]
