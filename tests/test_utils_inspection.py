"""Data layout helpers, brute-force inspection, synthetic data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import FitFailedWarning

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import loo_effects, loto_effects, task_losses
from skmtl.utils import split_tasks, stack_tasks


def test_stack_and_split_round_trip():
    rng = np.random.default_rng(0)
    Xs = {"b": rng.standard_normal((3, 2)), "a": rng.standard_normal((2, 2))}
    ys = {"b": rng.standard_normal(3), "a": rng.standard_normal(2)}
    X, y = stack_tasks(Xs, ys)
    assert X.shape == (5, 3) and list(X[:, -1]) == ["b"] * 3 + ["a"] * 2
    parts = split_tasks(X, y)
    assert list(parts) == ["a", "b"]
    for task in "ab":
        np.testing.assert_allclose(parts[task][0], Xs[task])
        np.testing.assert_allclose(parts[task][1], ys[task])


def test_split_named_column_and_missing_labels():
    frame = pd.DataFrame({"task": [1.0, np.nan, 2.0, 1.0], "x": [1.0, 2.0, 3.0, 4.0]})
    parts = split_tasks(frame, np.arange(4), task_col="task")
    assert sorted(parts) == [1, 2]
    np.testing.assert_array_equal(parts[1][1], [0, 3])
    np.testing.assert_array_equal(parts[1][0].ravel(), [1.0, 4.0])


def test_stack_tasks_errors():
    with pytest.raises(ValueError, match="same task keys"):
        stack_tasks({"a": np.ones((1, 1))}, {"b": [1]})
    with pytest.raises(ValueError, match="2 feature arrays but 1"):
        stack_tasks([np.ones((1, 1))] * 2, [[1]])


def test_task_losses_match_the_definition():
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    model = MultiTaskRidge().fit(X, y)
    losses = task_losses(model, X, y)
    for k in range(3):
        rows = X[:, -1] == k
        assert losses[k] == pytest.approx(np.mean((model.predict(X[rows]) - y[rows]) ** 2))
    Xc, yc = make_multitask_classification(n_tasks=2, n_samples=20, n_features=3, random_state=0)
    clf = MultiTaskLogistic().fit(Xc, yc)
    proba = clf.predict_proba(Xc)
    expected = -np.log(proba[np.arange(len(yc)), yc])
    np.testing.assert_allclose(task_losses(clf, Xc, yc), [expected[Xc[:, -1] == k].mean() for k in range(2)])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_loss_stays_exact_where_probabilities_round_to_zero(n_classes):
    # separable data, almost no penalty: a far row gets a log-odds of ~37 or more,
    # where 1 - sigmoid rounds to 0 in float64 and a clipped probability would
    # report a loss of 690.8 (log 1e-300)
    X = np.array([[0.0, 0], [1, 0], [2, 0]] * 2)[: 2 * n_classes]
    y = np.arange(len(X)) % n_classes
    X[:, 0] = y
    clf = MultiTaskLogistic(alpha=1e-3).fit(X, y)
    far = np.array([[10.0 * (n_classes - 1), 0]])
    eta = clf.decision_function(far).reshape(1, -1)
    expected = -clf.predict_log_proba(far)[0, 0]  # the loss of true class 0
    if n_classes == 2:
        assert eta[0, 0] > 37 and expected == pytest.approx(np.logaddexp(0, eta[0, 0]), rel=1e-12)
    else:
        assert expected == pytest.approx(np.logaddexp.reduce(eta[0]) - eta[0, 0], rel=1e-12)
    assert expected > 40
    assert task_losses(clf, far, [0]) == pytest.approx([expected], rel=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(far)), clf.predict_proba(far), rtol=1e-12)


def test_loo_parallel_equals_serial_and_rows_subset():
    X, y = make_multitask_regression(n_tasks=3, n_samples=8, n_features=3, random_state=0)
    serial = loo_effects(MultiTaskRidge(), X, y)
    parallel = loo_effects(MultiTaskRidge(), X, y, n_jobs=2)
    np.testing.assert_allclose(serial, parallel)
    np.testing.assert_allclose(loo_effects(MultiTaskRidge(), X, y, rows=[4, 1]), serial[[4, 1]])


def test_loo_rows_accept_negative_indices_and_boolean_masks():
    X, y = make_multitask_regression(n_tasks=3, n_samples=4, n_features=3, random_state=0)
    n = len(y)
    explicit = loo_effects(MultiTaskRidge(), X, y, rows=[n - 1, 0, 1])
    assert np.abs(explicit).max() > 0
    np.testing.assert_allclose(loo_effects(MultiTaskRidge(), X, y, rows=[-1, 0, 1]), explicit)
    mask = np.isin(np.arange(n), [0, 1, n - 1])
    np.testing.assert_allclose(loo_effects(MultiTaskRidge(), X, y, rows=mask), explicit[[1, 2, 0]])


@pytest.mark.parametrize("rows, message", [
    ([999], r"got \[999\]"),
    ([0, -13], r"got \[-13\]"),
    ([0.5], "got entries of dtype float64"),
    (np.arange(11) < 2, "got a boolean mask of length 11"),
])
def test_loo_rejects_invalid_rows_before_fitting(monkeypatch, rows, message):
    def no_fit(self, *args, **kwargs):
        raise AssertionError("fitted before the error")

    monkeypatch.setattr(MultiTaskRidge, "fit", no_fit)
    X, y = make_multitask_regression(n_tasks=3, n_samples=4, n_features=3, random_state=0)
    allowed = r"rows must be integer indices in \[-12, 12\) or a boolean mask of length 12"
    with pytest.raises(ValueError, match=f"{allowed}.*{message}"):
        loo_effects(MultiTaskRidge(), X, y, rows=rows)


def test_inspection_checks_lengths():
    X, y = make_multitask_regression(n_tasks=3, n_samples=4, n_features=3, random_state=0)
    message = r"inconsistent numbers of samples: \[12, 11\]"
    with pytest.raises(ValueError, match=message):
        task_losses(MultiTaskRidge().fit(X, y), X, y[:-1])
    with pytest.raises(ValueError, match=message):
        loo_effects(MultiTaskRidge(), X, y, X, y[:-1])
    with pytest.raises(ValueError, match=message):
        loto_effects(MultiTaskRidge(), X, y[:-1])


def test_leaving_out_the_only_row_or_task_names_the_cause():
    X, y = make_multitask_regression(n_tasks=2, n_samples=3, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="at least two rows of X, got 1: leaving out the only row"):
        loo_effects(MultiTaskRidge(), X[:1], y[:1])
    one_task = X[:, -1] == 1
    with pytest.raises(ValueError, match="at least two tasks, but X holds only task 1: leaving it out"):
        loto_effects(MultiTaskRidge(), X[one_task], y[one_task])


def test_loto_predicts_removed_task_with_shared_coefficients():
    X, y = make_multitask_regression(n_tasks=3, n_samples=15, n_features=3, random_state=0)
    effects = loto_effects(MultiTaskRidge(unknown_task="error"), X, y)
    keep = X[:, -1] != 0
    without = MultiTaskRidge().fit(X[keep], y[keep])
    rows = ~keep
    shared_pred = X[rows, :-1] @ without.shared_coef_ + without.shared_intercept_
    full = MultiTaskRidge().fit(X, y)
    expected = np.mean((shared_pred - y[rows]) ** 2) - task_losses(full, X, y)[0]
    assert effects[0, 0] == pytest.approx(expected)


@pytest.mark.parametrize("h, epsilon", [(0.5, 0.0), (2.0, 0.3)])
def test_synthetic_coefficients_follow_the_paper(h, epsilon):
    X, y, coef, unrelated = make_multitask_regression(
        n_tasks=10, n_samples=[5] * 9 + [2], n_features=4, h=h, epsilon=epsilon, coef=True, random_state=0
    )
    assert X.shape == (47, 5) and np.bincount(X[:, -1].astype(int))[-1] == 2
    assert unrelated.sum() == round(10 * epsilon)
    base = np.array([3.0, 0, 0, 0])
    np.testing.assert_allclose(np.linalg.norm(coef[~unrelated] - base, axis=1), h)
    np.testing.assert_allclose(np.linalg.norm(coef[unrelated], axis=1), 3.0)
    noiseless = make_multitask_regression(n_tasks=2, n_samples=5, n_features=4, noise=0, coef=True, random_state=1)
    Xn, yn, cn, _ = noiseless
    np.testing.assert_allclose(yn, np.einsum("nd,nd->n", Xn[:, :-1], cn[Xn[:, -1].astype(int)]))


def test_synthetic_classification_multiclass():
    X, y = make_multitask_classification(n_tasks=2, n_samples=200, n_features=4, n_classes=3, random_state=0)
    assert set(y) == {0, 1, 2}
    with pytest.raises(ValueError, match="n_features"):
        make_multitask_classification(n_features=2, n_classes=3)


def test_refits_take_a_pipeline_and_scale_each_refit_apart():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skmtl import TaskGroupedEstimator
    from skmtl.compose import make_feature_transformer
    from skmtl.relatedness import higher_order_affinity, surrogate_affinity

    X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    X_val, y_val = make_multitask_regression(n_tasks=4, n_samples=10, n_features=3, random_state=1)
    identity = make_pipeline(FunctionTransformer(), MultiTaskRidge())
    w = np.linspace(0.5, 1.5, len(y))
    for measure in (loto_effects, surrogate_affinity, higher_order_affinity):
        options = {} if measure is loto_effects else {"n_subsets": 8, "random_state": 0}
        np.testing.assert_allclose(measure(identity, X, y, X_val, y_val, **options),
                                   measure(MultiTaskRidge(), X, y, X_val, y_val, **options))
    np.testing.assert_allclose(loo_effects(identity, X, y, rows=[0, 5], sample_weight=w),
                               loo_effects(MultiTaskRidge(), X, y, rows=[0, 5], sample_weight=w))
    np.testing.assert_allclose(
        TaskGroupedEstimator(identity).fit(X, y, sample_weight=w).affinity_,
        TaskGroupedEstimator(MultiTaskRidge()).fit(X, y, sample_weight=w).affinity_)
    # a scaler is fitted again on each refit's rows: leaving out task 0 is that pipeline's refit
    scaled = make_pipeline(make_feature_transformer(StandardScaler()), MultiTaskRidge())
    effects = loto_effects(scaled, X, y, X_val, y_val)
    others = X[:, -1] != 0
    without = make_pipeline(make_feature_transformer(StandardScaler()),
                            MultiTaskRidge(unknown_task="shared")).fit(X[others], y[others])
    full = make_pipeline(make_feature_transformer(StandardScaler()), MultiTaskRidge()).fit(X, y)
    with pytest.warns(UserWarning, match="tasks not seen in fit"):  # task 0, by the shared part
        per_task = [np.mean((model.predict(X_val[X_val[:, -1] == k]) - y_val[X_val[:, -1] == k]) ** 2)
                    for model in (without, full) for k in range(4)]
    np.testing.assert_allclose(effects[0], np.subtract(*np.reshape(per_task, (2, 4))))
    np.testing.assert_allclose(task_losses(full, X_val, y_val), per_task[4:])


def test_a_refit_that_loses_a_class_of_the_validation_data_says_so():
    X = np.column_stack([np.linspace(-1, 1, 12), np.repeat([0, 1], 6)])
    y = np.array([0, 1] * 6)
    y[5] = 2  # the only training row of class 2
    with pytest.raises(ValueError, match=r"without rows \[5\] no training row is left of a class"):
        loo_effects(MultiTaskLogistic(), X, y, X, y, rows=[5])
    # among other refits: a row of NaN, with a warning, as for any failed refit
    with pytest.warns(FitFailedWarning, match=r"1 of the 2 .* without rows \[5\] no training row"):
        effects = loo_effects(MultiTaskLogistic(), X, y, X, y, rows=[4, 5])
    assert np.isnan(effects[1]).all() and np.isfinite(effects[0]).all()
    with pytest.raises(ValueError, match="probability 0, so their loss and its influence are undefined"):
        MultiTaskLogistic().fit(X[y < 2], y[y < 2]).influence(X, y)
