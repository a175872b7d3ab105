"""Whether a target is a measurement (regression) or class labels."""

import numbers

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

MAX_CLASS_CODES = 20
"""The most distinct integer values that are read as class codes."""


def infer_target_kind(y):
    """Decide whether ``y`` is a regression or a classification target.

    Numbers that are not all integers are a measurement; so are integers
    with more than ``skmtl.utils.MAX_CLASS_CODES`` (20) distinct values
    (grams, counts, ages). Text, booleans and at most 20 distinct integers
    are class labels.
    Pass the model (or ``task_types``) explicitly to decide otherwise.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Finite target values.

    Returns
    -------
    kind : {"regression", "classification"}
    reason : str
        Why, in a few words (for example ``"300 distinct integer values, more
        than 20"``).

    Examples
    --------
    >>> from skmtl.utils import infer_target_kind
    >>> infer_target_kind([0, 1, 1, 2])
    ('classification', '3 distinct integer values, at most 20')
    >>> infer_target_kind(list(range(2000, 4000, 10)))  # weights in grams
    ('regression', '200 distinct integer values, more than 20')
    >>> infer_target_kind(["sitting", "standing"])
    ('classification', 'values that are not numbers')
    """
    y = column_or_1d(np.asarray(y))
    if y.dtype == object and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in y
    ):
        y = y.astype(float)  # numbers in an object array (a pandas column of mixed ints)
    if y.dtype.kind == "b":
        return "classification", "boolean values"
    if y.dtype.kind not in "iuf":
        return "classification", "values that are not numbers"
    assert_all_finite(y, input_name="y")
    if type_of_target(y) == "continuous":
        return "regression", "numbers that are not all integers"
    n_values = len(np.unique(y))
    if n_values > MAX_CLASS_CODES:
        return "regression", f"{n_values} distinct integer values, more than {MAX_CLASS_CODES}"
    return "classification", f"{n_values} distinct integer values, at most {MAX_CLASS_CODES}"
