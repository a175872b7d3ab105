"""Data selection: rows whose removal helps, found by influence or by a label-noise model."""

from ._noise import estimate_label_noise
from ._selector import MTIFSelector, fewest_removed_within_one_se

__all__ = ["MTIFSelector", "estimate_label_noise", "fewest_removed_within_one_se"]
