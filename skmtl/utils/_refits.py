"""Refits on part of the data that may fail where the whole fits."""

import warnings

import numpy as np
from sklearn.exceptions import FitFailedWarning


def refit_or_error(refit, *args, **kwargs):
    """``refit(*args, **kwargs)``, or the exception it raised: a refit on part of the
    data can fail where the whole fits (the part holds one class), and one
    such refit should not cost the others."""
    try:
        return refit(*args, **kwargs)
    except Exception as exc:  # any estimator's error; refit_losses_or_nan reports it
        return exc


def refit_losses_or_nan(results, n_tasks, name_of, what):
    """Per-task losses of refits (rows of ``results``), a row of NaN for each
    refit that failed (an exception in ``results``, from :func:`refit_or_error`),
    with a ``FitFailedWarning`` that names how many failed and why the first
    did, as scikit-learn's ``cross_validate`` does; where every refit failed,
    the first error is raised. ``name_of(i)`` says which refit ``i`` was."""
    failed = [i for i, result in enumerate(results) if isinstance(result, Exception)]
    if not failed:
        return np.asarray(results, dtype=float).reshape(-1, n_tasks)
    first = results[failed[0]]
    reason = f"{type(first).__name__}: {first}"
    if len(failed) == len(results):
        raise ValueError(f"Every one of the {len(results)} {what} failed; the first "
                         f"({name_of(failed[0])}) raised {reason}") from first
    warnings.warn(
        f"{len(failed)} of the {len(results)} {what} failed, and their losses are NaN; the "
        f"first ({name_of(failed[0])}) raised {reason}",
        FitFailedWarning,
    )
    return np.vstack([np.full(n_tasks, np.nan) if isinstance(r, Exception)
                      else np.asarray(r, dtype=float) for r in results])
