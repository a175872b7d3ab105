"""Multitask logistic regression (binary and softmax) with soft parameter sharing."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d
from scipy.special import log_softmax

from ..base import binary_log_proba
from ._base import MultiTaskLinearModel
from ._loss import BinaryLogLoss, MultinomialLogLoss


class MultiTaskLogistic(ClassifierMixin, MultiTaskLinearModel):
    """Per-task logistic regression shrunk toward a jointly learned shared vector.

    Minimizes ``sum_k [mean_i w_ki logloss_ki(theta_k) + alpha ||theta_k -
    beta||^2] + shared_alpha ||beta||^2`` (intercepts included) by damped
    Newton steps through the Schur complement of the task blocks. Two
    classes give a logistic model, more a softmax model with one coefficient
    row per class. A task with a single class is normal data: its
    coefficients lean on the shared ones.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the pull of every task's coefficients toward the shared
        ones.
    fit_intercept : bool, default=True
    shared_alpha : float, default=1e-6
        Ridge penalty on the shared vector; makes the softmax parametrization
        (and data with fewer rows than features) identifiable.
    task_col : int or str, default=-1
    unknown_task : {"shared", "error"}, default="shared"
    max_iter : int, default=100
        Newton iterations; a ``ConvergenceWarning`` says when they run out.
    tol : float, default=1e-10
        Stop when half the squared Newton decrement falls below ``tol`` (times
        the objective where it exceeds 1: targets in large units converge too).
    warm_start : bool, default=False
        Start Newton from the last fit's coefficients where it fitted the same
        tasks, classes and number of columns and they fit these data no worse
        than a fresh start. The objective is convex, so the fit is the same
        (to ``tol``), usually in fewer steps: the label-noise selector refits
        its fold models this way (4 or 5 steps instead of 5 on HAR; the
        selector 1.2 to 1.4 times faster, ``benchmarks/RESULTS.md``).

    verbose : int, default=0
        Progress bars (tqdm) for the Newton steps of ``fit``, the rows of
        :meth:`influence`, :meth:`influence_chunked` and
        :meth:`influence_total`, and the refits of ``method="newton"``; 0 silences
        them.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    tasks_ : ndarray of shape (n_tasks,)
    coef_ : ndarray of shape (n_tasks, n_features) or (n_tasks, n_classes, n_features)
    intercept_ : ndarray of shape (n_tasks,) or (n_tasks, n_classes)
    shared_coef_ : ndarray of shape (n_features,) or (n_classes, n_features)
    shared_intercept_ : float or ndarray of shape (n_classes,)
    influence_, task_relatedness_ : ndarray
        Measured against ``X_val``/``y_val`` given to fit, else the training
        data (see :meth:`influence`).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
    n_iter_ : int

    Examples
    --------
    >>> from skmtl import MultiTaskLogistic
    >>> from skmtl.datasets import make_multitask_classification
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=4, random_state=0)
    >>> clf = MultiTaskLogistic(alpha=0.5).fit(X, y)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.influence(X, y, method="newton").shape   # approximate leave-one-out
    (120, 3)
    """

    _refit_method = "newton"

    def _make_loss(self, y):
        # before check_classification_targets, whose cast of NaN to int warns
        check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=self)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has one class ({self.classes_[:1].tolist()[0]!r}) across all tasks; a "
                "classifier needs at least two. (One class within a task is fine.)"
            )
        return self._loss_for_classes(), self._one_hot(encoded)

    def _loss_for_classes(self):
        return BinaryLogLoss() if len(self.classes_) == 2 else MultinomialLogLoss()

    def _one_hot(self, encoded):
        if len(self.classes_) == 2:
            return encoded[:, None].astype(float)
        return np.eye(len(self.classes_))[encoded]

    def _encode_targets(self, y):
        y = column_or_1d(y)
        # as Python values: labels of another type (0/1 for 'no'/'yes') are unseen, not an error of <
        unseen = set(y.tolist()) - set(self.classes_.tolist())
        if unseen:
            same_kind = {type(v) for v in unseen} <= {type(v) for v in self.classes_.tolist()}
            fix = ("The model gives them probability 0, so their loss and its influence are "
                   "undefined: leave those rows out of the validation data." if same_kind else
                   "Give y_val labels of the same kind as y.")
            raise ValueError(
                f"y_val holds classes {sorted(unseen, key=str)} not seen in fit; the model's "
                f"classes_ are {self.classes_.tolist()}. {fix}"
            )
        return self._one_hot(np.searchsorted(self.classes_, y))

    def decision_function(self, X):
        """Log-odds of ``classes_[1]`` (binary) or per-class scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        eta = self._linear_predictor(X)
        return eta[:, 0] if eta.shape[1] == 1 else eta

    def predict_proba(self, X):
        """Class probabilities, columns following ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed from the linear
        predictor: finite even where a probability underflows to 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        eta = self._linear_predictor(X)
        if eta.shape[1] == 1:
            return binary_log_proba(eta[:, 0])
        return log_softmax(eta, axis=1)

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_columns)
            Features plus the task column.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
