"""Soft parameter sharing for linear models, fitted and explained with one arrow solve."""

import numbers
import warnings
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d
from tqdm.auto import tqdm

from ..base import (
    InfluenceMixin,
    blas_threads_for_blocks,
    data_fingerprint,
    is_dask_collection,
    keep_state_on_error,
    single_threaded_small_blocks,
    validation_given,
)
from ..influence import ArrowHessian
from ..utils import TaskLayout, check_task_X, encode_fitted_tasks, task_groups
from ..utils._tasks import check_validation_rows, feature_spread
from ._adapter import LinearAdapter
from ._refit import RefitEffectsMixin, _backtrack, linear_predictors

class MultiTaskLinearModel(RefitEffectsMixin, InfluenceMixin, BaseEstimator, metaclass=ABCMeta):
    """Base of MultiTaskRidge and MultiTaskLogistic (not for direct use).

    The objective is ``sum_k [L_k(theta_k) + alpha ||theta_k - beta||^2] +
    shared_alpha ||beta||^2`` with ``L_k`` the weighted mean loss of task
    ``k``, minimized by damped Newton steps through the arrow solve of
    :class:`skmtl.influence.ArrowHessian`.
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="neither")],
        "shared_alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "task_col": [numbers.Integral, str],
        "unknown_task": [StrOptions({"shared", "error"})],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # name of the beyond-first-order method of the subclass ("exact"/"newton")
    _refit_method = None

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        shared_alpha=1e-6,
        task_col=-1,
        unknown_task="shared",
        max_iter=100,
        tol=1e-10,
        warm_start=False,
        verbose=0,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.shared_alpha = shared_alpha
        self.task_col = task_col
        self.unknown_task = unknown_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    # -- subclass hooks ---------------------------------------------------------
    @abstractmethod
    def _make_loss(self, y):
        """Return ``(loss, Y)``: the per-row loss and encoded targets ``(n, C)``;
        set ``classes_`` for classifiers."""

    @abstractmethod
    def _encode_targets(self, y):
        """Encode targets of validation data like the training targets."""

    def _float_targets(self, y):
        """``y`` as floats, for the regression models; class labels are pointed elsewhere."""
        y = column_or_1d(y)
        try:
            return y.astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"y must be numeric for {type(self).__name__}, a regression model; got "
                f"values such as {y[:3].tolist()}. For class labels use MultiTaskLogistic."
            ) from exc

    def __setstate__(self, state):
        # a model pickled before fits recorded whether Newton converged: stopping before
        # max_iter is converging, but for a step that found no decrease (which warned at fit)
        if "_theta" in state and "_converged" not in state:
            state = {**state, "_converged": state["n_iter_"] < state["max_iter"]}
        super().__setstate__(state)

    # -- fitting ------------------------------------------------------------------
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit all tasks jointly.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features plus the task column (``task_col``). Rows whose task
            label is missing (NaN/None) take no part in the fit.
            :class:`~skmtl.MultiTaskRidge` also takes a Dask DataFrame or
            array whose partitions hold whole tasks (see its Notes).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; each task's loss is the weighted mean
            over its rows, so weight 0 is exactly the fit without the row.
        X_val, y_val : array-like, default=None
            Validation data against which ``influence_`` and
            ``task_relatedness_`` are measured; the training data when
            omitted. Beware: ``GridSearchCV`` slices fit arguments as long as
            ``X``.

        Returns
        -------
        self
        """
        self._validate_params()
        if is_dask_collection(X):
            if sample_weight is not None or validation_given(X_val, y_val):
                raise ValueError(
                    "With a Dask X, fit takes X and y only: sample_weight, X_val and y_val "
                    "are not supported. Compute them (X.compute()) to fit in memory."
                )
            return self._fit_dask(X, y)
        previous = self._previous_fit() if self.warm_start else None
        features, labels, y, weights, layout, loss, Y_all = self._fit_arrays(X, y, sample_weight)
        tasks, row_task, present = layout.tasks, layout.row_task, ~layout.missing
        fingerprint = data_fingerprint(features, labels, y)
        Z = self._design(features)
        self._feature_spread = feature_spread(features, present)
        del features  # the design matrix replaces it: one copy of the data in memory
        if Z.shape[1] > present.sum():
            # More coefficients than rows: the solution lies in the span of the
            # rows (the penalties are isotropic), so fit and explain in an
            # orthonormal basis of it. In the full space the directions no row
            # spans hold only shared_alpha, and rounding there (cond(H) ~
            # 1 / shared_alpha) costs digits in every solve.
            self._basis = np.linalg.qr(Z[present].T)[0]
            Z = Z @ self._basis

        self.loss_ = loss
        self.tasks_ = tasks
        self._fit_fingerprint = fingerprint
        # influence after fit must use the penalties of the fit, even after set_params
        self._penalty = (self.alpha, self.shared_alpha)
        self._Z, self._Y, self._row_task, self._weights = Z, Y_all, row_task, weights
        with blas_threads_for_blocks(Z.shape[1] * Y_all.shape[1]):
            with tqdm(desc=f"{type(self).__name__} Newton steps", unit="step",
                      disable=not self.verbose) as progress:
                theta, beta, self.n_iter_, self._converged = self._newton(
                    Z, Y_all, row_task, weights, len(tasks), Y_all.shape[1],
                    start=self._warm_start(previous), progress=progress,
                )
        self._set_coefficients(theta, beta)
        if validation_given(X_val, y_val):
            self._val = self._check_val(X_val, y_val)
        else:
            fitted = row_task >= 0
            # the training data itself, weighted as in the fit (a row of weight 0 is absent);
            # where every row is fitted, not a copy of it
            val = (Z, Y_all, row_task, weights)
            self._val = val if fitted.all() else tuple(a[fitted] for a in val)
        self._cache = {}
        return self

    def _fit_arrays(self, X, y, sample_weight):
        """Validate the training data (``n_features_in_`` and the task column set
        as by ``fit``); return ``(features, labels, y, weights, layout, loss, Y)``:
        weight 0 for rows without a task, ``layout`` the :class:`~skmtl.utils.TaskLayout`
        whose tasks are those of the rows of positive weight, ``Y`` the encoded
        targets (0 where no task)."""
        features, labels = check_task_X(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(features):
            raise ValueError(
                f"X has {len(features)} rows but y has {len(y)}; they must match."
            )
        sample_weight = _check_sample_weight(
            sample_weight, features, ensure_non_negative=True
        )
        # weight 0 == row absent: a task whose rows all weigh 0 is not fitted
        layout = TaskLayout(labels, sample_weight=sample_weight)
        present = ~layout.missing
        if not present.any():
            raise ValueError("Every row of X has a missing task label; nothing to fit.")
        # targets of weight 0 are absent too: they add no class (and no NaN check)
        counted = present & (sample_weight > 0)
        loss, Y = self._make_loss(y[counted])
        Y_all = np.zeros((len(y), Y.shape[1]))
        Y_all[counted] = Y
        self._fit_intercept = self.fit_intercept
        self._basis = None
        weights = np.where(present, sample_weight, 0.0)
        return features, labels, y, weights, layout, loss, Y_all

    def _previous_fit(self):
        """What a warm start needs of the last fit: its coefficients in full
        coordinates and what they belong to (None before any fit)."""
        if not hasattr(self, "_theta"):
            return None
        theta, beta = self._theta, self._beta
        if self._basis is not None:
            theta, beta = theta @ self._basis.T, beta @ self._basis.T
        return dict(theta=theta, beta=beta, tasks=self.tasks_, classes=getattr(self, "classes_", None),
                    fit_intercept=self._fit_intercept)

    def _forget_training_data(self):
        """Drop what only influence needs (the design, targets and validation
        data): a model kept for its next warm start holds its coefficients alone."""
        self._Z = self._Y = self._row_task = self._weights = self._val = None
        self._cache = {}

    def _warm_start(self, previous):
        """``previous``'s coefficients in the coordinates of this fit, where it fitted
        the same tasks, classes and number of columns and its objective on these data
        is no worse than where a fresh fit starts (data in other units can make it
        far worse, even infinite); else None (Newton starts afresh)."""
        if previous is None:
            return None
        n_coef = self._Z.shape[1] if self._basis is None else self._basis.shape[0]
        same = (
            previous["fit_intercept"] == self._fit_intercept
            and np.array_equal(previous["tasks"], self.tasks_)
            and np.array_equal(previous["classes"], getattr(self, "classes_", None))
            and previous["theta"].shape == (len(self.tasks_), self._Y.shape[1], n_coef)
        )
        if not same:
            return None
        theta, beta = previous["theta"], previous["beta"]
        if self._basis is not None:
            theta, beta = theta @ self._basis, beta @ self._basis
        fresh = self._initial_coefficients(self._Z, self._Y, self._row_task, self._weights,
                                           len(self.tasks_), self._Y.shape[1])

        def objective(start):
            with np.errstate(over="ignore", invalid="ignore"):
                losses = self._task_losses(self._Z, self._Y, self._row_task, self._weights,
                                           start[0], len(self.tasks_))
                return self._objective(losses, *start)

        warm = objective((theta, beta))
        return (theta, beta) if np.isfinite(warm) and warm <= objective(fresh) else None

    def _fit_dask(self, X, y):
        raise TypeError(
            f"{type(self).__name__} does not fit a Dask collection; compute it first "
            "(X.compute()), or use MultiTaskRidge, which fits one from its partitions."
        )

    def _design(self, features):
        """Features (plus the intercept column) in the coordinates of the fit."""
        if self._fit_intercept:
            Z = np.column_stack([features, np.ones(len(features))])
        elif features.shape[1] == 0:
            raise ValueError(
                "X has no feature column besides the task column and "
                "fit_intercept=False: there is nothing to fit."
            )
        else:
            Z = features
        return Z if self._basis is None else Z @ self._basis

    def _task_losses(self, Z, Y, row_task, weights, theta, n_tasks):
        """Per task, the weighted mean loss alone, in one pass over the rows (no
        Python loop over the tasks: the line search of every task's removal
        evaluates it)."""
        rows = np.flatnonzero((row_task >= 0) & (weights > 0))  # weight 0: absent, overflow and all
        task = row_task[rows]
        totals = np.bincount(task, weights=weights[rows], minlength=n_tasks)
        losses = self.loss_.loss(linear_predictors(Z, theta, row_task, rows), Y[rows])
        sums = np.bincount(task, weights=weights[rows] * losses, minlength=n_tasks)
        return np.divide(sums, totals, out=np.zeros(n_tasks), where=totals > 0)

    def _task_terms(self, Z, Y, row_task, weights, theta, n_tasks, hessian=True):
        """Per task: weighted mean loss, its gradient and Hessian in the coefficients."""
        n_out, d = theta.shape[1:]
        losses = np.zeros(n_tasks)
        grads = np.zeros((n_tasks, n_out * d))
        hess = np.zeros((n_tasks, n_out * d, n_out * d)) if hessian else None
        for k, rows in task_groups(row_task, n_tasks):  # not a mask per task: O(n K)
            rows = rows[weights[rows] > 0]  # a row of weight 0 is absent, overflow and all
            w = weights[rows]
            total = w.sum()
            if total == 0:
                continue
            w = w / total
            Zk = Z[rows]
            eta = Zk @ theta[k].T
            losses[k] = w @ self.loss_.loss(eta, Y[rows])
            grads[k] = ((w[:, None] * self.loss_.gradient(eta, Y[rows])).T @ Zk).ravel()
            if hessian:
                h = w[:, None, None] * self.loss_.hessian(eta, Y[rows])
                # sum_n h[n, c, e] Z[n, d] Z[n, f] as one matrix product over rows
                hz = (h[..., None] * Zk[:, None, None, :]).reshape(len(Zk), -1)
                hess[k] = (Zk.T @ hz).reshape(d, n_out, n_out, d).transpose(1, 0, 2, 3).reshape(
                    n_out * d, n_out * d
                )
        return losses, grads, hess

    def _objective(self, losses, theta, beta, dropped_task=None):
        diff = theta - beta
        if dropped_task is not None:  # the objective without that task's terms
            keep = np.arange(len(theta)) != dropped_task
            losses, diff = losses[keep], diff[keep]
        return losses.sum() + self._penalty[0] * np.sum(diff**2) + self._penalty[1] * np.sum(beta**2)

    def _arrow(self, data_hessians, n_out, task_shared_blocks=False):
        """The arrow Hessian of the objective from the tasks' data Hessians (of
        ``n_out`` outputs), which become its task blocks (overwritten: no second
        ``(K, p, p)`` array)."""
        n_tasks, p, _ = data_hessians.shape
        eye = np.eye(p)
        two_alpha = 2.0 * self._penalty[0]
        data_hessians[:, np.arange(p), np.arange(p)] += two_alpha
        shared = (two_alpha * n_tasks + 2.0 * self._penalty[1]) * eye
        if getattr(self.loss_, "shift_invariant", False):
            # softmax: no data holds the shared coefficients that shift every class alike,
            # only shared_alpha (and rounding, large in large units); the fit has no
            # component there and no gradient moves it, so the coupling's curvature
            # pins it without changing any solve
            shared += two_alpha * np.kron(np.full((n_out, n_out), 1.0 / n_out), np.eye(p // n_out))
        return ArrowHessian(
            data_hessians,
            np.broadcast_to(-two_alpha * eye, (n_tasks, p, p)),
            shared,
            task_shared_blocks=two_alpha * eye if task_shared_blocks else None,
        )

    def _gradient(self, grads, theta, beta):
        diff = (theta - beta).reshape(len(theta), -1)
        task_grad = grads + 2.0 * self._penalty[0] * diff
        shared_grad = -2.0 * self._penalty[0] * diff.sum(axis=0) + 2.0 * self._penalty[1] * beta.ravel()
        return task_grad, shared_grad

    def _newton(self, Z, Y, row_task, weights, n_tasks, n_out, start=None, progress=None):
        """Damped Newton iterations from :meth:`_initial_coefficients` (or ``start = (theta, beta)``);
        ``progress``, a tqdm bar, counts them. Returns the coefficients, the iterations
        run and whether they converged."""
        if start is None:
            start = self._initial_coefficients(Z, Y, row_task, weights, n_tasks, n_out)
        theta, beta = start
        losses, grads, hess = self._task_terms(Z, Y, row_task, weights, theta, n_tasks)
        value = self._objective(losses, theta, beta)
        for it in range(1, self.max_iter + 1):
            task_grad, shared_grad = self._gradient(grads, theta, beta)
            step_task, step_shared = self._arrow(hess, n_out).solve(-task_grad, -shared_grad)
            step_task = step_task.reshape(theta.shape)
            step_shared = step_shared.reshape(beta.shape)
            decrement = -(task_grad.ravel() @ step_task.ravel() + shared_grad @ step_shared.ravel())

            def at(t):
                new_theta, new_beta = theta + t * step_task, beta + t * step_shared
                # a trial step may overflow (a Poisson mean): an infinite objective, rejected
                with np.errstate(over="ignore", invalid="ignore"):
                    new_terms = self._task_terms(Z, Y, row_task, weights, new_theta, n_tasks)
                    value = self._objective(new_terms[0], new_theta, new_beta)
                return value, new_theta, new_beta, new_terms

            before = value
            t, value, new_theta, new_beta, (new_losses, new_grads, new_hess) = _backtrack(
                at, value, decrement
            )
            if progress is not None:
                progress.set_postfix(decrement=f"{decrement:.2e}", refresh=False)
                progress.update()
            # relative for large losses, never to an objective the step blew up
            scale = min(abs(before), abs(value)) if np.isfinite(value) else abs(before)
            if decrement / 2 <= self.tol * max(1.0, scale):
                return new_theta, new_beta, it, True
            if not value <= before - 1e-4 * t * decrement:  # the line search found no decrease
                warnings.warn(
                    f"{type(self).__name__} stopped after {it} Newton iterations: no step along "
                    f"the Newton direction lowers the objective ({before:.4g}; Newton decrement "
                    f"{decrement:.2e}), so the fit is not at an optimum. Targets or features in "
                    "very large units can cause this: rescale them, or increase alpha.",
                    ConvergenceWarning,
                )
                return theta, beta, it, False
            theta, beta = new_theta, new_beta
            losses, grads, hess = new_losses, new_grads, new_hess
        warnings.warn(
            f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
            f"Newton iterations (Newton decrement {decrement:.2e} > tol={self.tol}). "
            "Increase max_iter, or increase alpha.",
            ConvergenceWarning,
        )
        return theta, beta, self.max_iter, False

    def _initial_coefficients(self, Z, Y, row_task, weights, n_tasks, n_out):
        """Where Newton starts: zero coefficients (task and shared)."""
        return np.zeros((n_tasks, n_out, Z.shape[1])), np.zeros((n_out, Z.shape[1]))

    def _intercept_direction(self, n_coef):
        """The coefficients (in the fit's ``n_coef`` coordinates) that add 1 to every prediction."""
        if self._basis is None:
            return np.eye(n_coef)[-1]
        return self._basis[-1]  # the rows lie in the basis' span: Z_full basis basis^T = Z_full

    def _set_coefficients(self, theta, beta):
        self._theta, self._beta = theta, beta
        if self._basis is not None:
            theta, beta = theta @ self._basis.T, beta @ self._basis.T
        coef, shared = theta, beta
        if self._fit_intercept:
            self.intercept_ = theta[..., -1]
            self.shared_intercept_ = beta[..., -1]
            coef, shared = theta[..., :-1], beta[..., :-1]
        else:
            self.intercept_ = np.zeros(theta.shape[:2])
            self.shared_intercept_ = np.zeros(beta.shape[:1])
        if theta.shape[1] == 1:
            coef, shared = coef[:, 0], shared[0]
            self.intercept_ = self.intercept_[:, 0]
            self.shared_intercept_ = self.shared_intercept_[0]
        self.coef_, self.shared_coef_ = coef, shared

    # -- prediction -----------------------------------------------------------------
    def _linear_predictor(self, X):
        check_is_fitted(self)
        features, labels = check_task_X(self, X, reset=False)
        shared = self.unknown_task == "shared"
        row_task = encode_fitted_tasks(
            labels, self.tasks_, unseen="warn" if shared else "error", missing="error",
            consequence=(
                "they are predicted with the shared coefficients (unknown_task='error' raises)."
                if shared else
                "set unknown_task='shared' to predict them with the shared coefficients."
            ),
        )
        params = np.concatenate([self._theta, self._beta[None]])
        Z = self._design(features)
        return linear_predictors(Z, params, row_task)  # row_task -1 -> shared

    # -- influence ---------------------------------------------------------------------
    def get_influence_adapter(self):
        """The model's per-task losses and gradients on the shared coefficients.

        The :class:`~skmtl.influence.InfluenceAdapter` through which
        :mod:`skmtl.relatedness`, :mod:`skmtl.plotting` and
        :mod:`skmtl.selection` read the fitted model. Writing ``theta_k = beta
        + delta_k``, its shared parameter is ``beta`` and each task's gradient
        on it is the gradient of the task's loss in its own coefficients.

        Returns
        -------
        adapter : InfluenceAdapter
            Gives ``data``, ``train_data``, ``task_terms``,
            ``shifted_losses``, ``training_path``, ``output_gradients`` and
            ``loss``.
        """
        return LinearAdapter(self)

    def _check_val(self, X_val, y_val):
        """Validation data as ``(Z, Y, task index, row weights)``, rows of unseen tasks dropped."""
        features, y_val, row_task = check_validation_rows(self, X_val, y_val)
        return self._design(features), self._encode_targets(y_val), row_task, np.ones(len(row_task))

    def _fitted_terms(self):
        """Per-task losses and gradients at the fit; their Hessians went into :meth:`_hessian`."""
        if "terms" not in self._cache:
            losses, grads, hess = self._task_terms(
                self._Z, self._Y, self._row_task, self._weights, self._theta, len(self.tasks_)
            )
            self._cache["arrow"] = self._arrow(hess, self._theta.shape[1], task_shared_blocks=True)
            self._cache["terms"] = losses, grads
        return self._cache["terms"]

    def _hessian(self):
        self._fitted_terms()
        return self._cache["arrow"]

    def _val_terms(self, val):
        """Per-task (weighted mean) validation losses and their gradients (NaN for tasks without rows)."""
        Z, Y, row_task, weights = val
        n_tasks = len(self.tasks_)
        losses, grads, _ = self._task_terms(Z, Y, row_task, weights, self._theta, n_tasks, hessian=False)
        empty = np.bincount(row_task, weights=weights, minlength=n_tasks) == 0
        losses[empty] = np.nan
        return losses, grads, empty

    def _row_perturbations(self, start, stop):
        """Centred, weighted per-row gradients ``w_i (g_i - grad L_k) / W_k`` of
        the fitted rows among ``start:stop``."""
        _, grads = self._fitted_terms()
        Z, Y, row_task, w = self._Z, self._Y, self._row_task, self._weights
        totals = self._cached("task weights", lambda: np.bincount(
            row_task[row_task >= 0], weights=w[row_task >= 0], minlength=len(self.tasks_)
        ))
        rows = start + np.flatnonzero(row_task[start:stop] >= 0)
        k = row_task[rows]
        eta = linear_predictors(Z, self._theta, row_task, rows)
        g = np.einsum("nc,nd->ncd", self.loss_.gradient(eta, Y[rows]), Z[rows]).reshape(len(rows), self._theta[0].size)
        scale = np.divide(w[rows], totals[k], out=np.zeros(len(rows)), where=totals[k] > 0)
        return rows, k, scale[:, None] * (g - grads[k]), scale

    def _task_perturbations(self):
        """Gradient of the objective in each task's weight, at the fit."""
        _, grads = self._fitted_terms()
        task_grad, _ = self._gradient(grads, self._theta, self._beta)
        diff = (self._theta - self._beta).reshape(len(self.tasks_), -1)
        return task_grad, -2.0 * self._penalty[0] * diff

    def _fitted_on_cluster(self):
        return (f"This {type(self).__name__} was fitted on a Dask collection, whose rows "
                "stayed on the cluster: influence needs them in memory. Fit on the "
                "computed data (X.compute(), y.compute()) to measure influence.")

    def _check_fitted_attributes(self):
        if self._Z is None:
            raise AttributeError(self._fitted_on_cluster())

    def _check_method(self, method):
        if self._Z is None:
            raise ValueError(self._fitted_on_cluster())
        allowed = ("mtif", self._refit_method)
        if method not in allowed:
            raise ValueError(
                f"method={method!r} is not available for {type(self).__name__}; "
                f"choose one of {allowed}."
            )

    @property
    def _n_fit_rows(self):
        return len(self._Z)

    def _row_bytes(self):
        """Bytes a row of a block takes: its scores and a caller's temporary, and
        the row's perturbation, design row and solves (a few coefficient vectors:
        with many more features than tasks they outweigh the scores)."""
        return 8 * (2 * len(self.tasks_) + 8 * self._theta[0].size)

    @single_threaded_small_blocks
    def _scorer(self, X_val, y_val, method):
        """Factorize once; score blocks of fit rows (see :class:`~skmtl.base.InfluenceMixin`)."""
        self._check_method(method)
        val = self._resolve_val(X_val, y_val)
        _, val_grads, empty = self._val_terms(val)
        H = self._hessian()
        operators = H.score_operators(val_grads) if method == "mtif" else None

        def parts(start, stop, components=False):
            with blas_threads_for_blocks(self._theta[0].size):
                rows, k, u, scale = self._row_perturbations(start, stop)
                if operators is None:
                    return rows - start, self._row_refit_effects(rows, k, u, scale, val, empty), None
                scored = H.scores(operators, k, u, return_components=components)
            return (rows - start, *scored) if components else (rows - start, scored, None)

        def totals(task_weights):
            if method != "mtif":
                return None
            operator = H.total_operator(val_grads, task_weights=task_weights)

            def score(start, stop):
                with blas_threads_for_blocks(self._theta[0].size):
                    rows, k, u, _ = self._row_perturbations(start, stop)
                    return rows - start, H.total_scores(operator, k, u)

            return score

        return parts, totals, empty

    def influence(self, X_val=None, y_val=None, *, method="mtif", return_components=False):
        """Effect of removing each training row on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            Validation data (with the task column); the data given to ``fit``
            as ``X_val``/``y_val`` (or the training data) when omitted.
        method : {"mtif", "exact" (ridge), "newton" (logistic, Poisson)}, default="mtif"
            ``"mtif"``: first-order multitask influence function. Each task's
            loss is the mean over its rows, so a task's only row scores 0
            (its weight within the mean cannot change), though removing it
            removes the task's data: ``"exact"`` or ``"newton"`` measure that.
            ``"exact"``: the exact refit effect of the ridge model, in closed
            form. ``"newton"``: one Newton step from the full fit on the
            objective without the row.
        return_components : bool, default=False
            With ``method="mtif"``, also return a dict splitting the scores
            into ``"direct"`` (through the row's own task coefficients: the
            within-task influence) and ``"shared"`` (through the shared
            coefficients: the only path between tasks).

        Returns
        -------
        influence : ndarray of shape (n_fit_rows, n_tasks)
            Entry ``[i, j]`` estimates ``loss_j(fit without row i) -
            loss_j(fit)``: positive means row ``i`` helps task ``j``. Rows
            follow the ``X`` given to ``fit`` (ignored rows score 0),
            columns follow ``tasks_``; a task without validation rows gets
            NaN.

        Raises
        ------
        MemoryError
            Before allocating, when the result would exceed
            ``skmtl.get_config()["max_result_memory"]``: then stream it with
            :meth:`influence_chunked` or sum it per row with
            :meth:`influence_total`.
        """
        check_is_fitted(self)
        if return_components and method != "mtif":
            raise ValueError("return_components=True needs method='mtif'.")
        scores, components = self._influence_matrix(X_val, y_val, method, return_components)
        return (scores, components) if return_components else scores

    @single_threaded_small_blocks
    def task_relatedness(self, X_val=None, y_val=None, *, method="mtif"):
        """Effect of removing each whole task on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        method : {"mtif", "exact" (ridge), "newton" (logistic, Poisson)}, default="mtif"

        Returns
        -------
        relatedness : ndarray of shape (n_tasks, n_tasks)
            Entry ``[k, j]`` estimates ``loss_j(fit without task k) -
            loss_j(fit)``: row = source task, column = target task, positive =
            task ``k`` helps task ``j``. A removed task is predicted with the
            shared coefficients; the first-order diagonal only measures the
            path through the shared coefficients, so compare tasks off the
            diagonal. A target task without validation rows gets a column of
            NaN.
        """
        check_is_fitted(self)
        self._check_method(method)
        val = self._resolve_val(X_val, y_val)
        _, val_grads, empty = self._val_terms(val)
        task_grad, shared_grad = self._task_perturbations()
        n_tasks = len(self.tasks_)
        if method == "mtif":
            out = self._hessian().influence(
                np.arange(n_tasks), task_grad, val_grads, row_shared_grads=shared_grad
            )
        else:
            out = self._task_refit_effects(shared_grad, val)
        out[:, empty] = np.nan
        return out

