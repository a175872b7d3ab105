"""Ground truth for influence estimates: brute-force refits without rows or tasks."""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_consistent_length
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_is_fitted, column_or_1d
from tqdm.auto import tqdm

from .base import validation_given
from .influence import prediction_losses
from .utils import check_task_X, encode_fitted_tasks, encode_tasks
from .utils._refits import refit_losses_or_nan, refit_or_error
from .utils._tasks import final_step, final_step_param, quiet_inner_task_warnings


def task_losses(estimator, X, y, tasks=None, sample_weight=None):
    """Mean loss of a fitted estimator on each task of ``(X, y)``.

    The loss is the one the estimator's influence measures
    (:meth:`skmtl.influence.InfluenceAdapter.row_losses`): the mean log-loss
    on classification tasks and the mean squared error on regression tasks
    (a network may hold both kinds), half the Poisson deviance for
    :class:`~skmtl.MultiTaskPoisson`. Tasks the estimator cannot predict (not seen in
    fit, and ``unknown_task`` is not ``"shared"``) get NaN.

    Parameters
    ----------
    estimator : fitted skmtl estimator
    X, y : array-like
        Data with the task column.
    tasks : array-like, default=None
        Task labels to report, in order; ``estimator.tasks_`` by default.
        Tasks without rows in ``X`` get NaN.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights: each task's loss is then the weighted mean, as in fit
        (tasks whose rows all have weight 0 get NaN).

    Returns
    -------
    ndarray of shape (n_tasks,)

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import task_losses
    >>> X, y = make_multitask_regression(n_tasks=2, n_samples=30, random_state=0)
    >>> task_losses(MultiTaskRidge().fit(X, y), X, y).shape
    (2,)
    """
    check_is_fitted(estimator)
    model, X_model = final_step(estimator, X)  # a Pipeline: its model, X through its steps
    tasks = model.tasks_ if tasks is None else np.asarray(tasks)
    check_consistent_length(X, y, sample_weight)
    y = column_or_1d(y)
    weights = _check_sample_weight(sample_weight, y, ensure_non_negative=True)
    _, labels = check_task_X(model, X_model, reset=False)
    seen = encode_fitted_tasks(labels, model.tasks_) >= 0  # raises for 1 vs "1"
    row_task = encode_tasks(labels, tasks)
    predictable = (row_task >= 0) & (weights > 0)
    if getattr(model, "unknown_task", "error") != "shared":
        # e.g. a network after leave-one-task-out: no head for the removed task
        predictable &= seen
    keep = np.flatnonzero(predictable)
    out = np.full(len(tasks), np.nan)
    if len(keep) == 0:
        return out
    X_keep, y_keep, row_task = _safe_indexing(X, keep), y[keep], row_task[keep]
    # a task the model did not fit (left out by a refit) is predicted by the shared part on purpose
    with quiet_inner_task_warnings(task_labels=False):
        if hasattr(model, "get_influence_adapter"):  # the loss the model's influence measures
            per_row = model.get_influence_adapter().row_losses(_safe_indexing(X_model, keep), y_keep)
        else:
            per_row = prediction_losses(estimator, X_keep, y_keep)
    counts = np.bincount(row_task, weights=weights[keep], minlength=len(tasks))
    sums = np.bincount(row_task, weights=weights[keep] * per_row, minlength=len(tasks))
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def _check_rows(rows, n_samples):
    """The ``rows`` argument of :func:`loo_effects` as indices in ``[0, n_samples)``.

    Parameters
    ----------
    rows : array-like of int or bool, or None
        Integer indices, negative ones counting from the end, or a boolean
        mask of length ``n_samples``; None means every row.
    n_samples : int
        Number of rows of ``X``.

    Returns
    -------
    ndarray of shape (n_rows,) of int
    """
    if rows is None:
        return np.arange(n_samples)
    rows = column_or_1d(rows, input_name="rows")
    allowed = (
        f"rows must be integer indices in [-{n_samples}, {n_samples}) or a boolean "
        f"mask of length {n_samples}, one entry per row of X"
    )
    if rows.dtype == bool:
        if len(rows) != n_samples:
            raise ValueError(f"{allowed}; got a boolean mask of length {len(rows)}.")
        return np.flatnonzero(rows)
    if len(rows) == 0:
        return np.arange(0)
    if rows.dtype.kind not in "iu":
        raise ValueError(f"{allowed}; got entries of dtype {rows.dtype}.")
    outside = (rows < -n_samples) | (rows >= n_samples)
    if outside.any():
        raise ValueError(f"{allowed}; got {rows[outside].tolist()}.")
    return rows % n_samples


def _refit_losses(estimator, X, y, sample_weight, keep, val, tasks):
    fit_kwargs = ({} if sample_weight is None
                  else {final_step_param(estimator, "sample_weight", fit=True): sample_weight[keep]})
    model = refit_or_error(clone(estimator).fit, _safe_indexing(X, keep), y[keep], **fit_kwargs)
    if isinstance(model, Exception):
        return model
    try:
        return task_losses(model, val[0], val[1], tasks, val[2])
    except ValueError as exc:
        if "not seen in fit" not in str(exc):
            raise
        # the refit's loss is undefined: a failed refit (NaN, with a FitFailedWarning)
        dropped = np.setdiff1d(np.arange(len(y)), keep)
        return ValueError(
            f"without rows {dropped[:5].tolist()}{' ...' if len(dropped) > 5 else ''} no training "
            f"row is left of a class the validation data holds ({str(exc).split('; ')[0]}), so "
            "the refit's loss there is undefined; leave that class's validation rows out to "
            "score the rest")


def _brute_force(estimator, X, y, X_val, y_val, sample_weight, dropped_rows, n_jobs, verbose, desc):
    """Refit once per entry of ``dropped_rows(full_model)``, each a name and the
    rows to leave out, and return the change of every task's loss (NaN where
    the refit failed, with a ``FitFailedWarning``)."""
    check_consistent_length(X, y, sample_weight)
    y = column_or_1d(y)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=float)
    if validation_given(X_val, y_val):
        check_consistent_length(X_val, y_val)
        val = X_val, y_val, None
    else:  # the training data, weighted as in the fit
        val = X, y, sample_weight
    if (unknown_task := final_step_param(estimator, "unknown_task")) in estimator.get_params():
        # a removed task is then predicted with the shared coefficients
        estimator = clone(estimator).set_params(**{unknown_task: "shared"})
    fit_kwargs = ({} if sample_weight is None
                  else {final_step_param(estimator, "sample_weight", fit=True): sample_weight})
    full = clone(estimator).fit(X, y, **fit_kwargs)
    tasks = final_step(full)[0].tasks_
    base = task_losses(full, val[0], val[1], tasks, val[2])
    names, drops = zip(*dropped_rows(full))
    everything = np.arange(len(y))
    jobs = (
        delayed(_refit_losses)(
            estimator, X, y, sample_weight, np.setdiff1d(everything, drop), val, tasks
        )
        for drop in drops
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    rows = list(tqdm(results, total=len(drops), desc=desc, disable=not verbose))
    return refit_losses_or_nan(rows, len(tasks), names.__getitem__, desc) - base


def loo_effects(
    estimator, X, y, X_val=None, y_val=None, rows=None, n_jobs=None, *, sample_weight=None,
    verbose=0,
):
    """Leave-one-out effects by refitting without each row.

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned, never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured; the training data (weighted by
        ``sample_weight``) when omitted.
    rows : array-like of int or bool, default=None
        Rows to leave out, one refit each, as integer indices (negative ones
        count from the end, as in numpy) or a boolean mask of length
        ``n_samples``; all rows by default.
    n_jobs : int, default=None
        Refits run in parallel through joblib (any joblib backend).
    sample_weight : array-like of shape (n_samples,), default=None
    verbose : int, default=0
        Show a progress bar when > 0.

    Returns
    -------
    effects : ndarray of shape (n_rows, n_tasks)
        ``loss_j(fit without row i) - loss_j(fit)``, columns following the
        full fit's ``tasks_``: the quantity ``estimator.influence`` estimates.
        A row of NaN where the refit failed, with a ``FitFailedWarning``
        (every refit failing raises the first error).

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import loo_effects
    >>> X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    >>> loo_effects(MultiTaskRidge(), X, y, rows=[0, 1]).shape
    (2, 2)
    """
    n_samples = _num_samples(X)
    if n_samples < 2:
        raise ValueError(
            f"loo_effects needs at least two rows of X, got {n_samples}: leaving out "
            "the only row leaves no data to refit on."
        )
    rows = _check_rows(rows, n_samples)
    return _brute_force(
        estimator, X, y, X_val, y_val, sample_weight,
        lambda full: [(f"the refit without row {i}", [i]) for i in rows], n_jobs, verbose,
        "refits without a row",
    )


def loto_effects(
    estimator, X, y, X_val=None, y_val=None, n_jobs=None, *, sample_weight=None, verbose=0,
):
    """Leave-one-task-out effects by refitting without each whole task.

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned, never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured; the training data (weighted by
        ``sample_weight``) when omitted.
    n_jobs : int, default=None
        Refits run in parallel through joblib (any joblib backend).
    sample_weight : array-like of shape (n_samples,), default=None
    verbose : int, default=0
        Show a progress bar when > 0.

    Returns
    -------
    effects : ndarray of shape (n_tasks, n_tasks)
        Entry ``[k, j]`` is ``loss_j(fit without task k) - loss_j(fit)``
        (row = source, column = target): the quantity
        ``estimator.task_relatedness`` estimates. Models with shared
        coefficients predict the removed task with them. A row of NaN where
        the refit failed (the other tasks hold one class between them), with
        a ``FitFailedWarning``.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import loto_effects
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=3, random_state=0)
    >>> loto_effects(MultiTaskRidge(), X, y).shape
    (3, 3)
    """
    def each_task(full):
        model, X_model = final_step(full, X)
        if len(model.tasks_) < 2:
            raise ValueError(
                f"loto_effects needs at least two tasks, but X holds only task "
                f"{model.tasks_.tolist()[0]!r}: leaving it out leaves no data to refit on."
            )
        row_task = encode_tasks(check_task_X(model, X_model, reset=False)[1], model.tasks_)
        return [(f"the refit without task {task!r}", np.flatnonzero(row_task == k))
                for k, task in enumerate(model.tasks_.tolist())]

    return _brute_force(
        estimator, X, y, X_val, y_val, sample_weight, each_task, n_jobs, verbose,
        "refits without a task",
    )
