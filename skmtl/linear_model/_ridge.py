"""Multitask ridge regression with soft parameter sharing."""

import numpy as np
from sklearn.base import RegressorMixin, clone

from ..base import blas_threads_for_blocks, is_dask_collection
from ..utils import check_magnitude, task_labels
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
    warm_start : bool, default=False
        Start Newton from the last fit's coefficients where it fitted the same
        tasks and number of columns and they fit these data no worse than a
        fresh start. The objective is convex, so only the time changes; for
        ridge, whose first step is exact, not even that.

    verbose : int, default=0
        Progress bars (tqdm) for the Newton steps of ``fit``, the rows of
        :meth:`influence`, :meth:`influence_chunked` and
        :meth:`influence_total`, and the refits of ``method="exact"``; 0 silences
        them.

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

    Notes
    -----
    ``fit`` also takes a Dask DataFrame (with ``y`` a Dask Series of the same
    partitions, aligned with ``X`` by index label: a column of the same frame)
    or a Dask array (``y`` a Dask array) whose partitions hold whole tasks
    (``frame.shuffle(on=task column)`` groups them so, before ``X`` and ``y``
    are taken from the frame): each
    partition's per-task Gram blocks are computed where it lives, and only
    those ``n_tasks (d + 1)^2`` numbers come to the client, which solves the
    arrow system once; the coefficients are those of a fit in memory. Such a
    model predicts as usual (a Dask ``X`` given to ``predict`` is computed on
    the client; ``X.map_partitions(model.predict)`` predicts where the rows
    live), but its rows stayed on the cluster: influence needs a fit on the
    computed data.

    ``shared_alpha`` pulls the shared intercept toward 0 too, so targets far
    from 0 against their spread are fitted with a bias of about ``shared_alpha
    / (n_tasks alpha)`` times their mean: negligible below a mean of about
    1e4 spreads, 0.4 of a spread at 3e6 (``make_multitask_regression``, 10
    tasks, ``y + 1e7``). Center such targets (``TransformedTargetRegressor(model,
    transformer=StandardScaler(with_std=False))``) or pass ``shared_alpha=0``
    where the features are not collinear.

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
        y = self._float_targets(y)
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


    def _fit_dask(self, X, y):
        """Fit from the per-task Gram blocks of the partitions (computed by Dask),
        solved on the client: a quadratic's one Newton step from zero is its minimum."""
        import dask

        results = [r for r in dask.compute(*(
            dask.delayed(_partition_terms)(clone(self), X_part, y_part)
            for X_part, y_part in _dask_partitions(X, y)
        )) if r is not None]
        if not results:
            raise ValueError("X has no rows with a task label; nothing to fit.")
        tasks = np.concatenate([r["tasks"] for r in results])
        labels, counts = np.unique(tasks, return_counts=True)
        if (counts > 1).any():
            raise ValueError(
                f"Task {labels[counts > 1][:1].tolist()[0]!r} has rows in more than one partition of X; "
                "each partition must hold whole tasks. Group them first, in the frame that "
                "holds both X and y: frame = frame.shuffle(on=<task column>), then "
                "X, y = frame[features], frame[target] (y is aligned with X by index label)."
            )
        shape = {(r["n_features_in"], r["task_col_index"]) for r in results}
        if len(shape) > 1:
            raise ValueError(f"The partitions of X differ in their columns: {sorted(shape)}.")
        order = np.argsort(tasks, kind="stable")
        grads = np.concatenate([r["grads"] for r in results])[order]
        hess = np.concatenate([r["hess"] for r in results])[order]
        n_rows = sum(r["n_rows"] for r in results)
        if hess.shape[1] > n_rows:
            raise ValueError(
                f"X has {n_rows} rows with a task for {hess.shape[1]} coefficients per task; "
                "fit such wide data in memory (X.compute())."
            )
        first = results[0]
        self.n_features_in_, self._task_col_index = first["n_features_in"], first["task_col_index"]
        if first["feature_names_in"] is not None:
            self.feature_names_in_ = first["feature_names_in"]
        self.loss_, self.tasks_ = first["loss"], labels
        self._fit_intercept, self._basis = self.fit_intercept, None
        self._penalty = (self.alpha, self.shared_alpha)
        with blas_threads_for_blocks(hess.shape[1]):
            task_step, shared_step = self._arrow(hess, 1).solve(-grads, np.zeros(hess.shape[1]))
        self._set_coefficients(task_step[:, None, :], shared_step[None, :])
        self.n_iter_ = 1
        self._Z = self._Y = self._row_task = self._weights = self._val = self._feature_spread = None
        self._fit_fingerprint, self._cache = None, {}
        return self


def _partition_terms(estimator, X, y):
    """Per-task squared-error gradients and Hessians at zero of one partition (on a worker)."""
    if len(X) == 0 or task_labels(X, estimator.task_col)[1].all():  # no row with a task label
        return None
    features, _, _, weights, layout, loss, Y = estimator._fit_arrays(X, y, None)
    tasks, row_task = layout.tasks, layout.row_task
    estimator.loss_ = loss
    Z = estimator._design(features)
    zero = np.zeros((len(tasks), Y.shape[1], Z.shape[1]))
    _, grads, hess = estimator._task_terms(Z, Y, row_task, weights, zero, len(tasks))
    return {"tasks": tasks, "grads": grads, "hess": hess, "n_rows": int((row_task >= 0).sum()),
            "loss": loss, "n_features_in": estimator.n_features_in_,
            "feature_names_in": getattr(estimator, "feature_names_in_", None),
            "task_col_index": estimator._task_col_index}


def _dask_partitions(X, y):
    """Row-aligned pairs of delayed partitions of a Dask ``X`` and ``y``."""
    if hasattr(X, "divisions"):  # a Dask DataFrame (an array has no divisions)
        if getattr(y, "npartitions", None) != X.npartitions:
            raise ValueError(
                f"With a Dask DataFrame X, y must be a Dask Series of the same {X.npartitions} "
                "partitions (e.g. a column of the same frame)."
            )
        # one frame, so one computation of its partitions: X's and y's partitions computed
        # apart may each run a shuffle of their own, whose rows come in another order
        target = "__skmtl_target__"
        while target in X.columns:
            target += "_"
        try:
            joined = X.assign(**{target: y})
        except (ValueError, NotImplementedError) as exc:
            raise ValueError(
                f"y cannot be aligned with the rows of X ({exc}); pass X and y as columns of "
                "one frame, e.g. frame[features] and frame[target]."
            ) from None
        return ((part.drop(columns=target), part[target]) for part in joined.to_delayed())
    if not is_dask_collection(y) or getattr(y, "ndim", None) != 1:
        raise ValueError("With a Dask array X, y must be a one-dimensional Dask array.")
    X = X.rechunk({1: -1})  # whole rows in each block
    return zip(X.to_delayed().ravel(), y.rechunk({0: X.chunks[0]}).to_delayed().ravel())
