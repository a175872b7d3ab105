"""Synthetic and real multitask data sets (task label as the last column of X)."""

from ._real import load_exam, load_har
from ._synthetic import make_multitask_classification, make_multitask_counts, make_multitask_regression

__all__ = [
    "make_multitask_regression",
    "make_multitask_classification",
    "make_multitask_counts",
    "load_har",
    "load_exam",
]
