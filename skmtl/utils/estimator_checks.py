"""A published check of the influence protocol, as scikit-learn publishes ``check_estimator``."""

import copy
import warnings

import numpy as np
from scipy.stats import pearsonr
from sklearn.base import clone, is_classifier

from ..datasets import make_multitask_classification, make_multitask_counts, make_multitask_regression
from ..influence import InfluenceAdapter
from ..inspection import task_losses

def _problem(estimator, random_state):
    """Small training data (3 tasks of 24 rows) and validation data without rows of task 2."""
    if is_classifier(estimator):
        make = make_multitask_classification
    elif estimator.__sklearn_tags__().target_tags.positive_only:
        make = make_multitask_counts
    else:
        make = make_multitask_regression
    X, y = make(n_tasks=3, n_samples=24, n_features=3, epsilon=0.0, random_state=random_state)
    X_val, y_val = make(n_tasks=3, n_samples=8, n_features=3, epsilon=0.0, random_state=random_state + 1)
    keep = X_val[:, -1] != 2
    return X, y, X_val[keep], y_val[keep]


def _fail(estimator, what, detail):
    raise AssertionError(f"{type(estimator).__name__}: {what}. {detail}")


def _check_adapter(est, X):
    adapter = est.get_influence_adapter() if hasattr(est, "get_influence_adapter") else None
    if not isinstance(adapter, InfluenceAdapter):
        _fail(est, "get_influence_adapter() does not return a skmtl.influence.InfluenceAdapter",
              f"It returned {adapter!r}.")
    if not np.array_equal(adapter.tasks, est.tasks_):
        _fail(est, "the adapter's tasks differ from tasks_", f"{adapter.tasks} != {est.tasks_}.")
    if "mtif" not in adapter.methods:
        _fail(est, "the adapter's methods lack \"mtif\"", f"They are {adapter.methods}.")
    if adapter.n_fit_rows != len(X):
        _fail(est, "the adapter's n_fit_rows is not the number of rows given to fit",
              f"{adapter.n_fit_rows} != {len(X)}.")
    return adapter


def _check_gradients(est, adapter, X_val, y_val, rtol):
    """Each task's gradient on the shared parameters against central differences."""
    if not adapter.provides("shifted_losses"):
        return
    data = adapter.data(X_val, y_val)
    losses, grads = adapter.task_terms(data)
    rng = np.random.default_rng(0)
    for _ in range(3):
        direction = rng.standard_normal(grads.shape[1])
        direction /= np.linalg.norm(direction)
        eps = 1e-5
        plus, minus, at = adapter.shifted_losses(data, np.array([eps, -eps, 0.0])[:, None] * direction)
        np.testing.assert_allclose(
            at, losses, rtol=1e-10, atol=1e-12,
            err_msg=f"{type(est).__name__}: shifted_losses with a zero shift differ from task_terms' losses",
        )
        has = ~np.isnan(losses)
        numeric = (plus - minus)[has] / (2 * eps)
        analytic = grads[has] @ direction
        scale = max(np.abs(analytic).max(), 1e-8)
        if not np.allclose(analytic, numeric, rtol=rtol, atol=rtol * scale):
            _fail(est, "task_terms' gradients disagree with finite differences of shifted_losses",
                  f"Along a random direction: {analytic} (gradients) vs {numeric} (differences).")


def _check_shapes(est, scores, what, shape, empty):
    if scores.shape != shape:
        _fail(est, f"{what} has shape {scores.shape}", f"Expected {shape}.")
    if not np.isnan(scores[:, empty]).all():
        _fail(est, f"{what} is not NaN for a task without validation rows",
              f"Column {empty} holds {scores[:, empty]}.")
    if not np.isfinite(np.delete(scores, empty, axis=1)).all():
        _fail(est, f"{what} is not finite for the tasks with validation rows", "")


def _refit_effects(est, X, y, X_val, y_val, rows):
    """``loss_j(fit without row i) - loss_j(fit)`` by refitting, warm-started where the
    estimator has a ``warm_start`` parameter (a network then stays in the same basin)."""
    base = task_losses(est, X_val, y_val)
    warm = "warm_start" in est.get_params()
    out = []
    for i in rows:
        keep = np.arange(len(y)) != i
        model = copy.deepcopy(est).set_params(warm_start=True) if warm else clone(est)
        out.append(task_losses(model.fit(X[keep], y[keep]), X_val, y_val, est.tasks_) - base)
    return np.array(out)


def _agreement(est, estimate, actual, method, min_correlation, what):
    """Pearson correlation of estimated and refit effects; an AssertionError when too low
    (or, for ``"exact"``, when they differ)."""
    has = ~np.isnan(actual)
    if method == "exact" and not np.allclose(estimate[has], actual[has], rtol=1e-6, atol=1e-10):
        _fail(est, f'{what} with method="exact" differs from brute-force refits',
              f"Largest difference {np.abs(estimate[has] - actual[has]).max():.3g}.")
    r = pearsonr(estimate[has], actual[has])[0]
    if not r >= min_correlation:
        _fail(est, f'{what} with method="{method}" does not track brute-force refits',
              f"Pearson correlation {r:.3f} < min_correlation={min_correlation}.")
    return float(r)


def check_influence_estimator(estimator, *, min_correlation=0.9, n_refits=24, gradient_rtol=1e-4,
                              random_state=0):
    """Check an estimator's influence protocol numerically on a small problem it generates.

    Like :func:`sklearn.utils.estimator_checks.check_estimator`, this raises
    an ``AssertionError`` that says what is wrong. On three tasks of 24
    training rows and validation rows for two of them (generated counts,
    classes or real targets following the estimator's tags), it fits a clone
    of ``estimator`` and checks that

    * ``get_influence_adapter()`` returns an
      :class:`~skmtl.influence.InfluenceAdapter` with the fitted tasks and
      rows;
    * each task's gradient on the shared parameters (``task_terms``) agrees
      with central finite differences of ``shifted_losses``, where the
      adapter provides them;
    * ``influence`` and ``task_relatedness`` have their shapes, NaN exactly
      in the column of the task without validation rows;
    * ``influence_chunked`` in tiny blocks gives ``influence``, and
      ``influence_total`` its row sums;
    * for every method the estimator offers (the adapter's ``methods``),
      ``influence`` tracks the effect of brute-force
      refits without ``n_refits`` rows spread over the data: exactly for ``"exact"`` (to 1e-6),
      else with a Pearson correlation of at least ``min_correlation``; and
      ``task_relatedness`` the effect of refits without each task, likewise
      for the methods beyond first order, and off the diagonal with a
      positive correlation (its sign) for first order, which for whole tasks
      is crude. A refit warm-starts from the fit where the
      estimator has a ``warm_start`` parameter (a network then stays in the
      basin whose curvature its influence uses).

    Parameters
    ----------
    estimator : estimator instance
        An unfitted skmtl-compatible estimator (task label in the last
        column of ``X``); it is cloned, never modified.
    min_correlation : float, default=0.9
        Least Pearson correlation between estimated and refit effects. On
        this problem the linear models of skmtl reach 0.98 to 0.996 to first
        order and 0.99 to 0.9998 with ``"newton"``; a small network trained
        to a tight optimum (full batch, L-BFGS, float64) 0.99 (see
        ``tests/test_protocol.py``).
    n_refits : int, default=24
        Rows left out one at a time, one refit each (of the 72 rows).
    gradient_rtol : float, default=1e-4
        Relative tolerance of the finite-difference gradient check.
    random_state : int, default=0
        Seed of the generated data.

    Returns
    -------
    correlations : dict
        ``{(quantity, method): r}``: the Pearson correlation of each
        estimate checked (``"influence"``, ``"task_relatedness"``) with the
        refits.

    Raises
    ------
    AssertionError
        Naming the first part of the protocol that fails.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.utils.estimator_checks import check_influence_estimator
    >>> correlations = check_influence_estimator(MultiTaskRidge())
    >>> sorted(correlations)  # doctest: +NORMALIZE_WHITESPACE
    [('influence', 'exact'), ('influence', 'mtif'),
     ('task_relatedness', 'exact'), ('task_relatedness', 'mtif')]
    """
    X, y, X_val, y_val = _problem(estimator, random_state)
    est = clone(estimator).fit(X, y)
    adapter = _check_adapter(est, X)
    empty = int(np.flatnonzero(est.tasks_ == 2)[0])
    _check_gradients(est, adapter, X_val, y_val, gradient_rtol)

    n_tasks = len(est.tasks_)
    scores = est.influence(X_val, y_val)
    _check_shapes(est, scores, "influence", (len(X), n_tasks), empty)
    _check_shapes(est, est.task_relatedness(X_val, y_val), "task_relatedness", (n_tasks, n_tasks), empty)
    with warnings.catch_warnings():  # single-row blocks on purpose: say nothing of it
        warnings.filterwarnings("ignore", message="working_memory=.* holds less than one row")
        chunked = np.concatenate(list(est.influence_chunked(X_val, y_val, working_memory=1e-4)))
    np.testing.assert_allclose(
        chunked, scores, rtol=1e-9, atol=1e-14,
        err_msg=f"{type(est).__name__}: influence_chunked differs from influence",
    )
    np.testing.assert_allclose(
        est.influence_total(X_val, y_val), np.nansum(scores, axis=1), rtol=1e-9, atol=1e-14,
        err_msg=f"{type(est).__name__}: influence_total differs from the row sums of influence",
    )

    rows = np.unique(np.linspace(0, len(X) - 1, min(n_refits, len(X))).round().astype(int))
    actual = _refit_effects(est, X, y, X_val, y_val, rows)
    task_actual, correlations = None, {}
    for method in adapter.methods:
        estimate = est.influence(X_val, y_val, method=method)
        correlations["influence", method] = _agreement(
            est, estimate[rows], actual, method, min_correlation, "influence")
        if task_actual is None:
            task_actual = np.array([
                task_losses(clone(est).fit(X[X[:, -1] != t], y[X[:, -1] != t]), X_val, y_val, est.tasks_)
                for t in est.tasks_
            ]) - task_losses(est, X_val, y_val)
        relatedness = est.task_relatedness(X_val, y_val, method=method)
        if method == "mtif":
            # first order for a whole task is crude and its diagonal keeps the shared path
            # only (see the user guide): off the diagonal it must at least run with the refits
            off = np.where(np.eye(n_tasks, dtype=bool), np.nan, task_actual)
            correlations["task_relatedness", method] = _agreement(
                est, relatedness, off, method, 0.0, "task_relatedness (off the diagonal)")
            continue
        correlations["task_relatedness", method] = _agreement(
            est, relatedness, task_actual, method, min_correlation, "task_relatedness")
    return correlations
