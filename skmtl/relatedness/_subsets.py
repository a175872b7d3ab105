"""Relatedness from models fitted on random task subsets: surrogate and higher-order affinity.

Subset losses come from real refits (``method="refit"``, any estimator) or
from the gradient-based estimate of the talk's Grad-TAE (``method="gradient"``):
train once on all tasks, then estimate the model fine-tuned on each subset
by a first-order Taylor expansion of the outputs in the shared parameters,
fitted as a (ridge or logistic) regression on the per-row output gradients.
"""

import itertools
import math
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import Bunch, _safe_indexing, check_array, check_consistent_length, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import column_or_1d
from tqdm.auto import tqdm

from ..inspection import task_losses
from ..base import validation_given
from ..compose import _input_task_col
from ..utils import (
    check_result_memory, encode_fitted_tasks, encode_tasks, normalize_task_labels,
    preview_labels, task_labels,
)
from ..utils._refits import refit_losses_or_nan, refit_or_error
from ._adapters import adapter_for, as_output
from ._offset_regression import offset_regression


def _sample_subsets(n_tasks, n_subsets, subset_size, rng, exclude=None):
    """Up to ``n_subsets`` distinct random sets of ``subset_size`` tasks, none
    among the rows of ``exclude`` (a boolean array), as a boolean array: fewer
    where fewer such sets exist (refitting a set twice repeats a deterministic
    fit, and a set already fitted is not fresh)."""
    if subset_size is None:
        subset_size = (n_tasks + 1) // 2
    if subset_size > n_tasks:
        raise ValueError(f"subset_size={subset_size} exceeds the number of tasks ({n_tasks}).")
    taken = set() if exclude is None else {row.tobytes() for row in np.asarray(exclude, dtype=bool)}
    available = math.comb(n_tasks, subset_size) - len(taken)
    n_subsets = min(n_subsets, available)
    if available <= 2 * n_subsets:  # mostly collisions: draw among all the sets left
        every = np.zeros((math.comb(n_tasks, subset_size), n_tasks), dtype=bool)
        for row, members in zip(every, itertools.combinations(range(n_tasks), subset_size)):
            row[list(members)] = True
        left = every[[row.tobytes() not in taken for row in every]]
        return left[np.sort(rng.permutation(len(left))[:n_subsets])]
    drawn = []
    while len(drawn) < n_subsets:
        order = np.argsort(rng.random_sample((n_subsets, n_tasks)), axis=1)
        subsets = np.zeros((n_subsets, n_tasks), dtype=bool)
        np.put_along_axis(subsets, order[:, :subset_size], True, axis=1)
        for row in subsets:
            if row.tobytes() not in taken and len(drawn) < n_subsets:
                taken.add(row.tobytes())
                drawn.append(row)
    return np.array(drawn, dtype=bool).reshape(-1, n_tasks)


def _check_subsets(subsets, tasks):
    """``subsets`` as a boolean mask ``(n_subsets, n_tasks)``, from a mask or collections of labels.

    A rectangular array of only 0/1 (or bools), or with one column per task,
    is a mask; anything else holds the task labels of each subset. A subset
    without a task is an error in either form.
    """
    if len(subsets) == 0:
        raise ValueError("subsets is empty; give at least one subset.")
    as_labels = "To list task labels instead, give each subset as a set, e.g. [{0, 1}, {1, 2}]."
    shape = np.shape(np.asarray(subsets, dtype=object))
    if len(shape) == 2 and shape[1] > 0:  # zero columns: empty collections of labels
        values = check_array(subsets, dtype=None, input_name="subsets")
        numeric = values.dtype.kind in "biuf"
        zero_one = numeric and np.isin(values, (0, 1)).all()
        if zero_one and values.shape[1] != len(tasks):
            raise ValueError(
                f"subsets holds only 0/1, so it is read as a mask, but it has {values.shape[1]} "
                f"columns for {len(tasks)} tasks; give one column per task, in the order of "
                f"the tasks {preview_labels(tasks)}. {as_labels}"
            )
        if values.shape[1] == len(tasks):
            if not zero_one:
                got = values[~np.isin(values, (0, 1))] if numeric else f"dtype {values.dtype}"
                raise ValueError(
                    f"subsets has one column per task, so it is read as a mask: True/False "
                    f"or 1/0 for each of the tasks {preview_labels(tasks)}; got "
                    f"{preview_labels(np.unique(got)) if numeric else got}. {as_labels}"
                )
            mask = values.astype(bool)
            if not mask.any(axis=1).all():
                raise _empty_subset(np.flatnonzero(~mask.any(axis=1))[0])
            return mask
    mask = np.zeros((len(subsets), len(tasks)), dtype=bool)
    for i, subset in enumerate(subsets):
        if isinstance(subset, (str, bytes)) or not np.iterable(subset):
            raise ValueError(
                f"subsets[{i}] is {subset!r}; give each subset as a collection of task labels "
                f"(of {preview_labels(tasks)}), or subsets as a mask with one column per task."
            )
        labels = np.asarray(list(subset), dtype=object)
        if len(labels) == 0:
            raise _empty_subset(i)
        index = encode_tasks(labels, tasks)
        if (index < 0).any():
            raise ValueError(
                f"subsets[{i}] must name only tasks of X "
                f"{preview_labels(tasks, len(tasks))}; got {preview_labels(labels)}."
            )
        mask[i, index] = True
    return mask


def _empty_subset(i):
    return ValueError(
        f"subsets[{i}] holds no task; every subset must hold at least one task: remove the "
        "empty ones."
    )


def _refit_subset(estimator, X, y, train_rows, X_val, y_val, val_rows, tasks):
    if len(val_rows) == 0:  # no task of the subset has rows to measure on
        return np.full(len(tasks), np.nan)
    model = clone(estimator).fit(_safe_indexing(X, train_rows), y[train_rows])
    return task_losses(model, _safe_indexing(X_val, val_rows), y_val[val_rows], tasks)


def _gradient_subset_losses(estimator, X, y, X_val, y_val, subsets, n_components, ridge, rng, verbose):
    """Grad-TAE: subset losses of the model fine-tuned (to first order) on each subset."""
    model = clone(estimator).fit(X, y)
    adapter = adapter_for(model, needs=("output_gradients", "output_targets", "loss"))
    train = adapter.train_data()
    target = adapter.data(X_val, y_val) if validation_given(X_val, y_val) else train
    row_task, eta, G = adapter.output_gradients(train)
    val_task, val_eta, val_G = adapter.output_gradients(target)
    n_shared = G.shape[-1]
    if n_components is not None and n_components < n_shared:
        projection = rng.standard_normal((n_shared, n_components)) / np.sqrt(n_components)
        G, val_G = G @ projection, val_G @ projection
    # each task's loss is the weighted mean over its rows, as in fit
    Y, w = adapter.output_targets(train)
    val_Y, _ = adapter.output_targets(target)
    w = w * (row_task >= 0)
    totals = np.bincount(row_task[row_task >= 0], weights=w[row_task >= 0], minlength=subsets.shape[1])
    w = np.divide(w, totals[row_task], out=np.zeros_like(w), where=totals[row_task] > 0)
    val_counts = np.bincount(val_task, minlength=subsets.shape[1])
    out = np.full(subsets.shape, np.nan)
    for i, subset in enumerate(tqdm(subsets, desc="Grad-TAE subsets", disable=not verbose)):
        rows = subset[row_task] & (row_task >= 0)  # -1: a row without a task
        coef = offset_regression(adapter.loss, eta[rows], G[rows], Y[rows], w[rows], ridge)
        val_rows = subset[val_task]
        per_row = adapter.loss.loss(val_eta[val_rows] + val_G[val_rows] @ coef, val_Y[val_rows])
        sums = np.bincount(val_task[val_rows], weights=per_row, minlength=subsets.shape[1])
        has = subset & (val_counts > 0)
        out[i, has] = sums[has] / val_counts[has]
    return out


_SUBSET_PARAMS_NO_FRAME = {
    "estimator": "no_validation",
    "X": ["array-like"],
    "y": ["array-like"],
    "X_val": ["array-like", None],
    "y_val": ["array-like", None],
    "n_subsets": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "subset_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "method": [StrOptions({"refit", "gradient"})],
    "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "ridge": [Interval(numbers.Real, 0, None, closed="left")],
    "random_state": ["random_state"],
    "n_jobs": [numbers.Integral, None],
    "verbose": ["verbose"],
}
_SUBSET_PARAMS = {**_SUBSET_PARAMS_NO_FRAME, "as_frame": ["boolean"]}


@validate_params(
    {**_SUBSET_PARAMS_NO_FRAME, "subsets": ["array-like", None]},
    prefer_skip_nested_validation=False,
)
def task_subset_losses(
    estimator, X, y, X_val=None, y_val=None, *, subsets=None, n_subsets=None,
    subset_size=None, method="refit", n_components=None, ridge=1e-3, random_state=None,
    n_jobs=None, verbose=0,
):
    """Each task's held-out loss after training on random subsets of the tasks.

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned for every fit; never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured (mean squared error or mean log-loss per
        task); the training data when omitted.
    subsets : array-like, default=None
        The subsets to train on, sampled when omitted: a mask of shape
        ``(n_subsets, n_tasks)`` of bools or 0/1, one column per task in
        sorted label order (the order of ``tasks`` in the result), or one
        collection of task labels per subset, e.g. ``[["a", "b"], ["c"]]``
        (labels, not positions, as everywhere in skmtl; for tasks labelled
        ``0 .. n_tasks - 1`` they coincide). A rectangular array of only
        0/1, or with one column per task, is read as a mask; give each
        subset as a set (``[{0, 1}]``) to have it read as labels.
    n_subsets : int, default=None
        Number of distinct subsets to sample; ``5 * n_tasks`` when None, or
        every subset of ``subset_size`` tasks where fewer exist.
    subset_size : int, default=None
        Tasks in each sampled subset (the talk's ``alpha``); half the tasks,
        rounded up, when None. A fixed size keeps the number of tasks that
        share the model constant, which the additive surrogate needs.
    method : {"refit", "gradient"}, default="refit"
        ``"refit"``: fit the estimator on the rows of each subset (parallel
        through joblib). ``"gradient"``: Grad-TAE, one fit on all tasks,
        then each subset's model is estimated by a first-order Taylor
        expansion of the model output in the shared parameters, ``f(x) +
        grad f(x)^T w``, with ``w`` fitted by a ridge (regression) or
        logistic (classification) regression on the subset's rows.
    n_components : int, default=None
        ``method="gradient"``: project the output gradients on this many
        random Gaussian directions first (no projection when None or not
        smaller than the number of shared parameters).
    ridge : float, default=1e-3
        ``method="gradient"``: L2 penalty on ``w``.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets and the projection.
    n_jobs : int, default=None
        Parallel refits (``method="refit"``).
    verbose : int, default=0
        Progress bar when > 0.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``subsets`` (bool array ``(n_subsets, n_tasks)``), ``losses``
        (``(n_subsets, n_tasks)``, the loss of each task of the subset, NaN
        for the others, and for every task of a subset whose refit failed,
        with a ``FitFailedWarning``: a subset of tasks that hold one class
        between them, or that lack a class of their validation rows; where
        every refit fails, the first error is raised), ``tasks`` and
        ``n_fits`` (model fits used).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.relatedness import task_subset_losses
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> res = task_subset_losses(MultiTaskRidge(), X, y, subsets=[[1, 1, 0], [0, 1, 1]])
    >>> res.losses.shape, bool(np.isnan(res.losses[0, 2])), res.n_fits
    ((2, 3), True, 2)
    """
    val_given = validation_given(X_val, y_val)
    check_consistent_length(X, y)
    if val_given:
        check_consistent_length(X_val, y_val)
    y = column_or_1d(y)
    task_col = _input_task_col(estimator)
    labels, missing = task_labels(X, task_col)
    tasks = normalize_task_labels(np.unique(labels[~missing]))
    X_val, y_val = (X_val, column_or_1d(y_val)) if val_given else (X, y)
    # raises for labels of another type than the training tasks' ("1" for 1)
    val_code = encode_fitted_tasks(task_labels(X_val, task_col)[0], tasks, rows="rows of X_val")
    rng = check_random_state(random_state)
    n_rows = (n_subsets or 5 * len(tasks)) if subsets is None else len(subsets)
    check_result_memory(  # sampling takes twice the losses' size again (random keys, their order)
        (3 if subsets is None else 1) * n_rows * len(tasks),
        f"The losses of {n_rows} subsets x {len(tasks)} tasks"
        + (" with the sampling of the subsets" if subsets is None else ""),
        "Sample fewer subsets (n_subsets=...), or use the fitted model's own "
        "task_relatedness() (one factorization, no subset fits)",
    )
    if subsets is None:
        subsets = _sample_subsets(len(tasks), n_rows, subset_size, rng)
    else:
        subsets = _check_subsets(subsets, tasks)
    if method == "gradient":
        losses = _gradient_subset_losses(
            estimator, X, y, X_val if val_given else None, y_val if val_given else None,
            subsets, n_components, ridge, rng, verbose,
        )
        return Bunch(subsets=subsets, losses=losses, tasks=tasks, n_fits=1)
    code = encode_tasks(labels, tasks)
    jobs = (
        # a refit on a subset can fail where the whole fits (its tasks hold one class
        # between them, or lack a class of their validation rows): NaN, with a warning
        delayed(refit_or_error)(
            _refit_subset, estimator, X, y, np.flatnonzero(s[code] & (code >= 0)),
            X_val, y_val, np.flatnonzero(s[val_code] & (val_code >= 0)), tasks,
        )
        for s in subsets
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    results = list(tqdm(results, total=len(subsets), desc="Subset refits", disable=not verbose))
    losses = refit_losses_or_nan(
        results, len(tasks), lambda i: f"the refit on subsets[{i}], tasks {preview_labels(tasks[subsets[i]])}",
        "subset refits")
    losses[~subsets] = np.nan
    return Bunch(subsets=subsets, losses=losses, tasks=tasks, n_fits=len(subsets))


def _fit_surrogate(subsets, losses):
    """Per target ``t``: least squares ``f_t(S) ~ c_t + sum_{s in S, s != t} theta[s, t]``
    over the subsets holding ``t`` (minimum-norm where subsets of one size make
    ``c_t`` and a common shift of the ``theta`` indistinguishable). Returns
    ``(theta, c)``, ``theta`` with a zero diagonal and NaN for a source that
    shares no subset with the target (nothing measures its effect; the
    least-squares fit would give it 0)."""
    n_tasks = subsets.shape[1]
    theta = np.full((n_tasks, n_tasks), np.nan)
    intercept = np.full(n_tasks, np.nan)
    for t in range(n_tasks):
        rows = subsets[:, t] & np.isfinite(losses[:, t])
        if not rows.any():
            continue
        others = np.delete(np.arange(n_tasks), t)
        design = np.column_stack([np.ones(rows.sum()), subsets[rows][:, others]])
        coef = np.linalg.lstsq(design, losses[rows, t], rcond=None)[0]
        intercept[t] = coef[0]
        together = subsets[rows][:, others].any(axis=0)
        theta[others, t] = np.where(together, coef[1:], np.nan)
        theta[t, t] = 0.0
    return theta, intercept


def _centred(effects):
    """Subtract each target's mean over its sources (the diagonal stays 0)."""
    n_tasks = effects.shape[0]
    off = ~np.eye(n_tasks, dtype=bool)
    known = np.where(off, effects, np.nan)
    counts = np.isfinite(known).sum(axis=0)
    means = (np.divide(np.nansum(known, axis=0), counts, out=np.full(n_tasks, np.nan),
                       where=counts > 0) if n_tasks > 1 else np.zeros(1))
    # a target without losses (no validation rows) stays a column of NaN, its diagonal too
    diagonal = np.where(np.isfinite(np.diag(effects)), 0.0, np.nan)
    return np.where(off, effects - means[None], diagonal)


def _surrogate_r2(theta, intercept, subsets, losses):
    """R^2 of the surrogate's predicted losses, per target, over ``subsets``."""
    theta = np.nan_to_num(theta)
    r2 = np.full(subsets.shape[1], np.nan)
    for t in range(subsets.shape[1]):
        rows = subsets[:, t] & np.isfinite(losses[:, t])
        if rows.sum() < 2:
            continue
        pred = intercept[t] + subsets[rows].astype(float) @ theta[:, t]
        actual = losses[rows, t]
        spread = np.sum((actual - actual.mean()) ** 2)
        if spread > 0:  # a loss the same on every subset leaves R^2 undefined
            r2[t] = 1.0 - np.sum((actual - pred) ** 2) / spread
    return r2


def _higher_order(subsets, losses):
    """``mean_{S ∋ t} f_t(S) - mean_{S ∋ s, t} f_t(S)``: how much lower the
    target's loss is, on average, in subsets that also hold the source."""
    n_tasks = subsets.shape[1]
    out = np.full((n_tasks, n_tasks), np.nan)
    for t in range(n_tasks):
        rows = subsets[:, t] & np.isfinite(losses[:, t])
        if not rows.any():
            continue
        held = subsets[rows].astype(float)
        counts = held.sum(axis=0)
        means = np.divide(held.T @ losses[rows, t], counts, out=np.full(n_tasks, np.nan), where=counts > 0)
        out[:, t] = losses[rows, t].mean() - means
    return out




@validate_params(
    {**_SUBSET_PARAMS, "n_eval_subsets": [Interval(numbers.Integral, 0, None, closed="left")],
     "return_details": ["boolean"]},
    prefer_skip_nested_validation=False,
)
def surrogate_affinity(
    estimator, X, y, X_val=None, y_val=None, *, n_subsets=None, subset_size=None,
    method="refit", n_components=None, ridge=1e-3, n_eval_subsets=0,
    random_state=None, n_jobs=None, verbose=0, return_details=False, as_frame=False,
):
    """Task affinity from a linear surrogate of subset losses (task modeling, Li et al. 2023).

    For each target task ``t``, the held-out loss after training on a subset
    ``S`` holding ``t`` is modelled as ``f_t(S) ~ c_t + sum_{s in S, s != t}
    theta[s, t]``, fitted by least squares over the ``n_subsets`` random
    subsets that hold ``t`` (see :func:`task_subset_losses`). A lower
    ``theta[s, t]`` means source ``s`` lowers the target's loss more. The
    affinity is ``-theta`` centred over each target's sources: larger =
    more helpful, 0 = as helpful as an average source, zero diagonal, NaN
    where a source never shared a subset with the target (as
    :func:`higher_order_affinity`; with two tasks the default subsets hold
    one task each, so every source is NaN). (With subsets of one size only
    these differences are identifiable.)

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned for every fit; never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured; the training data when omitted.
    n_subsets : int, default=None
        Subsets to train on; ``5 * n_tasks`` when None (the talk's
        ``m = O(K)``), or every subset of that size where fewer exist.
    subset_size : int, default=None
        Tasks per sampled subset; half the tasks, rounded up, when None.
    method : {"refit", "gradient"}, default="refit"
        Real refits, or the Grad-TAE estimate (see :func:`task_subset_losses`).
    n_components : int, default=None
        As in :func:`task_subset_losses` (``method="gradient"``).
    ridge : float, default=1e-3
        As in :func:`task_subset_losses` (``method="gradient"``).
    n_eval_subsets : int, default=0
        Fresh subsets (of the same size, none of those fitted) on which to
        measure how well the surrogate predicts the losses (``r2`` in the
        details); fewer where fewer exist, and a warning where none is left.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets and the projection.
    n_jobs : int, default=None
        Parallel refits (``method="refit"``).
    verbose : int, default=0
        Progress bar when > 0.
    return_details : bool, default=False
        Also return a Bunch with ``intercept`` (``c_t`` of the least-squares
        fit; the sampled subsets all have one size, so ``c_t`` and a common
        shift of the target's ``theta`` cannot be told apart and the
        minimum-norm solution is returned: ``c_t`` is not the loss of the
        target trained alone, only ``c_t + sum_{s in S} theta[s, t]`` for a
        subset ``S`` of that size is a prediction), ``subset_losses`` (the
        :func:`task_subset_losses` result), ``r2`` (per target, NaN without
        ``n_eval_subsets``), ``eval_losses`` and ``n_fits``.
    as_frame : bool, default=False
        Return a DataFrame with tasks as index (source) and columns (target).

    Returns
    -------
    affinity : ndarray or DataFrame of shape (n_tasks, n_tasks)
    details : Bunch, only when ``return_details=True``

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.relatedness import surrogate_affinity
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> surrogate_affinity(MultiTaskRidge(), X, y, n_subsets=12, random_state=0).shape
    (3, 3)
    """
    rng = check_random_state(random_state)
    kwargs = dict(X_val=X_val, y_val=y_val, subset_size=subset_size, method=method,
                  n_components=n_components, ridge=ridge, n_jobs=n_jobs, verbose=verbose)
    train = task_subset_losses(estimator, X, y, n_subsets=n_subsets, random_state=rng, **kwargs)
    theta, intercept = _fit_surrogate(train.subsets, train.losses)
    affinity = as_output(_centred(-theta), train.tasks, as_frame)
    if not return_details:
        return affinity
    r2 = np.full(len(train.tasks), np.nan)
    evaluation = None
    fresh = (_sample_subsets(len(train.tasks), n_eval_subsets, subset_size, rng, exclude=train.subsets)
             if n_eval_subsets else None)
    if n_eval_subsets and not len(fresh):
        warnings.warn(
            f"Every subset of {train.subsets[0].sum()} of the {len(train.tasks)} tasks was used to fit "
            "the surrogate, so none is left to evaluate it on: r2 is NaN. Pass fewer n_subsets, or "
            "another subset_size.", UserWarning)
    elif n_eval_subsets:
        evaluation = task_subset_losses(estimator, X, y, subsets=fresh, random_state=rng, **kwargs)
        r2 = _surrogate_r2(theta, intercept, evaluation.subsets, evaluation.losses)
    n_fits = train.n_fits + (evaluation.n_fits if evaluation is not None else 0)
    return affinity, Bunch(intercept=intercept, subset_losses=train, r2=r2,
                           eval_losses=evaluation, n_fits=n_fits)


@validate_params(_SUBSET_PARAMS, prefer_skip_nested_validation=False)
def higher_order_affinity(
    estimator, X, y, X_val=None, y_val=None, *, n_subsets=None, subset_size=None,
    method="refit", n_components=None, ridge=1e-3, random_state=None, n_jobs=None,
    verbose=0, as_frame=False,
):
    """Higher-order task affinity (Li et al. 2023): the target's loss in subsets holding the source.

    The talk defines ``f_bar_t(s)``, the average held-out loss of target
    ``t`` over the sampled subsets that hold both ``s`` and ``t`` (lower is
    better). This function returns ``mean_{S ∋ t} f_t(S) - f_bar_t(s)``:
    the same ranking of sources for every target, oriented like
    ``task_relatedness_`` (larger = more helpful) and centred so that 0
    means "as good as an average subset"; the diagonal is 0.

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned for every fit; never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured; the training data when omitted.
    n_subsets, subset_size : int, default=None
        As in :func:`surrogate_affinity`.
    method : {"refit", "gradient"}, default="refit"
        As in :func:`surrogate_affinity`.
    n_components : int, default=None
        As in :func:`task_subset_losses` (``method="gradient"``).
    ridge : float, default=1e-3
        As in :func:`task_subset_losses` (``method="gradient"``).
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets and the projection.
    n_jobs : int, default=None
        Parallel refits (``method="refit"``).
    verbose : int, default=0
        Progress bar when > 0.
    as_frame : bool, default=False
        Return a DataFrame with tasks as index (source) and columns (target).

    Returns
    -------
    affinity : ndarray or DataFrame of shape (n_tasks, n_tasks)
        NaN where a pair never shared a subset.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.relatedness import higher_order_affinity
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> A = higher_order_affinity(MultiTaskRidge(), X, y, n_subsets=12, random_state=0)
    >>> A.shape, float(A[0, 0])
    ((3, 3), 0.0)
    """
    res = task_subset_losses(
        estimator, X, y, X_val, y_val, n_subsets=n_subsets, subset_size=subset_size,
        method=method, n_components=n_components, ridge=ridge,
        random_state=random_state, n_jobs=n_jobs, verbose=verbose,
    )
    return as_output(_higher_order(res.subsets, res.losses), res.tasks, as_frame)


@validate_params(
    {**_SUBSET_PARAMS, "kind": [StrOptions({"higher_order", "surrogate"})]},
    prefer_skip_nested_validation=False,
)
def gradient_affinity(
    estimator, X, y, X_val=None, y_val=None, *, kind="higher_order", n_subsets=None,
    subset_size=None, n_components=None, ridge=1e-3, random_state=None, n_jobs=None,
    verbose=0, as_frame=False,
):
    """Gradient-based estimation of task affinity (Grad-TAE): subset affinities without refits.

    Trains once on all tasks, estimates the model fine-tuned on each random
    task subset by a first-order Taylor expansion of the outputs in the
    shared parameters (a ridge or logistic regression on the per-row
    output gradients, optionally randomly projected), evaluates every task
    of the subset on that estimate and feeds the estimated losses to
    :func:`higher_order_affinity` or :func:`surrogate_affinity`. Use it
    where refitting the model on many subsets is too expensive.

    For the soft-sharing linear models the output is linear in the
    coefficients, so the expansion is exact for a move of the shared
    vector ``beta`` (``theta_k = beta + delta_k``, ``delta_k`` held at the
    full fit): the estimate is the full-fit model with its shared part
    re-fitted to the subset. A real refit also moves the ``delta_k``;
    :func:`task_subset_losses` with both methods on the same ``subsets``
    measures the difference.

    Parameters
    ----------
    estimator : skmtl estimator
        Fitted once on all tasks (a clone); never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Where losses are measured; the training data when omitted.
    kind : {"higher_order", "surrogate"}, default="higher_order"
        Which subset-based affinity to compute from the estimated losses.
    n_subsets, subset_size : int, default=None
        As in :func:`surrogate_affinity`.
    n_components : int, default=None
        Project the output gradients on this many random Gaussian directions
        first (as in :func:`task_subset_losses`).
    ridge : float, default=1e-3
        L2 penalty of the regression on the output gradients.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets and the projection.
    n_jobs : int, default=None
        Unused (one fit); kept for the signature of the other affinities.
    verbose : int, default=0
        Progress bar when > 0.
    as_frame : bool, default=False
        Return a DataFrame with tasks as index (source) and columns (target).

    Returns
    -------
    affinity : ndarray or DataFrame of shape (n_tasks, n_tasks)

    Examples
    --------
    >>> from skmtl import MultiTaskLogistic
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.relatedness import gradient_affinity
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=4, random_state=0)
    >>> gradient_affinity(MultiTaskLogistic(), X, y, n_subsets=12, random_state=0).shape
    (3, 3)
    """
    function = higher_order_affinity if kind == "higher_order" else surrogate_affinity
    return function(
        estimator, X, y, X_val, y_val, n_subsets=n_subsets, subset_size=subset_size,
        method="gradient", n_components=n_components, ridge=ridge,
        random_state=random_state, n_jobs=n_jobs, verbose=verbose, as_frame=as_frame,
    )
