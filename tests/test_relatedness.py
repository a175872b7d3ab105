"""Tests of skmtl.relatedness: known answers, agreement with direct computation."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, RegressorMixin

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import task_losses
from skmtl.relatedness import (
    cosine_affinity,
    gradient_affinity,
    group_tasks,
    higher_order_affinity,
    order_tasks,
    select_source_tasks,
    surrogate_affinity,
    tag_affinity,
    task_subset_losses,
)

from skmtl.relatedness._grouping import _all_partitions, _n_partitions
from skmtl.linear_model._loss import BinaryLogLoss, MultinomialLogLoss, SquaredError
from skmtl.relatedness._offset_regression import offset_regression
from skmtl.relatedness._subsets import _centred, _fit_surrogate, _higher_order, _surrogate_r2
from skmtl.utils import stack_tasks


def _twin_tasks(seed=0, n=80, classification=False):
    """Four tasks: 0 and 1 share coefficients w, 2 and 3 share -w."""
    rng = np.random.default_rng(seed)
    w = np.array([2.0, -1.0, 1.0])
    Xs, ys = [], []
    for coef in (w, w, -w, -w):
        X = rng.standard_normal((n, 3))
        score = X @ coef
        if classification:
            ys.append((rng.random(n) < 1 / (1 + np.exp(-score))).astype(int))
        else:
            ys.append(score + 0.5 * rng.standard_normal(n))
        Xs.append(X)
    return stack_tasks(Xs, ys)


MEASURES = {
    "cosine": lambda est, X, y: cosine_affinity(est, X, y),
    "tag": lambda est, X, y: tag_affinity(est, X, y, n_steps=20),
    "tag_first_order": lambda est, X, y: tag_affinity(est, X, y, method="first_order", n_steps=20),
    "surrogate": lambda est, X, y: surrogate_affinity(est, X, y, n_subsets=30, random_state=0),
    "higher_order": lambda est, X, y: higher_order_affinity(est, X, y, n_subsets=30, random_state=0),
    "grad_tae": lambda est, X, y: gradient_affinity(est, X, y, n_subsets=30, random_state=0),
    "grad_tae_surrogate": lambda est, X, y: gradient_affinity(
        est, X, y, kind="surrogate", n_subsets=30, random_state=0),
}


@pytest.mark.parametrize("name", MEASURES)
@pytest.mark.parametrize("classification", [False, True])
def test_twin_task_is_the_most_helpful_source(name, classification):
    X, y = _twin_tasks(classification=classification)
    est = MultiTaskLogistic(alpha=0.1) if classification else MultiTaskRidge(alpha=0.1)
    A = MEASURES[name](est, X, y)
    assert A.shape == (4, 4)
    twin = {0: 1, 1: 0, 2: 3, 3: 2}
    for target, source in twin.items():
        others = [s for s in range(4) if s not in (target, source)]
        assert A[source, target] > A[others, target].max(), (name, target, A[:, target])


def test_cosine_matches_direct_gradients():
    X, y = make_multitask_regression(n_tasks=3, n_samples=25, n_features=4, random_state=1)
    X_val, y_val = make_multitask_regression(n_tasks=3, n_samples=15, n_features=4, random_state=2)
    est = MultiTaskRidge(alpha=0.7)
    model = MultiTaskRidge(alpha=0.7).fit(X, y)

    def grads(X, y):
        out = []
        for k in range(3):
            rows = X[:, -1] == k
            Z = np.column_stack([X[rows, :-1], np.ones(rows.sum())])
            coef = np.append(model.coef_[k], model.intercept_[k])
            out.append(2 * Z.T @ (Z @ coef - y[rows]) / rows.sum())
        out = np.array(out)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    assert_allclose(cosine_affinity(est, X, y, X_val, y_val), grads(X, y) @ grads(X_val, y_val).T,
                    atol=1e-10)
    same = cosine_affinity(est, X, y)
    assert_allclose(same, same.T, atol=1e-12)
    assert_allclose(np.diag(same), 1.0)


def test_tag_first_order_is_the_small_step_limit_of_exact():
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=3, random_state=0)
    kwargs = dict(n_steps=5, learning_rate=1e-6)
    exact = tag_affinity(MultiTaskLogistic(), X, y, **kwargs)
    first = tag_affinity(MultiTaskLogistic(), X, y, method="first_order", **kwargs)
    assert_allclose(exact, first, rtol=1e-4)
    assert np.abs(first).max() > 0


def test_tag_training_path_converges_to_the_fit():
    X, y = make_multitask_regression(n_tasks=3, n_samples=40, n_features=2, random_state=0)
    model = MultiTaskRidge(alpha=0.5).fit(X, y)
    for (theta, beta), _ in model.get_influence_adapter().training_path(3000, None):
        pass
    assert_allclose(theta, model._theta, atol=1e-6)
    assert_allclose(beta, model._beta, atol=1e-6)


def test_tag_returns_the_affinity_recorded_in_training():
    class Recorder(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            self.tasks_ = np.array(["a", "b"])
            self.tag_affinity_ = np.array([[1.0, 0.2], [0.3, 1.0]])
            return self

    A = tag_affinity(Recorder(), np.zeros((2, 2)), np.zeros(2), as_frame=True)
    assert list(A.index) == ["a", "b"] and A.loc["b", "a"] == 0.3
    with pytest.raises(ValueError, match="without X_val"):
        tag_affinity(Recorder(), np.zeros((2, 2)), np.zeros(2), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(TypeError, match="surrogate_affinity"):
        cosine_affinity(Recorder(), np.zeros((2, 2)), np.zeros(2))


def test_surrogate_recovers_additive_losses_exactly():
    rng = np.random.default_rng(0)
    K = 5
    theta = rng.standard_normal((K, K))
    np.fill_diagonal(theta, 0.0)
    c = rng.standard_normal(K)
    subsets = rng.random((40, K)) < 0.5
    losses = np.where(subsets, c[None] + subsets @ theta, np.nan)
    fitted, intercept = _fit_surrogate(subsets, losses)
    assert_allclose(fitted, theta, atol=1e-10)
    assert_allclose(intercept, c, atol=1e-10)
    assert_allclose(_centred(-fitted).sum(axis=0), 0.0, atol=1e-10)


def test_surrogate_predicts_fresh_subsets():
    X, y = make_multitask_regression(n_tasks=10, n_samples=150, random_state=0)
    X_tr, y_tr, X_val, y_val = X[::3], y[::3], X[1::3], y[1::3]
    _, details = surrogate_affinity(MultiTaskRidge(), X_tr, y_tr, X_val, y_val, n_subsets=50,
                                    n_eval_subsets=50, random_state=0, return_details=True)
    assert np.median(details.r2) >= 0.8
    assert details.n_fits == 100


def test_subsets_are_distinct_and_the_evaluation_ones_fresh():
    X, y = make_multitask_regression(n_tasks=8, n_samples=30, n_features=3, random_state=0)
    _, details = surrogate_affinity(MultiTaskRidge(), X, y, n_eval_subsets=30, random_state=0,
                                    return_details=True)
    fitted = {row.tobytes() for row in details.subset_losses.subsets}
    fresh = {row.tobytes() for row in details.eval_losses.subsets}
    assert len(fitted) == 40 and len(fresh) == 30 and not fitted & fresh  # C(8, 4) = 70
    assert details.n_fits == 70
    # 4 tasks: 6 subsets of 2, all fitted once (5 * 4 asked), none left to evaluate on
    X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    with pytest.warns(UserWarning, match="Every subset of 2 of the 4 tasks was used to fit the "
                      "surrogate, so none is left to evaluate it on: r2 is NaN"):
        _, details = surrogate_affinity(MultiTaskRidge(), X, y, n_eval_subsets=10, random_state=0,
                                        return_details=True)
    assert details.subset_losses.subsets.sum(axis=0).tolist() == [3, 3, 3, 3]
    assert details.n_fits == 6 and np.isnan(details.r2).all()


def test_surrogate_r2_is_undefined_where_a_loss_never_moves():
    subsets = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=bool)
    losses = np.where(subsets, 2.0, np.nan)
    theta, intercept = _fit_surrogate(subsets, losses)
    assert np.isnan(_surrogate_r2(theta, intercept, subsets, losses)).all()


def test_a_target_without_validation_rows_is_a_column_of_nan():
    X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    val = X[:, -1] != 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        A = surrogate_affinity(MultiTaskRidge(), X, y, X[val], y[val], n_subsets=6, random_state=0)
    assert np.isnan(A[:, 3]).all() and np.isfinite(A[:, :3]).all()


def test_higher_order_known_answer():
    subsets = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=bool)
    losses = np.array([[1.0, 2.0, np.nan], [3.0, np.nan, 5.0], [2.0, 4.0, 6.0]])
    A = _higher_order(subsets, losses)
    # target 0: mean 2; with source 1: (1 + 2) / 2; with source 2: (3 + 2) / 2
    assert_allclose(A[:, 0], [0.0, 0.5, -0.5])
    assert_allclose(A[:, 1], [0.0, 0.0, -1.0])


def test_subset_losses_match_direct_refits_and_full_gradient_estimate():
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=3, random_state=0)
    X_val, y_val = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=1)
    est = MultiTaskLogistic(shared_alpha=0.0)
    subsets = [[1, 0, 1], [1, 1, 1]]
    res = task_subset_losses(est, X, y, X_val, y_val, subsets=subsets)
    keep = np.isin(X[:, -1], [0, 2])
    direct = task_losses(MultiTaskLogistic(shared_alpha=0.0).fit(X[keep], y[keep]),
                         X_val[np.isin(X_val[:, -1], [0, 2])], y_val[np.isin(X_val[:, -1], [0, 2])],
                         tasks=[0, 1, 2])
    assert_allclose(res.losses[0], direct)
    # at the full fit the tasks' gradients on beta sum to zero: the shared step does not move
    grad = task_subset_losses(est, X, y, X_val, y_val, subsets=subsets, method="gradient",
                              ridge=0.0)
    assert_allclose(grad.losses[1], res.losses[1], rtol=1e-6)
    assert grad.n_fits == 1 and res.n_fits == 2
    with pytest.raises(ValueError, match="3 tasks"):
        task_subset_losses(est, X, y, subsets=[[1, 0]])


@pytest.mark.parametrize("n_rows, n_coef", [(12, 40), (40, 12)])  # row space, coefficient space
def test_offset_regression_is_the_minimizer_in_either_space(n_rows, n_coef):
    rng = np.random.default_rng(0)
    ridge = 1e-2
    for loss, n_out in ((SquaredError(), 1), (BinaryLogLoss(), 1), (MultinomialLogLoss(), 3)):
        G = rng.standard_normal((n_rows, n_out, n_coef))
        eta = rng.standard_normal((n_rows, n_out))
        Y = (rng.standard_normal((n_rows, 1)) if n_out == 1 and isinstance(loss, SquaredError)
             else np.eye(max(n_out, 2))[rng.integers(0, max(n_out, 2), n_rows)][:, -n_out:])
        weights = rng.uniform(0.1, 1.0, n_rows)
        w = offset_regression(loss, eta, G, Y, weights, ridge)
        # stationarity of the convex objective: its gradient vanishes at the minimizer
        gradient = np.einsum("n,nc,ncd->d", weights, loss.gradient(eta + G @ w, Y), G) + 2 * ridge * w
        assert np.abs(gradient).max() < 1e-9
        if isinstance(loss, SquaredError):  # and the normal equations' solution
            flat = G[:, 0] * np.sqrt(weights)[:, None]
            exact = np.linalg.solve(flat.T @ flat + ridge * np.eye(n_coef),
                                    -flat.T @ (np.sqrt(weights) * (eta - Y)[:, 0]))
            assert_allclose(w, exact, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("subsets", [
    [[1, 1, 0], [0, 1, 1]],                      # 0/1 mask
    np.array([[True, True, False], [False, True, True]]),
    [["a", "b"], ["c", "b"]],                    # task labels, in any order
    [{"a", "b"}, ("b", "c")],
])
def test_subsets_as_masks_or_task_labels(subsets):
    X, y = make_multitask_regression(n_tasks=3, n_samples=6, n_features=2, random_state=0)
    X, y = stack_tasks({t: X[X[:, -1] == k, :-1] for k, t in enumerate("abc")},
                       {t: y[X[:, -1] == k] for k, t in enumerate("abc")})
    res = task_subset_losses(MultiTaskRidge(), X, y, subsets=subsets)
    np.testing.assert_array_equal(res.subsets, [[True, True, False], [False, True, True]])
    assert res.tasks.tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("subsets, message", [
    ([[2, 1, 0]], r"read as a mask: True/False or 1/0 .* got \[2\]"),
    ([[0.5, 1, 0]], r"read as a mask.* got \[0.5\]"),
    ([[1, 0]], r"holds only 0/1, so it is read as a mask, but it has 2 columns for 3 tasks.*as a set"),
    ([[0, 2], [1, 5]], r"subsets\[1\] must name only tasks of X \[0, 1, 2\]; got \[1, 5\]"),
    ([0, 2], r"subsets\[0\] is 0; give each subset as a collection of task labels"),
    # an empty subset, whichever form it takes
    ([[1, 0, 1], [0, 0, 0]], r"subsets\[1\] holds no task; every subset must hold at least one"),
    ([[0, 2], []], r"subsets\[1\] holds no task; every subset must hold at least one"),
    ([[]], r"subsets\[0\] holds no task; every subset must hold at least one"),
    ([[], []], r"subsets\[0\] holds no task; every subset must hold at least one"),
    (np.zeros((1, 0), dtype=bool), r"subsets\[0\] holds no task"),
    ([set()], r"subsets\[0\] holds no task"),
])
def test_subsets_reject_anything_but_masks_and_labels_before_fitting(monkeypatch, subsets, message):
    def no_fit(self, *args, **kwargs):
        raise AssertionError("fitted before the error")

    monkeypatch.setattr(MultiTaskRidge, "fit", no_fit)
    X, y = make_multitask_regression(n_tasks=3, n_samples=4, n_features=2, random_state=0)
    with pytest.raises(ValueError, match=message):
        task_subset_losses(MultiTaskRidge(), X, y, subsets=subsets)


def test_subset_losses_name_validation_labels_of_another_type(monkeypatch):
    monkeypatch.setattr(MultiTaskRidge, "fit", lambda *a, **k: pytest.fail("fitted before the error"))
    X, y = make_multitask_regression(n_tasks=3, n_samples=4, n_features=2, random_state=0)
    X_val = np.column_stack([X[:, :-1], X[:, -1].astype(int).astype(str)]).astype(object)
    with pytest.raises(ValueError, match=r"rows of X_val were seen in fit: they are str \['0', '1', '2'\]"):
        task_subset_losses(MultiTaskRidge(), X, y, X_val, y, subsets=[[1, 1, 0]])


def test_as_frame_labels_tasks():
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    X = X.astype(object)
    X[:, -1] = np.array(["x", "y", "z"])[X[:, -1].astype(int)]
    A = cosine_affinity(MultiTaskRidge(), X, y, as_frame=True)
    assert list(A.index) == ["x", "y", "z"] and list(A.columns) == ["x", "y", "z"]
    assert A.index.name == "source" and A.columns.name == "target"
    B = higher_order_affinity(MultiTaskRidge(), X, y, n_subsets=10, random_state=0, as_frame=True)
    assert list(B.index) == ["x", "y", "z"]


def test_missing_validation_target():
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="both X_val and y_val"):
        cosine_affinity(MultiTaskRidge(), X, y, X_val=X)


def _blocks(noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    group = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    A = np.where(group[:, None] == group[None], 1.0, -0.5) + noise * rng.standard_normal((8, 8))
    return A, group


@pytest.mark.parametrize("method, search", [("spectral", "auto"), ("tag", "exhaustive"),
                                            ("tag", "greedy")])
def test_group_tasks_recovers_blocks(method, search):
    A, group = _blocks(noise=0.1)
    labels = group_tasks(A, 3, method=method, search=search, random_state=0)
    assert_allclose(labels, group)


def test_group_tasks_budget_and_frames():
    import pandas as pd

    A, group = _blocks()
    # with a budget of 2 the two largest blocks stay apart and the pair joins nobody it hurts
    labels = group_tasks(A, 2, method="tag")
    assert len(np.unique(labels)) <= 2
    assert labels[0] == labels[1] == labels[2] and labels[5] == labels[6] == labels[7]
    assert labels[0] != labels[5]
    frame = pd.DataFrame(A, index=list("abcdefgh"), columns=list("abcdefgh"))
    series = group_tasks(frame, 3, method="tag")
    assert list(series.index) == list("abcdefgh") and list(series) == list(group)
    with pytest.raises(ValueError, match="exceeds"):
        group_tasks(A, 9)
    with pytest.raises(ValueError, match="square"):
        group_tasks(A[:3], 2)


@pytest.mark.parametrize("read", ["sorted rows", "csv labels", "nested list"])
def test_grouping_reads_a_frame_by_its_labels(tmp_path, read):
    """Rows sorted alone (a common pandas step) or read back from a CSV (numbers
    in the index, text in the header) give the groups and sources of the frame
    as labelled; a nested list is read by position. They were read by position
    (wrong groups), all NaN, or refused."""
    import pandas as pd

    A, group = _blocks()
    frame = pd.DataFrame(A, index=list("hgfedcba"), columns=list("hgfedcba"))
    truth = group_tasks(frame, 3, method="tag")
    sources = select_source_tasks(frame)
    if read == "sorted rows":
        given = frame.sort_index()
    elif read == "csv labels":
        frame = pd.DataFrame(A, index=range(8), columns=range(8))
        truth, sources = group_tasks(frame, 3, method="tag"), select_source_tasks(frame)
        frame.to_csv(tmp_path / "affinity.csv")
        given = pd.read_csv(tmp_path / "affinity.csv", index_col=0)
        assert given.columns.tolist() == [str(i) for i in range(8)]
    else:
        given = A.tolist()
        truth, sources = group_tasks(A, 3, method="tag"), select_source_tasks(A)
    labels = group_tasks(given, 3, method="tag")

    def partition(groups):  # the tasks grouped together, whatever the groups' numbers
        groups = pd.Series(groups)
        return {frozenset(map(str, groups.index[groups == g])) for g in groups.unique()}

    assert partition(labels) == partition(truth)
    picked = select_source_tasks(given)
    assert {k: set(v.tolist()) for k, v in picked.items()} == {k: set(v.tolist()) for k, v in sources.items()}
    order = order_tasks(given)
    assert sorted(order.tolist()) == list(range(8))


def test_grouping_refuses_a_frame_whose_columns_are_other_tasks():
    import pandas as pd

    A, _ = _blocks()
    frame = pd.DataFrame(A, index=list("abcdefgh"), columns=list("stuvwxyz"))
    for function in (lambda F: group_tasks(F, 2), select_source_tasks, order_tasks):
        with pytest.raises(ValueError, match=r"'s columns \['s', 't', 'u', 'v', 'w', \.\.\.\] are not"):
            function(frame)
    with pytest.raises(ValueError, match="must be a square"):
        order_tasks(np.ones((2, 5)))


def test_partition_enumeration_counts():
    for n, k in [(4, 2), (5, 3), (6, 6)]:
        parts = _all_partitions(n, k)
        assert len(parts) == _n_partitions(n, k) == len({tuple(p) for p in parts})
    assert _n_partitions(6, 6) == 203  # Bell number B6


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tag_affinity_of_a_network_is_its_training_record():
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    net = SharedBottomNet(max_epochs=5, random_state=0)
    A = tag_affinity(net, X, y, method="first_order")
    fitted = SharedBottomNet(max_epochs=5, random_state=0, record_affinity="first_order").fit(X, y)
    assert_allclose(A, fitted.tag_affinity_)



def test_tag_affinity_of_a_network_refuses_validation_data_before_fitting(monkeypatch):
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    def no_fit(self, *args, **kwargs):
        raise AssertionError("fitted before the error")

    monkeypatch.setattr(SharedBottomNet, "fit", no_fit)
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="without X_val"):
        tag_affinity(SharedBottomNet(), X, y, X, y)


@pytest.mark.parametrize("function", [task_subset_losses, surrogate_affinity,
                                      higher_order_affinity, gradient_affinity])
@pytest.mark.parametrize("validation", [False, True])
def test_subset_measures_check_lengths_before_fitting(monkeypatch, function, validation):
    def no_fit(self, *args, **kwargs):
        raise AssertionError("fitted before the error")

    monkeypatch.setattr(MultiTaskRidge, "fit", no_fit)
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=2, random_state=0)
    data = (X, y, X, y[:-1]) if validation else (X, y[:-1])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        function(MultiTaskRidge(), *data, n_subsets=3)


def _one_class_tasks():
    """Task A holds both classes; B (2 rows) and C (20 rows) the positive one alone."""
    import pandas as pd

    rng = np.random.default_rng(0)
    sizes = {"A": 60, "B": 2, "C": 20}
    task = np.repeat(list(sizes), list(sizes.values()))
    X = pd.DataFrame(rng.normal(size=(len(task), 3)), columns=["a", "b", "c"]).assign(task=task)
    y = np.where(task == "A", np.where(X["a"] > 0, "pos", "neg"), "pos")
    return X, y


def test_subset_refits_of_one_class_are_nan_with_a_warning():
    """A subset of one-class tasks cannot be fitted by any classifier: its losses
    are NaN and a FitFailedWarning says which subset and why, as scikit-learn's
    cross_validate does; the other subsets' losses are those of direct refits."""
    from sklearn.exceptions import FitFailedWarning

    X, y = _one_class_tasks()
    model = MultiTaskLogistic(task_col="task")
    subsets = [["A", "B"], ["B", "C"], ["A", "C"]]
    with pytest.warns(FitFailedWarning, match=r"1 of the 3 subset refits failed.*subsets\[1\], "
                                              r"tasks \['B', 'C'\]\) raised ValueError: y has one class"):
        res = task_subset_losses(model, X, y, subsets=subsets)
    assert np.isnan(res.losses[1]).all()
    direct = model.fit(X[X["task"] != "B"], y[X["task"] != "B"])
    rows = X["task"] != "B"
    assert_allclose(res.losses[2, [0, 2]], task_losses(direct, X[rows], y[rows], ["A", "C"]))
    with pytest.warns(FitFailedWarning, match="subset refits failed"):
        theta = surrogate_affinity(model, X, y, n_subsets=12, random_state=0)
    assert np.isfinite(theta[0, 2]) or np.isfinite(theta[2, 0])
    with pytest.raises(ValueError, match=r"Every one of the 1 subset refits failed"):
        task_subset_losses(model, X, y, subsets=[["B", "C"]])


def test_loto_refit_that_cannot_fit_is_nan_with_a_warning():
    from sklearn.exceptions import FitFailedWarning

    from skmtl.inspection import loto_effects

    X, y = _one_class_tasks()
    with pytest.warns(FitFailedWarning, match=r"1 of the 3 refits without a task failed.*"
                                              r"the refit without task 'A'\) raised ValueError"):
        effects = loto_effects(MultiTaskLogistic(task_col="task"), X, y)
    assert np.isnan(effects[0]).all() and np.isfinite(effects[1:]).all()


def test_a_validation_class_that_a_refit_never_saw_is_named():
    """The log-loss of a row needs the probability of its class: a model that
    never saw the class has none, and the protocol says so (it read the next
    class's probability, or failed with an IndexError)."""
    from sklearn.linear_model import LogisticRegression

    from skmtl.influence import prediction_losses

    X = np.arange(8.0)[:, None]
    model = LogisticRegression().fit(X, [0, 0, 2, 2, 0, 0, 2, 2])
    with pytest.raises(ValueError, match=r"y holds classes \[1\] not seen in fit; the model's "
                                         r"classes_ are \[0, 2\]"):
        prediction_losses(model, X[:2], np.array([0, 1]))


def test_greedy_grouping_ends_where_no_single_move_helps():
    """The greedy search scores merges and moves from group sums alone: where
    it stops, no task moved to another group (or alone, within the budget)
    raises the score of the partition scored in full."""
    from skmtl.relatedness._grouping import _greedy, _normalized, _partition_scores

    rng = np.random.default_rng(0)
    for n_tasks, n_groups in [(6, 2), (9, 3), (12, 4), (30, 5)]:
        A = _normalized(rng.normal(size=(n_tasks, n_tasks)))
        labels = _greedy(A, n_groups)
        assert len(np.unique(labels)) <= n_groups
        score = _partition_scores(A, labels[None])[0]
        for task in range(n_tasks):
            for g in list(np.unique(labels)) + [labels.max() + 1]:
                moved = labels.copy()
                moved[task] = g
                if len(np.unique(moved)) <= n_groups:
                    assert _partition_scores(A, moved[None])[0] <= score + 1e-9
    with pytest.raises(ValueError, match="would score 7.95e\\+11 partitions"):
        group_tasks(rng.normal(size=(20, 20)), 5, method="tag", search="exhaustive")


def test_order_tasks_beyond_the_optimal_order_keeps_clusters_together(monkeypatch):
    from skmtl.relatedness import _grouping

    A = np.kron(np.eye(3), np.ones((4, 4))) - 0.5
    optimal = order_tasks(A)
    monkeypatch.setattr(_grouping, "_OPTIMAL_ORDER_TASKS", 3)
    order = order_tasks(A)
    assert sorted(order) == list(range(12))
    for o in (optimal, order):  # each block of 4 tasks side by side
        assert all(len(set(o[i:i + 4] // 4)) == 1 for i in (0, 4, 8))


def test_surrogate_is_nan_for_a_source_that_never_shares_a_subset_with_the_target():
    # two tasks: the default subsets hold one task each, so nothing measures a source's effect;
    # the least-squares fit gave those sources 0 ("as helpful as the average source")
    X, y = make_multitask_regression(n_tasks=2, n_samples=20, n_features=3, random_state=0)
    A = surrogate_affinity(MultiTaskRidge(), X, y, random_state=0)
    assert np.isnan(A[0, 1]) and np.isnan(A[1, 0]) and A[0, 0] == 0.0 and A[1, 1] == 0.0
    assert np.isnan(higher_order_affinity(MultiTaskRidge(), X, y, random_state=0)[[0, 1], [1, 0]]).all()
    # target 0 never meets source 3: NaN there, and its 0 no longer enters the centring
    subsets = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=bool)
    theta = np.array([[0, 1, 2, 3], [-1, 0, 1, 2], [0.5, -2, 0, 1], [4, 1, -1, 0]], dtype=float)
    losses = np.where(subsets, 1.0 + subsets @ theta, np.nan)
    fitted, _ = _fit_surrogate(subsets, losses)
    assert np.isnan(fitted[3, 0])
    A = _centred(-fitted)
    assert np.isnan(A[3, 0]) and A[0, 0] == 0.0
    assert_allclose(A[[1, 2], 0], [0.75, -0.75])  # -theta = (1, -0.5), centred over these two sources


def test_tag_affinity_of_an_lbfgs_network_names_the_solver():
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    net = SharedBottomNet(hidden_layer_sizes=(4,), solver="lbfgs", max_epochs=2, device="cpu")
    with pytest.raises(ValueError, match="tag_affinity records TAG on the mini-batch steps of "
                       "SharedBottomNet's training, which solver='lbfgs' does not take"):
        tag_affinity(net, X, y)


def _tag_partitions_by_hand(n_tasks, budget):
    """Every partition of range(n_tasks) into at most ``budget`` groups, as lists of sets."""
    partitions = [[]]
    for task in range(n_tasks):
        partitions = [p[:i] + [p[i] | {task}] + p[i + 1:] for p in partitions for i in range(len(p))] + [
            p + [{task}] for p in partitions]
    return [p for p in partitions if len(p) <= budget]


def test_tag_grouping_with_tags_own_normalization_maximizes_its_total_transference():
    """scale='self' is TAG's network selection: each group's sum over members a of the
    mean over the others b of t(b, a) / t(a, a) (Fifty et al., 2021, appendix),
    checked against an enumeration written here; scaling by the largest can choose
    otherwise (a fresh reader: 80 to 96 of 200 TAG-like matrices)."""
    rng = np.random.default_rng(0)
    differ = 0
    for _ in range(30):
        T = rng.normal(size=(5, 5))
        np.fill_diagonal(T, rng.uniform(0.5, 2.0, 5))

        def total(partition):
            return sum(np.mean([T[b, a] / T[a, a] for b in group if b != a])
                       for group in partition if len(group) > 1 for a in group)

        best = max(total(p) for p in _tag_partitions_by_hand(5, 3))
        labels = group_tasks(T, 3, method="tag", scale="self", search="exhaustive")
        chosen = [set(np.flatnonzero(labels == g)) for g in np.unique(labels)]
        assert total(chosen) == pytest.approx(best, abs=1e-12)
        differ += not np.array_equal(labels, group_tasks(T, 3, method="tag", search="exhaustive"))
    assert differ > 0
    with pytest.raises(ValueError, match="self-affinity .* must be positive"):
        group_tasks(T - 5 * np.eye(5), 3, method="tag", scale="self")
    with pytest.raises(ValueError, match="scale='self' is TAG's normalization, for method='tag'"):
        group_tasks(T, 3, scale="self")
