"""The influence protocol: what a fitted multitask estimator tells skmtl about itself."""

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted


def prediction_losses(estimator, X, y):
    """Each row's loss from a fitted estimator's predictions: log-loss or squared error.

    The log-loss where the estimator has ``predict_log_proba`` (rows whose
    log-probabilities are NaN, regression tasks of a mixed model, take the
    squared error), else the squared error of ``predict``.

    Parameters
    ----------
    estimator : fitted estimator
        A classifier or regressor.
    X : array-like of shape (n_rows, n_columns)
        Rows to predict.
    y : ndarray of shape (n_rows,)
        Their targets.

    Returns
    -------
    losses : ndarray of shape (n_rows,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skmtl.influence import prediction_losses
    >>> X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 3.0])
    >>> prediction_losses(LinearRegression().fit(X, y), X, y).round(3)
    array([0.028, 0.111, 0.028])
    """
    out = np.full(len(y), np.nan)
    if hasattr(estimator, "predict_log_proba"):
        # NaN marks rows of regression tasks in a mixed model; log-probabilities
        # stay exact where a probability would round to 0
        log_proba = estimator.predict_log_proba(X)
        is_class = ~np.isnan(log_proba).any(axis=1)
        classes = estimator.classes_
        unseen = np.setdiff1d(y[is_class], classes)
        if len(unseen):
            raise ValueError(
                f"y holds classes {unseen.tolist()} not seen in fit; the model's classes_ are "
                f"{classes.tolist()}, and a row's log-loss needs the probability of its class."
            )
        out[is_class] = -log_proba[np.flatnonzero(is_class), np.searchsorted(classes, y[is_class])]
    else:
        is_class = np.zeros(len(y), dtype=bool)
    if not is_class.all():
        regression = ~is_class
        pred = np.asarray(estimator.predict(_safe_indexing(X, np.flatnonzero(regression))), dtype=float)
        out[regression] = (pred - np.asarray(y[regression], dtype=float)) ** 2
    return out


class InfluenceAdapter(metaclass=ABCMeta):
    """Per-task losses and gradients of a fitted estimator, for influence and relatedness.

    A model family takes part in skmtl's relatedness measures, plots and
    data selection by returning a subclass from one public method,
    ``estimator.get_influence_adapter()``; nothing else of the estimator
    is read. The estimator itself provides ``tasks_``, ``influence``,
    ``influence_chunked`` and ``task_relatedness`` (see
    :class:`~skmtl.MultiTaskRidge`); the adapter gives the pieces those
    are built from, on the *shared* parameters, the ones every task moves:
    the shared vector ``beta`` of the soft-sharing linear models (writing
    ``theta_k = beta + delta_k``), the bottom of :class:`~skmtl.network.SharedBottomNet`.

    A subclass must implement :meth:`data`, :meth:`train_data`,
    :meth:`task_terms` and :attr:`n_fit_rows`; the rest is optional and
    :meth:`provides` tells which parts a subclass implements:

    * :meth:`shifted_losses` (the tasks' losses after a step on the shared
      parameters) and :meth:`training_path` for TAG's lookahead;
    * :meth:`output_gradients`, :meth:`output_targets` and ``loss`` for
      Grad-TAE's linearized fine-tuning.

    :func:`skmtl.utils.estimator_checks.check_influence_estimator` checks
    an estimator's protocol numerically.

    Parameters
    ----------
    estimator : fitted estimator
        The estimator that handed out the adapter.

    Attributes
    ----------
    estimator : fitted estimator
        The estimator.
    tasks : ndarray of shape (n_tasks,)
        Its ``tasks_``.
    loss : object or None
        Per-row loss on the model output ``eta`` of shape ``(n, n_outputs)``
        with methods ``loss(eta, Y)`` ``(n,)``, ``gradient(eta, Y)`` ``(n,
        n_outputs)`` and ``hessian(eta, Y)`` ``(n, n_outputs, n_outputs)``;
        None when the adapter does not give one.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=4, random_state=0)
    >>> adapter = MultiTaskRidge().fit(X, y).get_influence_adapter()
    >>> losses, grads = adapter.task_terms(adapter.data(X, y))
    >>> losses.shape, grads.shape          # one gradient per task on the 5 shared parameters
    ((3,), (3, 5))
    >>> adapter.provides("training_path", "output_gradients")
    True
    """

    loss = None

    def __init__(self, estimator):
        check_is_fitted(estimator)
        self.estimator = estimator
        self.tasks = estimator.tasks_

    @property
    @abstractmethod
    def n_fit_rows(self):
        """Rows of the ``X`` given to ``fit``: the rows of ``influence``."""

    @property
    def methods(self):
        """The ``method`` values the estimator's ``influence`` and
        ``task_relatedness`` accept: ``("mtif",)`` unless the family offers more."""
        return ("mtif",)

    @property
    def fit_fingerprint(self):
        """A hash of the training data (``skmtl.base.data_fingerprint`` of the
        features, task labels and targets), or None when the estimator keeps none."""
        return None

    @abstractmethod
    def data(self, X, y):
        """Validated data in the adapter's own format.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_columns)
            Features plus the task column.
        y : array-like of shape (n_rows,)
            Targets.

        Returns
        -------
        data : object
            Passed back to the other methods; rows of tasks not seen in fit
            are left out.
        """

    @abstractmethod
    def train_data(self):
        """The data the estimator was fitted on, in the format of :meth:`data`.

        Returns
        -------
        data : object
        """

    @abstractmethod
    def task_terms(self, data, params=None):
        """Each task's mean loss on ``data`` and its gradient on the shared parameters.

        Parameters
        ----------
        data : object
            From :meth:`data` or :meth:`train_data`.
        params : object, default=None
            Parameters along :meth:`training_path`; the fitted ones when None.

        Returns
        -------
        losses : ndarray of shape (n_tasks,)
            NaN for tasks without rows in ``data``.
        grads : ndarray of shape (n_tasks, n_shared)
        """

    def shifted_losses(self, data, shifts, params=None):
        """Each task's mean loss after the shared parameters move by each of ``shifts``.

        Parameters
        ----------
        data : object
            From :meth:`data` or :meth:`train_data`.
        shifts : ndarray of shape (n_shifts, n_shared)
            Steps on the shared parameters.
        params : object, default=None
            As in :meth:`task_terms`.

        Returns
        -------
        losses : ndarray of shape (n_shifts, n_tasks)
        """
        raise NotImplementedError(f"{type(self).__name__} does not give shifted_losses.")

    def training_path(self, n_steps, learning_rate):
        """Parameters along the model's training, for TAG's lookahead.

        Parameters
        ----------
        n_steps : int
            Number of steps.
        learning_rate : float or None
            Step size; the adapter chooses one when None.

        Yields
        ------
        params : object
            Parameters, for the ``params`` argument of :meth:`task_terms`.
        learning_rate : float
            The step size taken next.
        """
        raise NotImplementedError(f"{type(self).__name__} does not give a training_path.")

    def output_gradients(self, data):
        """Each row's model output and its gradient on the shared parameters.

        Parameters
        ----------
        data : object
            From :meth:`data` or :meth:`train_data`.

        Returns
        -------
        row_task : ndarray of shape (n_rows,)
            Task index of each row.
        eta : ndarray of shape (n_rows, n_outputs)
            Model output, the argument of ``loss``.
        G : ndarray of shape (n_rows, n_outputs, n_shared)
            Its gradient on the shared parameters.
        """
        raise NotImplementedError(f"{type(self).__name__} does not give output_gradients.")

    def output_targets(self, data):
        """What ``loss`` compares each row's output with, and each row's weight.

        Parameters
        ----------
        data : object
            From :meth:`data` or :meth:`train_data`.

        Returns
        -------
        Y : ndarray of shape (n_rows, ...)
            The second argument of ``loss``'s methods for each row.
        weights : ndarray of shape (n_rows,)
            Each row's weight in the fitted objective (``sample_weight``;
            ones for :meth:`data`).
        """
        raise NotImplementedError(f"{type(self).__name__} does not give output_targets.")

    def row_losses(self, X, y):
        """Each row's loss, the loss whose change ``influence`` estimates.

        Brute-force refits (:func:`skmtl.inspection.loo_effects`) measure
        with it. :func:`prediction_losses` (log-loss or squared error) unless
        the model family measures another loss.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_columns)
            Rows to predict, with the task column.
        y : ndarray of shape (n_rows,)
            Their targets.

        Returns
        -------
        losses : ndarray of shape (n_rows,)
        """
        return prediction_losses(self.estimator, X, y)

    def reduced_influence(self, X_val, y_val, method, reduce_func):
        """``reduce_func(block, start)`` over blocks of ``estimator.influence``, concatenated.

        Parameters
        ----------
        X_val, y_val : array-like or None
            Validation data, as for ``influence``.
        method : str
            As for ``influence``.
        reduce_func : callable
            As for ``influence_chunked``.

        Returns
        -------
        reduced : ndarray
            The reduced blocks, concatenated along the first axis.
        """
        return np.concatenate(list(self.estimator.influence_chunked(
            X_val, y_val, method=method, reduce_func=reduce_func)))

    def provides(self, *names):
        """Whether the adapter implements each of the optional parts ``names``.

        Parameters
        ----------
        *names : str
            Names of optional methods or attributes (``"shifted_losses"``,
            ``"training_path"``, ``"output_gradients"``, ``"output_targets"``,
            ``"loss"``).

        Returns
        -------
        provided : bool
        """
        return not self.missing(*names)

    def missing(self, *names):
        """The optional parts among ``names`` that the adapter does not implement.

        Parameters
        ----------
        *names : str
            As in :meth:`provides`.

        Returns
        -------
        missing : list of str
        """
        def implemented(name):
            if name == "loss":
                return self.loss is not None
            return getattr(type(self), name, None) is not getattr(InfluenceAdapter, name)

        return [name for name in names if not implemented(name)]
