"""The arrow-Hessian engine against dense linear algebra."""

import numpy as np
import pytest

from skmtl.influence import ArrowHessian


def _random_arrow(rng, n_tasks=4, d_task=3, d_shared=5):
    """A random SPD arrow matrix with dense coupling blocks (hard-sharing shape)."""
    n = n_tasks * d_task + d_shared
    A = rng.standard_normal((n, n))
    dense = A @ A.T + n * np.eye(n)
    # zero the task-task off-diagonal blocks to make it arrow-shaped
    for k in range(n_tasks):
        for m in range(n_tasks):
            if k != m:
                dense[k * d_task:(k + 1) * d_task, m * d_task:(m + 1) * d_task] = 0
    dense += n * np.eye(n)  # stays positive definite after zeroing
    t = n_tasks * d_task
    task_blocks = np.stack([dense[k * d_task:(k + 1) * d_task, k * d_task:(k + 1) * d_task] for k in range(n_tasks)])
    cross = np.stack([dense[k * d_task:(k + 1) * d_task, t:] for k in range(n_tasks)])
    return ArrowHessian(task_blocks, cross, dense[t:, t:]), dense


def test_solve_matches_dense():
    rng = np.random.default_rng(0)
    H, dense = _random_arrow(rng)
    task_rhs, shared_rhs = rng.standard_normal((4, 3)), rng.standard_normal(5)
    task_sol, shared_sol = H.solve(task_rhs, shared_rhs)
    expected = np.linalg.solve(dense, np.concatenate([task_rhs.ravel(), shared_rhs]))
    np.testing.assert_allclose(np.concatenate([task_sol.ravel(), shared_sol]), expected, rtol=1e-10)


def test_influence_matches_dense_with_shared_gradients():
    rng = np.random.default_rng(1)
    H, dense = _random_arrow(rng)
    n, K, dt = 7, 4, 3
    row_tasks = rng.integers(0, K, n)
    row_task_grads, row_shared = rng.standard_normal((n, dt)), rng.standard_normal((n, 5))
    val_task_grads, val_shared = rng.standard_normal((K, dt)), rng.standard_normal((K, 5))
    scores, parts = H.influence(
        row_tasks, row_task_grads, val_task_grads, row_shared, val_shared, return_components=True
    )

    def embed(task, task_grad, shared_grad):
        v = np.zeros(K * dt + 5)
        v[task * dt:(task + 1) * dt] = task_grad
        v[K * dt:] = shared_grad
        return v

    inv = np.linalg.inv(dense)
    for i in range(n):
        u = embed(row_tasks[i], row_task_grads[i], row_shared[i])
        for j in range(K):
            v = embed(j, val_task_grads[j], val_shared[j])
            assert scores[i, j] == pytest.approx(v @ inv @ u, rel=1e-9)
    np.testing.assert_allclose(parts["direct"] + parts["shared"], scores)
    off_task = np.arange(K)[None, :] != row_tasks[:, None]
    assert np.all(parts["direct"][off_task] == 0)


def test_parameter_influence_is_the_dense_response():
    rng = np.random.default_rng(2)
    H, dense = _random_arrow(rng)
    grad = rng.standard_normal(3)
    response = H.parameter_influence(2, grad)
    rhs = np.zeros(17)
    rhs[6:9] = grad
    expected = np.linalg.solve(dense, rhs)
    np.testing.assert_allclose(response["between"].ravel(), expected[:12], rtol=1e-10)
    np.testing.assert_allclose(response["shared"], expected[12:], rtol=1e-10)
    np.testing.assert_allclose(response["within"], expected[6:9], rtol=1e-10)


def test_low_rank_and_drop_steps_match_dense():
    rng = np.random.default_rng(3)
    H, dense = _random_arrow(rng)
    base = H.task_blocks[1] + np.diag([1.0, 2.0, 3.0])
    factors = rng.standard_normal((4, 3, 2)) * 0.3
    scales = np.array([0.0, 0.5, 1.0, 2.0])
    task_rhs, shared_rhs = rng.standard_normal((4, 3)), rng.standard_normal((4, 5))
    own, shared = H.low_rank_task_step(1, base, factors, scales, task_rhs, shared_rhs)
    for i in range(4):
        modified = dense.copy()
        modified[3:6, 3:6] = base - scales[i] * factors[i] @ factors[i].T
        full_rhs = np.zeros(17)
        full_rhs[3:6], full_rhs[12:] = task_rhs[i], shared_rhs[i]
        expected = np.linalg.solve(modified, full_rhs)
        np.testing.assert_allclose(own[i], expected[3:6], rtol=1e-9)
        np.testing.assert_allclose(shared[i], expected[12:], rtol=1e-9)

    contribution = np.eye(5)
    dropped = ArrowHessian(H.task_blocks, H.cross_blocks, H.shared_block, contribution)
    shared_rhs = rng.standard_normal(5)
    keep = np.r_[0:3, 6:17]
    reduced = dense[np.ix_(keep, keep)].copy()
    reduced[-5:, -5:] -= contribution
    expected = np.linalg.solve(reduced, np.r_[np.zeros(9), shared_rhs])
    np.testing.assert_allclose(dropped.drop_task_step(1, shared_rhs), expected[-5:], rtol=1e-10)


def test_not_positive_definite_is_explained():
    eye = np.eye(2)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        ArrowHessian(np.stack([-eye]), np.stack([eye]), eye)
