"""Per-task losses and gradients on the shared parameters, one adapter per model family.

Every gradient-based measure (cosine, TAG, Grad-TAE) is written once against
the small protocol below; an adapter translates it to a model family.

Protocol (attributes and methods of an adapter):

``tasks``
    Task labels, like ``estimator.tasks_``.
``data(X, y)``
    Validated data in the adapter's own format.
``train_data()``
    The data the estimator was fitted on, in the same format.
``task_terms(data, params=None)``
    ``(losses, grads)``: each task's mean loss on ``data`` (NaN for tasks
    without rows) and its gradient ``(n_tasks, n_shared)`` with respect to
    the shared parameters, at the fitted parameters or at ``params``.
``shifted_losses(data, shifts, params=None)``
    Each task's mean loss when the shared parameters move by each row of
    ``shifts`` ``(m, n_shared)``: array ``(m, n_tasks)``.
``training_path(n_steps, learning_rate)``
    Parameters along the model's training, for TAG.
``output_gradients(data)``
    ``(row_task, eta, G)``: each row's task index, model output
    ``(n, n_outputs)`` and its gradient ``(n, n_outputs, n_shared)`` with
    respect to the shared parameters, for Grad-TAE.
``loss``
    Per-row loss on the output, with ``loss``, ``gradient`` and ``hessian``
    methods (see :mod:`skmtl.linear_model._loss`).

Soft-sharing linear models (MultiTaskRidge, MultiTaskLogistic). Their tasks
share no weight outright: task ``k`` predicts with ``theta_k`` and the
penalty ``alpha ||theta_k - beta||^2`` ties it to the shared ``beta``. We
write ``theta_k = beta + delta_k``: the objective becomes ``sum_k
L_k(beta + delta_k) + alpha ||delta_k||^2 + shared_alpha ||beta||^2``, the
shared parameter is ``beta`` and each task's gradient on it is ``grad
L_k(theta_k)``, a vector in the coefficient space ``R^(n_outputs x
(n_features + 1))`` where every ``theta_k`` and ``beta`` live. A step on the
shared parameters moves every task's coefficients by the same vector.

Other estimators take part by returning an adapter from a method
``_relatedness_adapter()``, which may provide only part of the protocol (a
network gives ``data``, ``train_data`` and ``task_terms`` on its bottom's
parameters, enough for the gradient cosine), or, for TAG, by recording the
affinity during training in a fitted attribute ``tag_affinity_``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


class _LinearAdapter:
    """Adapter for fitted soft-sharing linear models (``theta_k = beta + delta_k``)."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.tasks = estimator.tasks_
        self.loss = estimator.loss_

    def data(self, X, y):
        Z, Y, row_task = self.estimator._check_val(X, y)
        return Z, Y, row_task, np.ones(len(Z))

    def train_data(self):
        est = self.estimator
        return est._Z, est._Y, est._row_task, est._weights

    def _params(self, params):
        return self.estimator._theta if params is None else params[0]

    def task_terms(self, data, params=None, hessian=False):
        Z, Y, row_task, weights = data
        theta = self._params(params)
        losses, grads, hess = self.estimator._task_terms(
            Z, Y, row_task, weights, theta, len(self.tasks), hessian=hessian
        )
        present = np.bincount(row_task[row_task >= 0], weights=weights[row_task >= 0],
                              minlength=len(self.tasks)) > 0
        losses[~present] = np.nan
        return (losses, grads, hess) if hessian else (losses, grads)

    def shifted_losses(self, data, shifts, params=None):
        Z, Y, row_task, weights = data
        theta = self._params(params)
        n_out, d = theta.shape[1:]
        shifts = shifts.reshape(len(shifts), n_out, d)
        out = np.full((len(shifts), len(self.tasks)), np.nan)
        for k in range(len(self.tasks)):
            rows = (row_task == k) & (weights > 0)
            if not rows.any():
                continue
            w = weights[rows] / weights[rows].sum()
            eta = Z[rows] @ theta[k].T  # (n, C)
            moved = eta[None] + np.einsum("mcd,nd->mnc", shifts, Z[rows])
            out[:, k] = self.loss.loss(moved, Y[rows][None]) @ w
        return out

    def training_path(self, n_steps, learning_rate):
        """Full-batch gradient descent on the multitask objective from zero.

        The descent runs in the ``(beta, delta_k)`` parametrization, in which
        ``beta`` is the shared parameter. Yields ``(params, learning_rate)``
        before each step; ``params = (theta, beta)``.
        """
        est = self.estimator
        alpha, shared_alpha = est._penalty
        data = self.train_data()
        theta = np.zeros_like(est._theta)
        beta = np.zeros_like(est._beta)
        delta = theta - beta
        if learning_rate is None:
            _, _, hess = self.task_terms(data, (theta, beta), hessian=True)
            learning_rate = 1.0 / _largest_curvature(hess, alpha, shared_alpha)
        value = None
        for _ in range(n_steps):
            losses, grads = self.task_terms(data, (theta, beta))
            losses, grads = np.nan_to_num(losses), grads.reshape(theta.shape)
            new_value = losses.sum() + alpha * np.sum(delta**2) + shared_alpha * np.sum(beta**2)
            if value is not None and new_value > value:
                learning_rate /= 2.0  # the curvature grew: keep the descent monotone
            value = new_value
            yield (theta, beta), learning_rate
            grad_beta = grads.sum(axis=0) + 2.0 * shared_alpha * beta
            grad_delta = grads + 2.0 * alpha * delta
            beta = beta - learning_rate * grad_beta
            delta = delta - learning_rate * grad_delta
            theta = beta[None] + delta

    def output_gradients(self, data):
        Z, _, row_task, _ = data
        theta = self.estimator._theta
        eta = np.einsum("ncd,nd->nc", theta[row_task], Z)
        n_out, d = theta.shape[1:]
        G = np.zeros((len(Z), n_out, n_out, d))
        for c in range(n_out):
            G[:, c, c] = Z
        return row_task, eta, G.reshape(len(Z), n_out, n_out * d)


def _largest_curvature(data_hessians, alpha, shared_alpha, n_iter=100):
    """Largest eigenvalue of the objective's Hessian in ``(beta, delta)``, by power iteration.

    The Hessian maps ``(b, d_k)`` to ``(sum_k D_k (b + d_k) + 2 shared_alpha
    b, D_k (b + d_k) + 2 alpha d_k)``, ``D_k`` the data Hessian of task ``k``.
    """
    n_tasks, p, _ = data_hessians.shape
    rng = np.random.default_rng(0)
    b, d = rng.standard_normal(p), rng.standard_normal((n_tasks, p))
    value = 1.0
    for _ in range(n_iter):
        moved = np.einsum("kij,kj->ki", data_hessians, b[None] + d)
        b, d = moved.sum(axis=0) + 2.0 * shared_alpha * b, moved + 2.0 * alpha * d
        value = np.sqrt(b @ b + np.sum(d * d))
        b, d = b / value, d / value
    return value


def adapter_for(estimator, needs=()):
    """The relatedness adapter of a fitted skmtl estimator, or a TypeError.

    ``needs``: protocol methods the measure calls beyond ``data``,
    ``train_data`` and ``task_terms``; an adapter without them is refused
    with a TypeError naming what is missing.
    """
    check_is_fitted(estimator)
    if hasattr(estimator, "_relatedness_adapter"):
        adapter = estimator._relatedness_adapter()
        missing = [name for name in needs if not hasattr(adapter, name)]
        if missing:
            raise TypeError(
                f"This measure needs {', '.join(missing)} of the model, which "
                f"{type(estimator).__name__} does not provide; use cosine_affinity, "
                "tag_affinity (recorded during training), surrogate_affinity or "
                "higher_order_affinity."
            )
        return adapter
    if hasattr(estimator, "_task_terms") and hasattr(estimator, "_theta"):
        return _LinearAdapter(estimator)
    raise TypeError(
        f"{type(estimator).__name__} gives no per-task gradients on shared "
        "parameters; this measure needs MultiTaskRidge or MultiTaskLogistic, or an "
        "estimator with a _relatedness_adapter() method. The subset-based "
        "measures (surrogate_affinity, higher_order_affinity) work with any estimator."
    )


def as_output(matrix, tasks, as_frame):
    """Return a task-by-task matrix, as a DataFrame labelled by task when asked."""
    if not as_frame:
        return matrix
    import pandas as pd

    index = pd.Index(tasks, name="source")
    return pd.DataFrame(matrix, index=index, columns=pd.Index(tasks, name="target"))
