"""Multitask Poisson regression (log link) with soft parameter sharing."""

from functools import partial

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import d2_tweedie_score

from ..utils import check_magnitude
from ._base import MultiTaskLinearModel
from ._loss import HalfPoissonDeviance


class MultiTaskPoisson(RegressorMixin, MultiTaskLinearModel):
    """Per-task Poisson regression shrunk toward a jointly learned shared vector.

    For counts per school, region or user: task ``k`` predicts the mean count
    ``exp(x theta_k + b_k)``. Minimizes ``sum_k [mean_i w_ki l(y_ki, x_ki
    theta_k + b_k) + alpha ||(theta_k, b_k) - (beta, b)||^2] + shared_alpha
    ||(beta, b)||^2`` with ``l`` half the Poisson deviance (the loss of
    :class:`sklearn.linear_model.PoissonRegressor`), by damped Newton steps
    through the Schur complement of the task blocks. Influence is measured
    in the same loss.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the pull of every task's coefficients (and intercept)
        toward the shared ones.
    fit_intercept : bool, default=True
        Fit per-task intercepts (shrunk toward a shared intercept).
    shared_alpha : float, default=1e-6
        Ridge penalty on the shared vector.
    task_col : int or str, default=-1
        Position, or DataFrame column name, of the task label in ``X``.
    unknown_task : {"shared", "error"}, default="shared"
        Predict tasks never seen in fit with the shared coefficients, or raise.
    max_iter : int, default=100
        Newton iterations; a ``ConvergenceWarning`` says when they run out.
    tol : float, default=1e-10
        Stop when half the squared Newton decrement falls below ``tol`` (times
        the objective where it exceeds 1).
    warm_start : bool, default=False
        Start Newton from the last fit's coefficients where it fitted the same
        tasks and number of columns and they fit these data no worse than a
        fresh start. The objective is convex, so the fit is the same (to
        ``tol``), usually in fewer steps.

    verbose : int, default=0
        Progress bars (tqdm) for the Newton steps of ``fit``, the rows of
        :meth:`influence`, :meth:`influence_chunked` and
        :meth:`influence_total`, and the refits of ``method="newton"``; 0 silences
        them.

    Attributes
    ----------
    tasks_ : ndarray of shape (n_tasks,)
        Task labels seen in fit, sorted.
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task coefficients of the log mean; rows follow ``tasks_``.
    intercept_ : ndarray of shape (n_tasks,)
    shared_coef_ : ndarray of shape (n_features,)
    shared_intercept_ : float
    influence_, task_relatedness_ : ndarray
        Measured against ``X_val``/``y_val`` given to fit, else the training
        data (see :meth:`influence`).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
    n_iter_ : int

    Notes
    -----
    ``shared_alpha`` pulls the shared intercept (the log of a rate) toward 0
    too. Against the data's mean deviance, which scales with the counts, it
    weighs nothing to speak of for mean counts of 0.01 and more, but below
    that it shows (``make_multitask_counts``, one task of 50 rows: mean
    predictions 2 % too high at a mean count of 1e-4, 4 times too high at
    1e-6). Count in larger units (rescale ``y`` and the exposure weights),
    or pass ``shared_alpha=0`` where the features are not collinear.

    Examples
    --------
    >>> from skmtl import MultiTaskPoisson
    >>> from skmtl.datasets import make_multitask_counts
    >>> X, y = make_multitask_counts(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> model = MultiTaskPoisson(alpha=0.5).fit(X, y)
    >>> model.predict(X[:2]).round(2)
    array([4.68, 4.75])
    >>> model.influence(X, y, method="newton").shape   # approximate leave-one-out
    (90, 3)
    """

    _refit_method = "newton"

    def _make_loss(self, y):
        y = self._float_targets(y)
        bad = ~np.isfinite(y) | (y < 0)
        if bad.any():
            raise ValueError(
                f"y holds negative, NaN or infinite values in {bad.sum()} of the {len(y)} rows it "
                f"fits (those with a task label and a positive sample_weight; the first such value: "
                f"{float(y[bad][0]):g}); a Poisson model needs counts (non-negative numbers). Use "
                "MultiTaskRidge for other targets."
            )
        check_magnitude(y, "y")
        return HalfPoissonDeviance(), y[:, None]

    def _initial_coefficients(self, Z, Y, row_task, weights, n_tasks, n_out):
        """Intercepts at the log of each task's mean count (the shared one at the
        log of all rows'), as scikit-learn's PoissonRegressor starts: from zero,
        counts of 1e12 make the first Newton step overflow."""
        theta, beta = super()._initial_coefficients(Z, Y, row_task, weights, n_tasks, n_out)
        fitted = (row_task >= 0) & (weights > 0)
        if not self._fit_intercept or not fitted.any():
            return theta, beta
        totals = np.bincount(row_task[fitted], weights=weights[fitted], minlength=n_tasks)
        counts = np.bincount(row_task[fitted], weights=weights[fitted] * Y[fitted, 0], minlength=n_tasks)
        overall = counts.sum() / totals.sum()
        if overall == 0:
            return theta, beta
        means = np.divide(counts, totals, out=np.full(n_tasks, overall), where=counts > 0)
        direction = self._intercept_direction(Z.shape[1])
        return np.log(means)[:, None, None] * direction, np.log(overall) * direction[None]

    def _encode_targets(self, y):
        return self._make_loss(y)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    def predict(self, X):
        """Predicted mean count of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return np.exp(self._linear_predictor(X)[:, 0])

    def score(self, X, y, sample_weight=None):
        """Fraction of Poisson deviance explained, D^2, as :class:`~sklearn.linear_model.PoissonRegressor`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.
        y : array-like of shape (n_samples,)
            Counts.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            1 for a perfect fit, 0 for the mean of ``y``; negative for worse.
        """
        return self._score_predictions(y, self.predict(X), sample_weight=sample_weight)

    # the score of predictions, also for models that combine MultiTaskPoisson's (TaskGroupedEstimator)
    _score_predictions = staticmethod(partial(d2_tweedie_score, power=1))
