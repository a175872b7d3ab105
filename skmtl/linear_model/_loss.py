"""Per-row losses of the linear models, written on the linear predictor ``eta``.

Each loss maps ``eta`` of shape ``(n, n_outputs)`` and encoded targets ``Y`` of
the same shape to per-row values, gradients ``(n, n_outputs)`` and Hessians
``(n, n_outputs, n_outputs)`` with respect to ``eta``. The estimators lift them
to the coefficients with ``z`` (the row's features plus intercept column).
"""

import numpy as np
from scipy.special import expit, log_softmax, softmax


class SquaredError:
    """``(eta - y)^2``: the mean squared error of MultiTaskRidge."""

    def loss(self, eta, Y):
        return ((eta - Y) ** 2).sum(axis=-1)

    def gradient(self, eta, Y):
        return 2.0 * (eta - Y)

    def hessian(self, eta, Y):
        return np.full(eta.shape + (1,), 2.0)


class BinaryLogLoss:
    """Log-loss of a logistic model; ``eta`` is the log-odds of class 1."""

    def loss(self, eta, Y):
        return (np.logaddexp(0.0, eta) - Y * eta).sum(axis=-1)

    def gradient(self, eta, Y):
        return expit(eta) - Y

    def hessian(self, eta, Y):
        p = expit(eta)
        return (p * (1.0 - p))[..., None]


class MultinomialLogLoss:
    """Log-loss of a softmax model; ``eta`` holds one score per class."""

    # adding one number to every class's score leaves the loss unchanged: its
    # curvature is zero along the coefficients that shift all classes alike
    shift_invariant = True

    def loss(self, eta, Y):
        return -(Y * log_softmax(eta, axis=-1)).sum(axis=-1)

    def gradient(self, eta, Y):
        return softmax(eta, axis=-1) - Y

    def hessian(self, eta, Y):
        p = softmax(eta, axis=-1)
        return p[..., :, None] * (np.eye(p.shape[-1]) - p[..., None, :])


class HalfPoissonDeviance:
    """Half the Poisson deviance of a log-link model, ``exp(eta) - y eta + y log y - y``;
    ``eta`` is the log of the mean count."""

    def loss(self, eta, Y):
        # y (exp(r) - 1 - r) with r = eta - log y: the same value without the large terms
        # (y eta and y log y near 1e9 for counts of 1e8) whose rounding hides a Newton
        # step's decrease from the line search
        counts = Y > 0
        r = eta - np.log(np.where(counts, Y, 1.0))
        with np.errstate(over="ignore"):
            return np.where(counts, Y * (np.expm1(r) - r), np.exp(eta)).sum(axis=-1)

    def gradient(self, eta, Y):
        return np.exp(eta) - Y

    def hessian(self, eta, Y):
        return np.exp(eta)[..., None]
