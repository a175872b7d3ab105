"""Regression or classification: ``skmtl.utils.infer_target_kind``."""

import numpy as np
import pytest

from skmtl.utils import MAX_CLASS_CODES, infer_target_kind

rng = np.random.default_rng(0)
GRAMS = rng.integers(2500, 4500, size=400)  # integer measurements, hundreds of values


@pytest.mark.parametrize(
    "y, kind",
    [
        (GRAMS, "regression"),
        (GRAMS.astype(float), "regression"),  # integer-valued floats (a CSV's 3120.0)
        (GRAMS.astype(object), "regression"),  # a pandas column of Python ints
        (rng.normal(size=50), "regression"),
        (np.array([0.5, 1.0, 1.0]), "regression"),  # few values, but not integers
        (np.arange(MAX_CLASS_CODES + 1), "regression"),
        (np.arange(MAX_CLASS_CODES), "classification"),
        (np.array([1, 2, 3, 2, 1]), "classification"),  # integer codes
        (np.array([0.0, 1.0, 1.0]), "classification"),
        (np.array([True, False, True]), "classification"),
        (np.array(["sitting", "standing"]), "classification"),
        (np.array(["1.5", "2.5"], dtype=object), "classification"),  # text, as sklearn reads it
    ],
)
def test_kind_as_users_expect(y, kind):
    assert infer_target_kind(y)[0] == kind


def test_reason_names_the_rule():
    assert infer_target_kind(GRAMS)[1] == (
        f"{len(np.unique(GRAMS))} distinct integer values, more than {MAX_CLASS_CODES}")
    assert infer_target_kind([3, 1, 2])[1] == "3 distinct integer values, at most 20"


def test_missing_or_infinite_values_are_an_error():
    with pytest.raises(ValueError, match="NaN"):
        infer_target_kind([1.5, np.nan])
    with pytest.raises(ValueError, match="infinity"):
        infer_target_kind([1.5, np.inf])

