"""Influence of training rows on held-out or validation losses, for the selector."""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples, column_or_1d
from tqdm.auto import tqdm

from ..model_selection import TaskShuffleSplit, TaskStratifiedKFold
from ..utils import encode_tasks
from ._noise import keep_every_class_in_training

def _fit_influence(estimator, X, y, X_val, y_val, weights=None, tasks=None):
    """Fit ``estimator`` on ``(X, y)``; influence of its rows on ``(X_val, y_val)``:
    ``(n_rows, n_fitted_tasks)``, or with ``weights`` (one per task of ``tasks``)
    each row's weighted total over the fitted tasks, ``(n_rows,)``."""
    estimator.fit(X, y)
    if not hasattr(estimator, "tasks_"):
        raise TypeError(
            f"{type(estimator).__name__} has no tasks_ attribute after fit; "
            "MTIFSelector needs it to know which task each influence column is."
        )
    fitted = np.asarray(estimator.tasks_)
    if weights is not None:
        totals = estimator.influence_total(
            X_val, y_val, task_weights=weights[encode_tasks(fitted, tasks)]
        )
        return fitted, np.asarray(totals)
    scores = np.asarray(estimator.influence(X_val, y_val))
    expected = (_num_samples(X), len(fitted))
    if scores.shape != expected:
        raise ValueError(
            f"{type(estimator).__name__}.influence returned shape {scores.shape}; "
            f"expected (n_fit_rows, n_tasks) = {expected}."
        )
    return fitted, scores


def _as_indices(part, keep):
    """Integer indices of a split part (indices or a boolean mask) whose rows ``keep`` marks."""
    part = np.asarray(part)
    part = np.flatnonzero(part) if part.dtype == bool else part.astype(np.intp, copy=False)
    return part[keep[part]]


def draw_splits(X, y, rng, *, cv, validation_fraction, task_col, n_folds=None):
    """The selector's splits of ``X`` for cross-fitting: one task-stratified
    held-out part of ``validation_fraction``, else ``n_folds`` task-stratified
    folds for an int ``cv``, else the user's ``cv``; drawn from ``rng``."""
    if validation_fraction is not None:
        # the selector's generator itself, so that every round draws afresh
        cv = TaskShuffleSplit(1, test_size=validation_fraction, random_state=rng, task_col=task_col)
    elif isinstance(cv, numbers.Integral):
        cv = TaskStratifiedKFold(
            n_folds, shuffle=True, random_state=rng.randint(2**31), task_col=task_col
        )
    else:
        cv = check_cv(cv)
    return list(cv.split(X, y))


def measure_influence(estimator, X, y, X_val, y_val, splits, remaining, tasks, *, weights=None,
                      every_class=False, n_jobs=None, verbose=0, leave=True):
    """Influence of the ``remaining`` rows of ``X`` on held-out losses, columns
    following ``tasks``; NaN for the other rows.

    ``splits`` index all of ``X`` (test part None: score against ``X_val``);
    only remaining rows are fitted or held out, and a split left without
    training or held-out rows is skipped. A row's influence is the mean over
    the splits that fitted it. With ``weights`` (one per task), each row's
    weighted total over the tasks instead, ``(n_samples,)``, from the
    estimator's ``influence_total`` (no ``(n_rows, n_tasks)`` array). With
    ``every_class`` (a classifier), held-out rows of a class their training part
    lacks are moved into it (:func:`keep_every_class_in_training`).
    """
    restricted = []
    for train, test in splits:
        train = _as_indices(train, remaining)
        test = None if test is None else _as_indices(test, remaining)
        if len(train) and (test is None or len(test)):
            restricted.append((train, test))
    splits = restricted
    if every_class and all(test is not None for _, test in splits):
        splits = keep_every_class_in_training(splits, y)
    jobs = Parallel(n_jobs=n_jobs if len(splits) > 1 else None, return_as="generator")(
        delayed(_fit_influence)(
            clone(estimator), _safe_indexing(X, train), y[train],
            *((X_val, y_val) if test is None else (_safe_indexing(X, test), y[test])),
            weights, tasks,
        )
        for train, test in splits
    )
    shape = (len(y),) if weights is not None else (len(y), len(tasks))
    total, count = np.zeros(shape), np.zeros(shape)
    for (train, _), (fitted, scores) in tqdm(
        zip(splits, jobs), total=len(splits), disable=not verbose, desc="MTIFSelector",
        leave=leave,
    ):
        rows = train if weights is not None else np.ix_(train, encode_tasks(fitted, tasks))
        finite = np.isfinite(scores)
        total[rows] += np.where(finite, scores, 0.0)
        count[rows] += finite
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def target_task_weights(target_weights, tasks):
    """The selector's ``target_weights`` as one non-negative weight per task of ``tasks``."""
    def numeric(values):
        values = np.asarray(values)
        if values.dtype.kind not in "iuf":
            raise ValueError(
                f"target_weights must hold numbers, one weight per task; got {target_weights!r}."
            )
        return values.astype(float)

    if target_weights is None:
        return np.ones(len(tasks))
    if isinstance(target_weights, dict):
        keys = list(target_weights)
        columns = encode_tasks(keys, tasks)
        unknown = [t for t, i in zip(keys, columns) if i < 0]
        if unknown:
            raise ValueError(
                f"target_weights names tasks {unknown} that are not in X; "
                f"the tasks are {tasks.tolist()}."
            )
        weights = np.zeros(len(tasks))
        weights[columns] = numeric(list(target_weights.values()))
    else:
        weights = numeric(column_or_1d(target_weights))
        if len(weights) != len(tasks):
            raise ValueError(
                f"target_weights has {len(weights)} entries but X has {len(tasks)} "
                "tasks; give one weight per task of tasks_, or a dict."
            )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.any():
        raise ValueError(
            "target_weights must be finite and non-negative, with at least one "
            f"positive weight; got {target_weights!r}."
        )
    return weights
