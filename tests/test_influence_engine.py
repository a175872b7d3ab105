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


# -- the torch backend ------------------------------------------------------------------------
def _assert_same(tensor, array):
    """A float64 tensor equal to the numpy result to ~1e-10 relative (of the largest entry)."""
    torch = pytest.importorskip("torch")
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float64
    array = np.asarray(array)
    scale = max(np.abs(array).max(), 1e-300)
    np.testing.assert_allclose(tensor.cpu().numpy(), array, rtol=0, atol=1e-10 * scale)


def _cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not _cuda_available(), reason="needs a CUDA GPU"))])
def test_torch_engine_equals_numpy_engine_on_every_method(device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    K, dt, db, n = 5, 6, 9, 23
    H, _ = _random_arrow(rng, n_tasks=K, d_task=dt, d_shared=db)
    contribution = 0.1 * np.stack([np.eye(db) * (k + 1) for k in range(K)])
    H = ArrowHessian(H.task_blocks, H.cross_blocks, H.shared_block, contribution)

    def as_t(array):
        return torch.as_tensor(array, device=device)

    # float32 blocks are promoted to float64; the engine stays on their device
    T = ArrowHessian(as_t(H.task_blocks), as_t(H.cross_blocks), as_t(H.shared_block).float(), as_t(contribution))
    assert T.task_blocks.dtype == T.shared_block.dtype == torch.float64
    assert T.schur_.device.type == T.task_blocks.device.type == device
    np.testing.assert_allclose(T.shared_block.cpu().numpy(), H.shared_block.astype(np.float32), rtol=0)
    T = ArrowHessian(as_t(H.task_blocks), as_t(H.cross_blocks), as_t(H.shared_block), as_t(contribution))
    _assert_same(T.schur_, H.schur_)
    _assert_same(T.coupling_, H.coupling_)

    task_rhs, shared_rhs = rng.standard_normal((K, dt)), rng.standard_normal(db)
    _assert_same(T.task_solve(as_t(task_rhs)), H.task_solve(task_rhs))
    many = rng.standard_normal((K, dt, 3))
    _assert_same(T.task_solve(as_t(many)), H.task_solve(many))
    _assert_same(T.schur_solve(as_t(shared_rhs)), H.schur_solve(shared_rhs))
    columns = rng.standard_normal((db, 2))
    _assert_same(T.schur_solve(as_t(columns)), H.schur_solve(columns))
    for got, want in zip(T.solve(as_t(task_rhs), as_t(shared_rhs)), H.solve(task_rhs, shared_rhs)):
        _assert_same(got, want)

    row_tasks = rng.integers(0, K - 1, n)  # the last task has no rows
    u, ub = rng.standard_normal((n, dt)), rng.standard_normal((n, db))
    v, vb = rng.standard_normal((K, dt)), rng.standard_normal((K, db))
    scores, parts = T.influence(as_t(row_tasks), as_t(u), as_t(v), as_t(ub), as_t(vb), return_components=True)
    want, want_parts = H.influence(row_tasks, u, v, ub, vb, return_components=True)
    _assert_same(scores, want)
    for name in ("direct", "shared"):
        _assert_same(parts[name], want_parts[name])
    _assert_same(T.influence(row_tasks, u, v), H.influence(row_tasks, u, v))  # numpy inputs are converted
    for got, want in zip(T.score_operators(as_t(v), as_t(vb)), H.score_operators(v, vb)):
        _assert_same(got, want)
    for got, want in zip(T.score_operators(as_t(v)), H.score_operators(v)):
        _assert_same(got, want)

    for shared_grad in (None, rng.standard_normal(db)):
        got = T.parameter_influence(2, as_t(v[2]), None if shared_grad is None else as_t(shared_grad))
        want = H.parameter_influence(2, v[2], shared_grad)
        for name in ("shared", "within", "between"):
            _assert_same(got[name], want[name])

    base = H.task_blocks[1] + np.diag(np.arange(1.0, dt + 1))
    factors = rng.standard_normal((4, dt, 2)) * 0.3
    scales = np.array([0.0, 0.5, 1.0, 2.0])
    m_rhs, m_shared = rng.standard_normal((4, dt)), rng.standard_normal((4, db))
    for shared in (None, m_shared):
        got = T.low_rank_task_step(1, as_t(base), as_t(factors), as_t(scales), as_t(m_rhs),
                                   None if shared is None else as_t(shared))
        for g, w in zip(got, H.low_rank_task_step(1, base, factors, scales, m_rhs, shared)):
            _assert_same(g, w)
    _assert_same(T.drop_task_step(3, as_t(shared_rhs)), H.drop_task_step(3, shared_rhs))
    # a common block given on the host is moved to the engine's device
    common = ArrowHessian(T.task_blocks, T.cross_blocks, T.shared_block, torch.eye(db, dtype=torch.float64))
    _assert_same(common.drop_task_step(0, as_t(shared_rhs)),
                 ArrowHessian(H.task_blocks, H.cross_blocks, H.shared_block, np.eye(db)).drop_task_step(0, shared_rhs))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_dropping_a_task_explains_a_schur_complement_that_is_not_positive_definite(backend):
    eye = np.eye(2)
    if backend == "torch":
        torch = pytest.importorskip("torch")
        eye = torch.eye(2, dtype=torch.float64)
    # the task's share of the shared block is larger than the shared block itself
    H = ArrowHessian(eye[None], 0.5 * eye[None], eye, task_shared_blocks=4 * eye)
    with pytest.raises(np.linalg.LinAlgError, match="Schur complement without the task"):
        H.drop_task_step(0, eye[0])


def test_torch_engine_explains_a_block_that_is_not_positive_definite():
    torch = pytest.importorskip("torch")
    eye = torch.eye(2, dtype=torch.float64)
    with pytest.raises(np.linalg.LinAlgError, match="task block of the Hessian is not positive definite"):
        ArrowHessian(torch.stack([eye, -eye]), torch.stack([eye, eye]), eye)
    with pytest.raises(np.linalg.LinAlgError, match="Schur complement of the Hessian is not positive definite"):
        ArrowHessian(torch.stack([eye]), torch.stack([2 * eye]), eye)
    H = ArrowHessian(torch.stack([eye]), torch.stack([0.5 * eye]), eye)
    with pytest.raises(np.linalg.LinAlgError, match="modified task block"):
        H.low_rank_task_step(0, -eye, torch.zeros(1, 2, 1), torch.zeros(1), torch.zeros(1, 2))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):  # numpy's error type, as numpy's backend
        H._ops.solve(torch.zeros(1, 2, 2, dtype=torch.float64), torch.ones(1, 2, 1, dtype=torch.float64))
