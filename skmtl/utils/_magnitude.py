"""Whether numbers are safe to square in float64: the check every input goes through."""

import numpy as np

# Squares of larger values, summed over rows, leave float64's range (~1.8e308)
# and turn into inf; squares of a column or target whose values are all
# smaller underflow toward 0 and every score computed from them rounds to 0.
LARGEST_SAFE_VALUE = 1e150
SMALLEST_SAFE_SCALE = 1e-150


def _unsafe_scale(values, axis=None):
    """Whether the largest magnitude is beyond what squares hold, or nonzero but too small."""
    largest = np.max(np.abs(values), axis=axis, initial=0.0)
    return (largest > LARGEST_SAFE_VALUE) | ((largest > 0) & (largest < SMALLEST_SAFE_SCALE))


def check_magnitude(values, what, remedy="multiply or divide it by a power of ten"):
    """Check that the squares of ``values`` neither overflow nor all underflow.

    skmtl's losses, gradients and Hessians square the features and targets;
    float64 holds those squares when the largest magnitude of ``values`` is
    between ``1e-150`` and ``1e150`` (or 0). Estimators run this check on
    every feature column and on regression targets.

    Parameters
    ----------
    values : array-like
        Finite numbers.
    what : str
        What ``values`` are, as the user knows them, to start the error
        message (for example ``"y"`` or ``"X's column 'income'"``).
    remedy : str, default="multiply or divide it by a power of ten"
        How to fix it, to end the error message.

    Raises
    ------
    ValueError
        If the largest magnitude is above ``1e150``, or nonzero and below
        ``1e-150``.

    Examples
    --------
    >>> from skmtl.utils import check_magnitude
    >>> check_magnitude([0.5, -2.0, 1e12], "y")
    >>> check_magnitude([1e200, 1.0], "y")
    Traceback (most recent call last):
    ...
    ValueError: y has values up to 1e+200; skmtl squares its inputs, ...
    """
    if not _unsafe_scale(values):
        return
    largest = np.max(np.abs(values))
    raise ValueError(
        f"{what} has values up to {largest:.3g}; skmtl squares its inputs, which "
        f"needs the largest magnitude between {SMALLEST_SAFE_SCALE:.0e} and "
        f"{LARGEST_SAFE_VALUE:.0e}. Rescale it: {remedy}."
    )
