"""Data selection: rows whose removal helps, found by influence or by a label-noise model."""

from ._noise import estimate_label_noise
from ._auto import fewest_removed_with_clear_gain, fewest_removed_within_one_se
from ._selector import MTIFSelector

__all__ = [
    "MTIFSelector", "estimate_label_noise", "fewest_removed_with_clear_gain",
    "fewest_removed_within_one_se",
]
