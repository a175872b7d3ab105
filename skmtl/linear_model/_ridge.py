"""Multitask ridge regression with soft parameter sharing."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import column_or_1d

from ..utils._tasks import check_magnitude
from ._base import MultiTaskLinearModel
from ._loss import SquaredError


class MultiTaskRidge(RegressorMixin, MultiTaskLinearModel):
    """Per-task linear regression shrunk toward a jointly learned shared vector.

    Minimizes ``sum_k [mean_i w_ki (y_ki - x_ki theta_k - b_k)^2 +
    alpha ||(theta_k, b_k) - (beta, b)||^2] + shared_alpha ||(beta, b)||^2``
    in closed form (one Newton step is exact for a quadratic objective)
    through the Schur complement of the task blocks.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the pull of every task's coefficients (and intercept)
        toward the shared ones. Small: independent per-task models; large:
        one pooled model.
    fit_intercept : bool, default=True
        Fit per-task intercepts (shrunk toward a shared intercept).
    shared_alpha : float, default=1e-6
        Ridge penalty on the shared vector; keeps the problem strictly convex
        when the pooled data cannot identify it (fewer rows than features).
    task_col : int or str, default=-1
        Position, or DataFrame column name, of the task label in ``X``.
    unknown_task : {"shared", "error"}, default="shared"
        Predict tasks never seen in fit with the shared coefficients, or raise.
    max_iter : int, default=100
        Newton iterations (ridge needs one).
    tol : float, default=1e-10
        Stop when half the squared Newton decrement falls below ``tol`` (times
        the objective where it exceeds 1: targets in large units converge too).

    Attributes
    ----------
    tasks_ : ndarray of shape (n_tasks,)
        Task labels seen in fit, sorted.
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task coefficients; rows follow ``tasks_``.
    intercept_ : ndarray of shape (n_tasks,)
    shared_coef_ : ndarray of shape (n_features,)
    shared_intercept_ : float
    influence_, task_relatedness_ : ndarray
        See :meth:`influence` and :meth:`task_relatedness`, measured against
        ``X_val``/``y_val`` given to fit, else against the training data.
    n_features_in_ : int
        Columns of ``X``, the task column included.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` when it is a DataFrame.
    n_iter_ : int

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=4, random_state=0)
    >>> model = MultiTaskRidge(alpha=1.0).fit(X, y)
    >>> model.tasks_
    array([0, 1, 2])
    >>> model.coef_.shape, model.task_relatedness_.shape
    ((3, 4), (3, 3))
    >>> exact = model.influence(X, y, method="exact")   # exact leave-one-out effects
    >>> exact.shape
    (60, 3)
    """

    _refit_method = "exact"

    def _make_loss(self, y):
        y = column_or_1d(y).astype(float)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity; remove or impute those rows.")
        check_magnitude(y, "y")
        return SquaredError(), y[:, None]

    def _encode_targets(self, y):
        return self._make_loss(y)[1]

    def predict(self, X):
        """Predict with each row's task coefficients (the shared ones for unseen tasks).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._linear_predictor(X)[:, 0]

