"""The regression Grad-TAE fits on each task subset: a convex loss of outputs
``eta + G w`` that are linear in the coefficients ``w``, with a ridge penalty.

Grad-TAE (:func:`~skmtl.relatedness.task_subset_losses` with
``method="gradient"``) expands the model's outputs to first order in its
parameters and fits the expansion's step on each subset of tasks.
"""

import numpy as np


def offset_regression(loss, eta, G, Y, weights, ridge, max_iter=50, tol=1e-10):
    """``argmin_w sum_n weights_n loss(eta_n + G_n w, Y_n) + ridge ||w||^2`` by damped Newton.

    With fewer rows x outputs ``m`` than coefficients ``d`` (a network's
    parameters) Newton runs in the row space: for ``ridge > 0`` the minimizer
    is ``w = G^T a`` (the representer theorem), so each step solves an
    ``m x m`` system with the kernel ``K = G G^T`` instead of a ``d x d`` one.
    """
    n, c, d = G.shape
    flat = G.reshape(n * c, d)
    row_space = ridge > 0 and n * c < d
    if row_space:
        kernel = flat @ flat.T
        B = kernel.reshape(n, c, n * c)  # outputs of coefficients a: B @ a = G G^T a
    else:
        B = G
    v = np.zeros(B.shape[-1])

    def value(v):
        offset = B @ v  # in the row space K a, whose product with a is ||G^T a||^2
        norm = v @ offset.ravel() if row_space else v @ v
        return weights @ loss.loss(eta + offset, Y) + ridge * norm

    current = value(v)
    for _ in range(max_iter):
        e = eta + B @ v
        residual = (weights[:, None] * loss.gradient(e, Y)).ravel()
        curved = weights[:, None, None] * np.einsum("nce,ner->ncr", loss.hessian(e, Y), B)
        if row_space:
            # Newton's system K (C K + 2 ridge I) step = -K (r + 2 ridge a), with
            # C the rows' loss Hessians: solved without its outer K
            reduced = residual + 2.0 * ridge * v
            step = np.linalg.solve(curved.reshape(n * c, -1) + 2.0 * ridge * np.eye(len(v)), -reduced)
            grad = kernel @ reduced
        else:
            grad = residual @ flat + 2.0 * ridge * v
            hess = flat.T @ curved.reshape(-1, d)
            step = np.linalg.solve(hess + 2.0 * ridge * np.eye(len(v)), -grad)
        decrement = -grad @ step
        t = 1.0
        while value(v + t * step) > current - 1e-4 * t * decrement and t > 1e-10:
            t *= 0.5
        v = v + t * step
        current = value(v)
        if decrement / 2 <= tol:
            break
    return flat.T @ v if row_space else v
