"""Prediction from a fitted SharedBottomNet: the members' mean outputs."""

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ..base import binary_log_proba
from ..utils import check_task_X, encode_fitted_tasks
from ._targets import numeric_targets

_PREDICT_CHUNK = 8192


def _has_classification_task(est):
    """Whether ``predict_proba`` applies: a classification task after fit, or
    ``task_types`` allowing one before."""
    if hasattr(est, "classes_"):
        return len(est.classes_) > 0
    return est.task_types != "regression"


class NetPredictMixin:
    """``predict``, class probabilities and ``score`` of SharedBottomNet, from
    the members' mean outputs."""

    def _rows(self, X):
        check_is_fitted(self)
        features, labels = check_task_X(self, X, reset=False)
        row_task = encode_fitted_tasks(
            labels, self.tasks_, unseen="error", missing="error",
            consequence=(
                "SharedBottomNet has no head for them: refit with rows of those tasks, "
                "or drop these rows."
            ),
        )
        return features, row_task

    def _outputs(self, X):
        """Mean over members of the regression value, and the log of the
        members' mean class probabilities (finite where a probability underflows)."""
        features, row_task = self._rows(X)
        n = len(features)
        value = np.zeros(n)
        n_classes = len(self.classes_)
        log_proba = np.full((n, n_classes), -np.inf)
        for net in self.models_:
            for start in range(0, n, _PREDICT_CHUNK):
                sl = slice(start, start + _PREDICT_CHUNK)
                batch = self._tensors({"x": features[sl], "task": row_task[sl]})
                with torch.no_grad():
                    eta = net(batch["x"], batch["task"]).to("cpu", torch.float64).numpy()
                value[sl] += eta[:, 0]
                if n_classes == 2:
                    log_proba[sl] = np.logaddexp(log_proba[sl], binary_log_proba(eta[:, 0]))
                elif n_classes > 2:
                    log_proba[sl] = np.logaddexp(log_proba[sl], log_softmax(eta[:, :n_classes], axis=1))
        is_class = self.task_types_[row_task] == "classification"
        n_models = len(self.models_)
        return value / n_models, log_proba - np.log(n_models), is_class

    def predict(self, X):
        """Predicted value (regression tasks) or class (classification tasks).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features plus the task column; every task was seen in fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Floats when every task is a regression or the classes are
            numbers, else an object array.
        """
        value, log_proba, is_class = self._outputs(X)
        if not is_class.any():
            return value
        labels = self.classes_[np.argmax(log_proba, axis=1)]
        if is_class.all():
            return labels
        out = value.astype(object) if labels.dtype.kind not in "iuf" else value
        out[is_class] = labels[is_class]
        return out

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities, columns following ``classes_``.

        Rows of regression tasks get NaN.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            As in :meth:`predict`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The members' mean probabilities.
        """
        return np.exp(self.predict_log_proba(X))

    @available_if(_has_classification_task)
    def decision_function(self, X):
        """Confidence scores of the ensemble's mean class probabilities.

        Two classes: the log-odds of ``classes_[1]`` (the network output for
        one model); more: the log-probabilities. Rows of regression tasks
        get NaN.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            As in :meth:`predict`.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Log-odds (two classes) or log-probabilities.
        """
        log_proba = self.predict_log_proba(X)
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    @available_if(_has_classification_task)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, finite even where a probability
        underflows to 0; rows of regression tasks get NaN.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            As in :meth:`predict`.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithms of the members' mean probabilities.
        """
        _, log_proba, is_class = self._outputs(X)
        log_proba[~is_class] = np.nan
        return log_proba

    def score(self, X, y, sample_weight=None):
        """Accuracy (classification rows) and R^2 (regression rows).

        With tasks of one kind this is ``accuracy_score`` or ``r2_score``
        over all rows, as for scikit-learn classifiers and regressors; with
        both kinds, the two scores averaged with weights equal to their
        numbers of rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            As in :meth:`predict`.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of both scores.

        Returns
        -------
        score : float
            Accuracy, R^2, or their row-weighted mean.
        """
        value, log_proba, is_class = self._outputs(X)
        y = column_or_1d(y)
        check_consistent_length(value, y, sample_weight)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        parts, sizes = [], []
        if is_class.any():
            pred = self.classes_[np.argmax(log_proba[is_class], axis=1)]
            w = None if weights is None else weights[is_class]
            parts.append(accuracy_score(y[is_class], pred, sample_weight=w))
            sizes.append(is_class.sum())
        if (~is_class).any():
            w = None if weights is None else weights[~is_class]
            target = numeric_targets(y[~is_class], "regression tasks")
            parts.append(r2_score(target, value[~is_class], sample_weight=w))
            sizes.append((~is_class).sum())
        return float(np.average(parts, weights=sizes))
