"""The influence adapter of the soft-sharing linear models."""

import numpy as np

from ..base import EstimatorAdapter
from ._refit import linear_predictors


class LinearAdapter(EstimatorAdapter):
    """Influence adapter of the soft-sharing linear models (``theta_k = beta + delta_k``).

    Their tasks share no weight outright: task ``k`` predicts with
    ``theta_k`` and the penalty ``alpha ||theta_k - beta||^2`` ties it to the
    shared ``beta``. Writing ``theta_k = beta + delta_k``, the objective
    becomes ``sum_k L_k(beta + delta_k) + alpha ||delta_k||^2 + shared_alpha
    ||beta||^2``: the shared parameter is ``beta`` and each task's gradient
    on it is ``grad L_k(theta_k)``, a vector in the coefficient space
    ``R^(n_outputs x (n_features + 1))`` where every ``theta_k`` and
    ``beta`` live. A step on the shared parameters moves every task's
    coefficients by the same vector. The data format is ``(Z, Y, row_task,
    weights)``: design matrix, encoded targets, task index, row weights.
    """

    def __init__(self, estimator):
        super().__init__(estimator)
        self.loss = estimator.loss_

    @property
    def methods(self):
        return ("mtif", self.estimator._refit_method)

    def row_losses(self, X, y):
        """Each row's loss in the model's own ``loss_``, from its linear predictor."""
        est = self.estimator
        return est.loss_.loss(est._linear_predictor(X), est._encode_targets(y))

    def data(self, X, y):
        return self.estimator._check_val(X, y)

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

        def evaluate(beta, delta):
            theta = beta[None] + delta
            with np.errstate(over="ignore", invalid="ignore"):  # a rejected step may overflow exp
                losses, grads = self.task_terms(data, (theta, beta))
            value = np.nan_to_num(losses).sum() + alpha * np.sum(delta**2) + shared_alpha * np.sum(beta**2)
            return value, theta, grads.reshape(theta.shape)

        value, theta, grads = evaluate(beta, delta)
        for _ in range(n_steps):
            grad_beta = grads.sum(axis=0) + 2.0 * shared_alpha * beta
            grad_delta = grads + 2.0 * alpha * delta
            while True:  # where the curvature grew (counts), halve the step: the descent stays monotone
                new_beta, new_delta = beta - learning_rate * grad_beta, delta - learning_rate * grad_delta
                new_value, new_theta, new_grads = evaluate(new_beta, new_delta)
                if new_value <= value or learning_rate < 1e-12:
                    break
                learning_rate /= 2.0
            yield (theta, beta), learning_rate
            beta, delta, value, theta, grads = new_beta, new_delta, new_value, new_theta, new_grads

    def output_gradients(self, data):
        Z, _, row_task, _ = data
        theta = self.estimator._theta
        eta = linear_predictors(Z, theta, row_task)
        n_out, d = theta.shape[1:]
        G = np.zeros((len(Z), n_out, n_out, d))
        for c in range(n_out):
            G[:, c, c] = Z
        return row_task, eta, G.reshape(len(Z), n_out, n_out * d)

    def output_targets(self, data):
        _, Y, _, weights = data
        return Y, weights


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
