"""Streamed influence: influence_chunked, influence_total and the result-size guard."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.utils._param_validation import InvalidParameterError

import skmtl
from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.influence import ArrowHessian

TINY = 0.0005  # MiB: a few rows per block


def _ridge_data():
    X, y = make_multitask_regression(n_tasks=4, n_samples=60, n_features=3, random_state=0)
    X = X.astype(float)
    X[5, -1] = np.nan  # a row without a task: scores 0
    # validation data without task 3: its column is NaN
    val = X[:, -1] != 3
    return X, y, X[val][10:], y[val][10:]


def _logistic():
    X, y = make_multitask_classification(n_tasks=3, n_samples=45, n_features=3, random_state=1)
    return MultiTaskLogistic().fit(X, y), X, y


def _net(kind="classification", **params):
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    make = make_multitask_classification if kind == "classification" else make_multitask_regression
    X, y = make(n_tasks=3, n_samples=15, n_features=4, random_state=0)
    X = X.astype(float)
    X[:9, -1] = np.nan  # no task: a first block without a fitted row
    base = dict(hidden_layer_sizes=(6,), n_models=2, max_epochs=5, projection_dim=12, solver="adam",
                early_stopping=True, random_state=0, device="cpu", dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SharedBottomNet(**{**base, **params}).fit(X, y), X, y


def _fitted_ridge():
    X, y, Xv, yv = _ridge_data()
    return MultiTaskRidge().fit(X, y), Xv, yv


def _cases():
    ridge, Xv, yv = _fitted_ridge()
    logistic, X, y = _logistic()
    yield ridge, (Xv, yv), "mtif"
    yield ridge, (Xv, yv), "exact"
    yield logistic, (X, y), "mtif"
    yield logistic, (X, y), "newton"


@pytest.mark.parametrize("case", range(4))
def test_chunks_are_the_rows_of_influence(case):
    est, val, method = list(_cases())[case]
    full = est.influence(*val, method=method)
    starts = list(est.influence_chunked(*val, method=method, working_memory=TINY,
                                        reduce_func=lambda block, start: (start, len(block))))
    assert len(starts) > 3
    assert [s for s, _ in starts] == list(np.cumsum([0] + [n for _, n in starts[:-1]]))
    blocks = list(est.influence_chunked(*val, method=method, working_memory=TINY))
    np.testing.assert_allclose(np.vstack(blocks), full, rtol=0, atol=1e-12)
    if isinstance(est, MultiTaskRidge):
        assert np.isnan(full[:, 3]).all() and (full[5, :3] == 0).all()
    # per-row totals over the tasks with validation rows
    np.testing.assert_allclose(est.influence_total(*val, method=method, working_memory=TINY),
                               np.nansum(full, axis=1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_network_chunks_and_totals(kind):
    est, X, y = _net(kind, influence_batch_size=4)
    full = est.influence()
    assert (full == 0).all(axis=1).any()  # held-out rows score 0
    blocks = list(est.influence_chunked(working_memory=TINY))
    assert len(blocks) > 3
    np.testing.assert_allclose(np.vstack(blocks), full, rtol=0, atol=1e-12)
    weights = np.array([1.0, 0.0, 2.0])
    totals = est.influence_total(task_weights=weights, working_memory=TINY)
    np.testing.assert_allclose(totals, full @ weights, rtol=0, atol=1e-10)
    parts = est.influence(return_components=True)[1]
    np.testing.assert_allclose(parts["direct"] + parts["shared"], full, rtol=0, atol=1e-15)
    # against validation data given at the call, the same streamed and whole
    X_val, y_val = X[9:], y[9:]
    full = est.influence(X_val, y_val)
    blocks = list(est.influence_chunked(X_val, y_val, working_memory=TINY))
    np.testing.assert_allclose(np.vstack(blocks), full, rtol=0, atol=1e-12)


def test_network_streams_one_block_on_the_host_and_a_batch_on_the_device(monkeypatch):
    import tracemalloc

    from skmtl.network._influence import MemberInfluence

    X, y = make_multitask_regression(n_tasks=200, n_samples=4, n_features=3, random_state=0)
    est, _, _ = _net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(early_stopping=False, max_epochs=2, influence_batch_size=16).fit(X, y)
    total = est.influence_total()  # validation gradients and operators, cached
    device_rows = []
    batch_scores = MemberInfluence.batch_scores

    def recording(self, *args):
        for sl, batch in batch_scores(self, *args):
            device_rows.append(len(batch["scores"]))
            yield sl, batch

    monkeypatch.setattr(MemberInfluence, "batch_scores", recording)
    rows = 200
    block_bytes = rows * len(est.tasks_) * 8
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        sums = list(est.influence_chunked(working_memory=est._row_bytes() * rows / 2**20,
                                          reduce_func=lambda block, start: block.sum(axis=1)))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(np.concatenate(sums), total, rtol=0, atol=1e-10)
    assert len(sums) == len(X) // rows > 1
    # the block being scored and a few batches, not the last block nor each member's copy
    assert peak < 1.5 * block_bytes
    assert max(device_rows) == 16 and sum(device_rows) == 2 * len(X)  # two members


def test_network_soft_threshold_cannot_stream():
    est, X, y = _net(n_models=1, soft_threshold=0.5)
    for call in (est.influence_chunked, est.influence_total):
        with pytest.raises(ValueError, match="soft_threshold=0.5 cuts each task's scores"):
            call()
    assert est.influence().shape == (len(X), 3)


def test_working_memory_defaults_to_sklearn_config():
    est, Xv, yv = _fitted_ridge()
    rows = 5
    with sklearn.config_context(working_memory=est._row_bytes() * rows / 2**20):
        lengths = [len(b) for b in est.influence_chunked(Xv, yv)]
    assert lengths[:-1] == [rows] * (len(lengths) - 1) and sum(lengths) == len(est._Z)


def test_mtif_total_is_one_solve_not_per_task_scores(monkeypatch):
    est, Xv, yv = _fitted_ridge()
    expected = np.nansum(est.influence(Xv, yv), axis=1)

    def per_task(*args, **kwargs):
        raise AssertionError("per-task scores computed")

    monkeypatch.setattr(ArrowHessian, "scores", per_task)
    np.testing.assert_allclose(est.influence_total(Xv, yv), expected, rtol=0, atol=1e-10)


def test_score_operators_grow_with_the_model_not_tasks_squared():
    rng = np.random.RandomState(0)
    n_tasks, d = 7, 3
    a = rng.randn(n_tasks, d, d)
    H = ArrowHessian(a @ a.swapaxes(1, 2) + 5 * np.eye(d), rng.randn(n_tasks, d, d), 50 * np.eye(d))
    operators = H.score_operators(rng.randn(n_tasks, d))
    assert sum(op.size for op in operators) == n_tasks * d + d * n_tasks
    # against the dense inverse
    dense = np.zeros((n_tasks * d + d,) * 2)
    for k in range(n_tasks):
        blk = slice(k * d, (k + 1) * d)
        dense[blk, blk] = H.task_blocks[k]
        dense[blk, -d:] = H.cross_blocks[k]
        dense[-d:, blk] = H.cross_blocks[k].T
    dense[-d:, -d:] = H.shared_block
    v = rng.randn(n_tasks, d)
    tasks, u = rng.randint(n_tasks, size=9), rng.randn(9, d)
    U = np.zeros((9, len(dense)))
    V = np.zeros((n_tasks, len(dense)))
    for i, k in enumerate(tasks):
        U[i, k * d:(k + 1) * d] = u[i]
    for j in range(n_tasks):
        V[j, j * d:(j + 1) * d] = v[j]
    scores = H.scores(H.score_operators(v), tasks, u)
    np.testing.assert_allclose(scores, U @ np.linalg.solve(dense, V.T), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.total_scores(H.total_operator(v), tasks, u),
                               scores.sum(axis=1), rtol=1e-10, atol=1e-12)


def test_guard_refuses_big_results_before_allocating():
    est, Xv, yv = _fitted_ridge()
    before = est.influence(Xv, yv)
    n, n_tasks = before.shape
    one = 8 * n * n_tasks / 2**20
    with skmtl.config_context(max_result_memory=1.5 * one):
        np.testing.assert_array_equal(est.influence(Xv, yv), before)
        with pytest.raises(MemoryError, match=r"GiB.*influence_chunked\(X_val, y_val"):
            est.influence(Xv, yv, return_components=True)
    with skmtl.config_context(max_result_memory=0.5 * one):
        with pytest.raises(MemoryError, match=rf"influence\(\) of {n} rows x {n_tasks} tasks"):
            est.influence(Xv, yv)
        with pytest.raises(MemoryError):
            est.influence_  # noqa: B018
        np.testing.assert_allclose(np.vstack(list(est.influence_chunked(Xv, yv))), before, atol=1e-12)
    assert skmtl.get_config()["max_result_memory"] == 4096
    np.testing.assert_array_equal(est.influence_, est.influence())


def test_bad_arguments_raise_at_the_call():
    est, Xv, yv = _fitted_ridge()
    with pytest.raises(ValueError, match="Pass both X_val and y_val"):
        est.influence_chunked(Xv)  # not at the first block
    with pytest.raises(ValueError, match="method='newton' is not available"):
        est.influence_chunked(method="newton")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        est.influence_total(task_weights=[1.0, 2.0])
    with pytest.raises(InvalidParameterError):
        skmtl.set_config(max_result_memory=-1)
    for memory in (0, -1, "1", float("inf"), True):
        with pytest.raises(ValueError, match="working_memory must be a positive, finite number of MiB"):
            est.influence_chunked(working_memory=memory)
    with pytest.raises(TypeError, match="reduce_func returned None"):
        next(est.influence_chunked(reduce_func=lambda block, start: None))


@pytest.mark.parametrize("method", ["mtif", "exact"])
def test_blocks_of_rows_without_a_task_score_zero(method):
    rng = np.random.RandomState(0)
    task = np.r_[0, 0, 0, 1, 1, 1, 2, 2, 2, np.nan, np.nan, np.nan]
    X, y = np.column_stack([rng.randn(12, 2), task]), rng.randn(12)
    model = MultiTaskRidge().fit(X, y)
    full = model.influence(method=method)
    assert np.all(full[-3:] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # blocks below one row's working memory
        blocks = np.vstack(list(model.influence_chunked(method=method, working_memory=1e-5)))
        totals = model.influence_total(method=method, working_memory=1e-5)
    np.testing.assert_allclose(blocks, full, atol=1e-14)
    np.testing.assert_allclose(totals, full.sum(axis=1), atol=1e-14)


def test_guard_refuses_big_subset_losses_before_any_fit():
    from skmtl.relatedness import higher_order_affinity, task_subset_losses

    X, y = make_multitask_regression(n_tasks=4, n_samples=10, n_features=2, random_state=0)
    one = 8 * 20 * 4 / 2**20  # the losses of 20 subsets x 4 tasks
    with skmtl.config_context(max_result_memory=1.5 * one):
        given = np.eye(4, dtype=bool)[np.arange(20) % 4]
        assert task_subset_losses(MultiTaskRidge(), X, y, subsets=given).losses.shape == (20, 4)
        # sampled: three times the losses' size with the random keys and their order
        with pytest.raises(MemoryError, match=r"20 subsets x 4 tasks with the sampling.*n_subsets="):
            higher_order_affinity(MultiTaskRidge(alpha=-1.0), X, y, n_subsets=20)


def test_schur_complement_summed_over_slices_of_many_tasks():
    rng = np.random.RandomState(0)
    n_tasks, d = 600, 2  # more tasks than one slice of the sum
    A = rng.randn(n_tasks, d, d)
    blocks = A @ A.transpose(0, 2, 1) + 3 * np.eye(d)
    cross = rng.randn(n_tasks, d, d) * 0.1
    H = ArrowHessian(blocks, cross, n_tasks * np.eye(d))
    expected = n_tasks * np.eye(d) - sum(c.T @ np.linalg.solve(b, c) for b, c in zip(blocks, cross))
    np.testing.assert_allclose(H.schur_, expected, rtol=1e-12)
    common = ArrowHessian(blocks, np.broadcast_to(-np.eye(d), cross.shape), n_tasks * np.eye(d))
    np.testing.assert_allclose(common.schur_, n_tasks * np.eye(d) - np.linalg.inv(blocks).sum(axis=0),
                               rtol=1e-12)


def test_command_line_streams_the_influence_it_writes(tmp_path, capsys):
    import csv

    from skmtl.cli import main

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "school", "score"])
        writer.writerows([a, b, f"s{int(t)}", repr(float(v))] for (a, b, t), v in zip(X, y))
    below_the_matrix = 0.5 * 8 * len(X) * 3 / 2**20
    with skmtl.config_context(max_result_memory=below_the_matrix):
        status = main(["relatedness", str(path), "--task-col", "school", "--target", "score",
                       "--val-fraction", "0", "--no-scale", "--out", str(tmp_path / "out")])
    assert status in (0, None), capsys.readouterr().err
    with open(tmp_path / "out" / "influence.csv") as fh:
        body = list(csv.reader(fh))[1:]
    # the rows by the relatedness's measure, the exact refit (3 tasks)
    expected = MultiTaskRidge().fit(X, y).influence(method="exact")
    np.testing.assert_allclose(np.array([r[4:] for r in body], dtype=float), expected,
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose([float(r[3]) for r in body], expected.sum(axis=1), atol=1e-12)


@pytest.mark.parametrize("method", ["mtif", "exact"])
def test_total_is_nan_not_zero_where_no_weighted_task_has_validation_rows(method):
    est, Xv, yv = _fitted_ridge()
    first = Xv[:, -1] == est.tasks_[0]
    weights = np.zeros(len(est.tasks_))
    weights[1:] = 1.0  # only tasks without validation rows below carry weight
    with pytest.warns(UserWarning):  # no validation rows for the weighted tasks
        total = est.influence_total(Xv[first], yv[first], method=method, task_weights=weights)
    assert np.isnan(total).all()
    # the task that has validation rows is still scored as influence() says
    on_first = est.influence_total(Xv[first], yv[first], method=method, task_weights=1 - weights)
    np.testing.assert_allclose(on_first, est.influence(Xv[first], yv[first], method=method)[:, 0],
                               rtol=1e-9, atol=1e-14)


def test_a_refit_while_the_blocks_are_read_is_refused():
    """The generator's operators are those of the fit it started from: blocks
    read after a refit on other data mixed the two fits silently."""
    est, _, _ = _fitted_ridge()
    blocks = est.influence_chunked(working_memory=0.001)
    next(blocks)
    X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=5, random_state=9)
    est.fit(X, y)
    with pytest.raises(RuntimeError, match="fitted again while influence_chunked was being read"):
        next(blocks)
    blocks = est.influence_chunked(working_memory=0.001)
    next(blocks)
    est.set_params(alpha=10.0).fit(X, y)  # the same data, another model
    with pytest.raises(RuntimeError, match="fitted again"):
        next(blocks)


def test_task_weights_by_label():
    """A Series or dict of task weights is read by task label, as a pandas user
    expects (a Series was read by position)."""
    pd = pytest.importorskip("pandas")
    est, Xv, yv = _fitted_ridge()
    tasks = est.tasks_
    by_label = pd.Series({tasks[2]: 1.0, tasks[0]: 0.0, tasks[1]: 0.0, tasks[3]: 0.0})
    np.testing.assert_allclose(est.influence_total(Xv, yv, task_weights=by_label),
                               est.influence(Xv, yv)[:, 2])
    np.testing.assert_allclose(est.influence_total(Xv, yv, task_weights=dict(by_label)),
                               est.influence(Xv, yv)[:, 2])
    with pytest.raises(ValueError, match="task_weights' labels .* are not the tasks of tasks_"):
        est.influence_total(Xv, yv, task_weights=pd.Series({"x": 1.0}))
