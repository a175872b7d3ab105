"""TaskGroupedEstimator: grouping, routing to the group models, influence per group."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, KFold

from skmtl import MultiTaskLogistic, MultiTaskRidge, TaskGroupedEstimator
from skmtl.datasets import make_multitask_classification, make_multitask_regression


def conflicting_clusters(seed, n_samples=20, n_features=5):
    """Tasks 0-2 with coefficients near 3 e_1, tasks 3-5 near -3 e_1."""
    kwargs = dict(n_tasks=3, n_samples=n_samples, n_features=n_features, h=0.5, epsilon=0)
    X1, y1 = make_multitask_regression(**kwargs, random_state=seed)
    X2, y2 = make_multitask_regression(**kwargs, random_state=seed + 100)
    X2[:, -1] += 3
    return np.vstack([X1, X2]), np.concatenate([y1, -y2])


BLOCKS = np.kron(np.array([[1.0, -0.5], [-0.5, 1.0]]), np.ones((3, 3)))


@pytest.mark.parametrize("affinity", ["mtif", "higher_order"])
def test_recovers_conflicting_clusters(affinity):
    X, y = conflicting_clusters(0)
    model = TaskGroupedEstimator(MultiTaskRidge(), affinity=affinity, random_state=0).fit(X, y)
    assert_array_equal(model.groups_, [0, 0, 0, 1, 1, 1])
    assert model.affinity_.shape == (6, 6)


def test_predictions_are_those_of_the_group_models_fitted_by_hand():
    X, y = conflicting_clusters(1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)] + ["task"])
    model = TaskGroupedEstimator(MultiTaskRidge(task_col="task"), affinity=BLOCKS).fit(frame, y)
    pred = model.predict(frame)
    for members in ([0, 1, 2], [3, 4, 5]):
        rows = np.isin(X[:, -1], members)
        by_hand = MultiTaskRidge(task_col="task").fit(frame[rows], y[rows])
        assert_array_equal(pred[rows], by_hand.predict(frame[rows]))
    assert model.score(frame, y) > MultiTaskRidge(task_col="task").fit(frame, y).score(frame, y)


def test_classifier_probabilities_are_those_of_the_group_models():
    X, y = make_multitask_classification(n_tasks=4, n_samples=30, n_features=3, n_classes=3,
                                         random_state=0)
    A = np.kron(np.eye(2), np.ones((2, 2)))
    model = TaskGroupedEstimator(MultiTaskLogistic(), affinity=A).fit(X, y)
    for members in ([0, 1], [2, 3]):
        rows = np.isin(X[:, -1], members)
        by_hand = MultiTaskLogistic().fit(X[rows], y[rows])
        assert_allclose(model.predict_proba(X[rows]), by_hand.predict_proba(X[rows]))
        assert_allclose(model.predict_log_proba(X[rows]), by_hand.predict_log_proba(X[rows]))
        assert_array_equal(model.predict(X[rows]), by_hand.predict(X[rows]))
    # scores that order as the probabilities do: the log-probabilities, or for two classes
    # the group model's own log-odds
    assert_array_equal(model.decision_function(X).argmax(axis=1), model.predict_proba(X).argmax(axis=1))
    binary = y % 2
    model = TaskGroupedEstimator(MultiTaskLogistic(), affinity=A).fit(X, binary)
    rows = np.isin(X[:, -1], [0, 1])
    by_hand = MultiTaskLogistic().fit(X[rows], binary[rows])
    assert_allclose(model.decision_function(X[rows]), by_hand.decision_function(X[rows]), rtol=1e-10,
                    atol=1e-12)


def test_one_group_is_the_estimator_and_as_many_groups_as_tasks_is_one_model_per_task():
    X, y = conflicting_clusters(2)
    one = TaskGroupedEstimator(MultiTaskRidge(), n_groups=1).fit(X, y)
    assert_array_equal(one.predict(X), MultiTaskRidge().fit(X, y).predict(X))
    each = TaskGroupedEstimator(MultiTaskRidge(), n_groups=6).fit(X, y)
    assert_array_equal(each.groups_, np.arange(6))
    rows = X[:, -1] == 4
    assert_array_equal(each.predict(X[rows]), MultiTaskRidge().fit(X[rows], y[rows]).predict(X[rows]))


def test_grid_search_over_n_groups():
    X, y = conflicting_clusters(3)
    search = GridSearchCV(
        TaskGroupedEstimator(MultiTaskRidge(), random_state=0), {"n_groups": [1, 2]}, cv=KFold(3, shuffle=True, random_state=0)
    ).fit(X, y)
    assert search.best_params_ == {"n_groups": 2}
    assert_array_equal(search.best_estimator_.groups_, [0, 0, 0, 1, 1, 1])


def test_precomputed_frame_and_callable_affinity():
    X, y = conflicting_clusters(4)
    order = [3, 0, 5, 1, 4, 2]
    frame = pd.DataFrame(BLOCKS[np.ix_(order, order)], index=order, columns=order)
    from_frame = TaskGroupedEstimator(MultiTaskRidge(), affinity=frame, random_state=0).fit(X, y)
    assert_array_equal(from_frame.affinity_, BLOCKS)
    assert_array_equal(from_frame.groups_, [0, 0, 0, 1, 1, 1])
    # as pd.read_csv(..., index_col=0) gives it back: numbers in the index, text in the header
    read_back = frame.set_axis([str(c) for c in order], axis=1)
    from_csv = TaskGroupedEstimator(MultiTaskRidge(), affinity=read_back, random_state=0).fit(X, y)
    assert_array_equal(from_csv.affinity_, BLOCKS)
    with pytest.raises(ValueError, match=r"'s index \[3, 0, 5, 1, 4\] do not hold all the tasks"):
        TaskGroupedEstimator(MultiTaskRidge(), affinity=frame.iloc[:5, :5]).fit(X, y)

    seen = {}

    def measure(estimator, X_fit, y_fit, X_val, y_val):
        seen.update(n_rows=len(X_fit), val=X_val is None)
        return BLOCKS

    from_callable = TaskGroupedEstimator(MultiTaskRidge(), affinity=measure, random_state=0).fit(X, y)
    assert seen == {"n_rows": len(X), "val": True}
    assert_array_equal(from_callable.groups_, from_frame.groups_)


def test_bad_affinity_raises_and_keeps_the_fitted_model():
    X, y = conflicting_clusters(5)
    model = TaskGroupedEstimator(MultiTaskRidge(), affinity=BLOCKS).fit(X, y)
    groups = model.groups_.copy()
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*6 tasks"):
        model.set_params(affinity=np.eye(2)).fit(X, y)
    assert_array_equal(model.groups_, groups)
    with pytest.raises(ValueError, match="takes no sample_weight"):
        model.set_params(affinity="tag").fit(X, y, sample_weight=np.ones(len(y)))


def test_ragged_task_with_two_rows_of_one_class_joins_a_group():
    X, y = make_multitask_classification(n_tasks=3, n_samples=[30, 30, 2], n_features=3,
                                         random_state=0)
    y[-2:] = 1
    # the tiny task alone in its group: it holds one class, so it joins the group
    # it has the highest affinity with (task 1)
    A = np.array([[0, -1, -1], [-1, 0, 1], [-1, 1, 0]], dtype=float)
    model = TaskGroupedEstimator(MultiTaskLogistic(), n_groups=3, affinity=A).fit(X, y)
    assert_array_equal(model.groups_, [0, 1, 1])
    rows = np.isin(X[:, -1], [1, 2])
    by_hand = MultiTaskLogistic().fit(X[rows], y[rows])
    assert_allclose(model.predict_proba(X[rows]), by_hand.predict_proba(X[rows]))


def test_unseen_task_is_the_rows_weighted_mean_of_the_groups():
    X, y = conflicting_clusters(6)
    X = X[X[:, -1] != 5]  # groups of 60 and 40 rows
    y = y[: len(X)]
    model = TaskGroupedEstimator(MultiTaskRidge(), affinity=BLOCKS[:5, :5]).fit(X, y)
    new = X[:4].copy()
    new[:, -1] = 9
    with pytest.warns(UserWarning, match="not seen in fit") as record:
        pred = model.predict(new)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parts = [est.predict(new) for est in model.estimators_]
    assert_allclose(pred, 0.6 * parts[0] + 0.4 * parts[1])


def test_unseen_task_weighs_the_groups_by_their_sample_weights():
    X, y = conflicting_clusters(6)
    X, y = X[X[:, -1] != 5], y[X[:, -1] != 5]  # groups of 60 and 40 rows
    w = np.where(X[:, -1] < 3, 1.0, 3.0)  # weights 60 and 120
    model = TaskGroupedEstimator(MultiTaskRidge(), affinity=BLOCKS[:5, :5]).fit(X, y, sample_weight=w)
    new = X[:4].copy()
    new[:, -1] = 9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pred = model.predict(new)
        parts = [est.predict(new) for est in model.estimators_]
    assert_allclose(pred, parts[0] / 3 + 2 * parts[1] / 3)


def test_influence_and_relatedness_per_group():
    X, y = conflicting_clusters(7)
    X_val, y_val = conflicting_clusters(8)
    X_val, y_val = X_val[X_val[:, -1] != 4], y_val[X_val[:, -1] != 4]
    model = TaskGroupedEstimator(MultiTaskRidge(), affinity=BLOCKS).fit(X, y, X_val=X_val, y_val=y_val)
    R = model.task_relatedness_
    assert_array_equal(R[:3, [3, 5]], 0)
    assert_array_equal(R[3:, :3], 0)
    assert np.isnan(R[:, 4]).all()  # task 4 has no validation rows
    first = X_val[:, -1] < 3
    assert_allclose(R[:3, :3], model.estimators_[0].task_relatedness(X_val[first], y_val[first]))
    exact = model.task_relatedness(X_val, y_val, method="exact")
    assert_allclose(exact[:3, :3], model.estimators_[0].task_relatedness(
        X_val[first], y_val[first], method="exact"))
    influence = model.influence_
    rows = X[:, -1] < 3
    assert influence.shape == (len(X), 6)
    assert_allclose(influence[np.ix_(rows, [0, 1, 2])],
                    model.estimators_[0].influence(X_val[first], y_val[first]))
    assert_array_equal(influence[np.ix_(rows, [3, 5])], 0)


def test_display_orders_tasks_by_cluster_and_by_the_fitted_groups():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skmtl.plotting import TaskRelatednessDisplay

    X, y = conflicting_clusters(9)
    labels = np.array([0, 3, 1, 4, 2, 5])  # the clusters {0, 3, 1} and {4, 2, 5}, interleaved
    X[:, -1] = labels[X[:, -1].astype(int)]
    clusters = [{0, 1, 3}, {2, 4, 5}]
    disp = TaskRelatednessDisplay.from_estimator(MultiTaskRidge().fit(X, y), groups="cluster")
    assert [set(disp.order_[:3]), set(disp.order_[3:])] in (clusters, clusters[::-1])
    assert disp.empty_text_ == []

    grouped = TaskGroupedEstimator(MultiTaskRidge(), random_state=0).fit(X, y)
    assert_array_equal(grouped.groups_, [0, 0, 1, 0, 1, 1])
    X_val, y_val = X[X[:, -1] != 2], y[X[:, -1] != 2]  # task 2 without validation rows
    disp = TaskRelatednessDisplay.from_estimator(grouped, X_val, y_val, groups=grouped)
    assert_array_equal(disp.order_, [0, 1, 3, 2, 4, 5])
    assert len(disp.ax_.lines) == 2  # one boundary, across and down
    [note] = disp.empty_text_
    assert note.get_text() == "no validation rows"
    assert note.get_position()[0] == 3  # task 2's column, shown fourth
    plt.close("all")


def test_select_source_tasks_thresholds_and_orders_each_target_column():
    from skmtl.relatedness import select_source_tasks

    A = np.array([[9.0, 0.5, -1.0, 0.2], [0.2, 9.0, 0.3, np.nan], [-0.4, 0.7, 9.0, 0.1],
                  [0.0, 0.1, 0.4, 9.0]])
    selected = select_source_tasks(A)
    assert list(selected) == [0, 1, 2, 3]
    assert_array_equal(selected[1], [2, 0, 3])  # most helpful first, never the target itself
    assert_array_equal(selected[3], [0, 2])  # NaN selects nothing
    assert_array_equal(select_source_tasks(A, threshold=0.45)[1], [2, 0])
    frame = pd.DataFrame(A, index=list("abcd"), columns=list("abcd"))
    assert_array_equal(select_source_tasks(frame)["b"], ["c", "a", "d"])


def test_surrogate_selection_agrees_with_exact_leave_one_task_out_on_clear_pairs():
    from skmtl.relatedness import select_source_tasks, surrogate_affinity

    X, y = conflicting_clusters(10)
    X_val, y_val = conflicting_clusters(11)
    A = surrogate_affinity(MultiTaskRidge(), X, y, X_val, y_val, n_subsets=30, random_state=0)
    exact = MultiTaskRidge().fit(X, y).task_relatedness(X_val, y_val, method="exact")
    selected = select_source_tasks(A)
    clear = 0
    for target in range(6):
        for source in set(range(6)) - {target}:
            if abs(exact[source, target]) > 0.5:  # removing the source moves the loss clearly
                clear += 1
                assert (source in selected[target]) == (exact[source, target] > 0)
    assert clear >= 12


def test_more_groups_than_tasks_say_every_task_trains_alone():
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    with pytest.warns(UserWarning, match="n_groups=5 exceeds the 3 tasks of X: every task trains alone"):
        grouped = TaskGroupedEstimator(MultiTaskRidge(), n_groups=5).fit(X, y)
    assert_array_equal(grouped.groups_, [0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        TaskGroupedEstimator(MultiTaskRidge(), n_groups=3).fit(X, y)  # as many: as documented


def test_a_network_that_decides_its_kind_in_fit_groups_as_a_classifier():
    # task_types=None: the unfitted net is neither a classifier nor a regressor
    from skmtl.network import SharedBottomNet

    X, y = make_multitask_classification(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    net = SharedBottomNet(hidden_layer_sizes=(4,), solver="lbfgs", max_epochs=50, device="cpu",
                          random_state=0, projection_dim=None)
    model = TaskGroupedEstimator(net, n_groups=2, random_state=0).fit(X, y)
    assert is_classifier(model)
    assert_array_equal(model.classes_, [0, 1])
    assert model.score(X, y) == np.mean(model.predict(X) == y)
    assert model.predict_proba(X).shape == (len(X), 2)


def test_the_score_and_target_tags_are_the_group_models():
    from sklearn.metrics import d2_tweedie_score
    from sklearn.utils import get_tags

    from skmtl import MultiTaskPoisson
    from skmtl.datasets import make_multitask_counts

    X, y = make_multitask_counts(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    model = TaskGroupedEstimator(MultiTaskPoisson(), n_groups=2, random_state=0).fit(X, y)
    assert model.score(X, y) == d2_tweedie_score(y, model.predict(X), power=1)
    assert get_tags(model).target_tags.positive_only


def test_fitted_attributes_do_not_follow_later_changes_of_the_validation_data():
    X, y = conflicting_clusters(0)
    X_val, y_val = X.copy(), y.copy()
    model = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    y_val += 100.0
    assert_allclose(model.task_relatedness_, model.task_relatedness(X, y))


def test_around_a_pipeline_the_task_column_is_the_feature_transformers():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer
    from skmtl.relatedness import surrogate_affinity

    X, y = conflicting_clusters(0)
    frame = pd.DataFrame(X[:, :-1], columns=list("abcde")).assign(task=X[:, -1].astype(int))
    frame = frame[["task", *"abcde"]]  # the task column first
    pipe = make_pipeline(make_feature_transformer(StandardScaler(), task_col="task"), MultiTaskRidge())
    model = TaskGroupedEstimator(pipe, n_groups=2, random_state=0).fit(frame, y)
    assert_array_equal(model.tasks_, np.arange(6))
    assert surrogate_affinity(pipe, frame, y, random_state=0).shape == (6, 6)


def test_influence_streams_in_blocks_of_the_training_rows():
    X, y = conflicting_clusters(0)
    order = np.random.default_rng(0).permutation(len(y))  # the groups' rows interleave
    X, y = X[order], y[order]
    model = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0).fit(X, y)
    X_val, y_val = X[X[:, -1] != 4], y[X[:, -1] != 4]  # task 4 without validation rows
    want = model.influence(X_val, y_val, method="exact")
    blocks = list(model.influence_chunked(X_val, y_val, method="exact", working_memory=0.0005))
    assert len(blocks) > 3
    assert_allclose(np.vstack(blocks), want)
    starts = model.influence_chunked(X_val, y_val, reduce_func=lambda block, start: start,
                                     working_memory=0.0005)
    assert list(starts) == list(np.cumsum([0] + [len(b) for b in blocks[:-1]]))
    weights = np.arange(6.0)
    assert_allclose(model.influence_total(X_val, y_val, method="exact", task_weights=weights),
                    np.nansum(want * weights, axis=1))
    # as the single models' influence_total: only task 4, which has no validation rows
    with pytest.warns(UserWarning, match="every total is NaN"):
        assert np.isnan(model.influence_total(X_val, y_val, task_weights=np.eye(6)[4])).all()


def test_spectral_grouping_with_a_group_per_task_is_silent():
    from skmtl.relatedness import group_tasks

    A = np.random.default_rng(0).normal(size=(3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert group_tasks(A, 3, random_state=0).tolist() == [0, 1, 2]


def test_tag_grouping_of_a_recording_network_with_validation_data_says_what_to_change():
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    net = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, device="cpu", random_state=0)
    with pytest.raises(ValueError, match="affinity='tag' with SharedBottomNet records TAG on its "
                       "training batches, so it cannot be measured on the X_val/y_val given to fit"):
        TaskGroupedEstimator(net, affinity="tag").fit(X, y, X_val=X, y_val=y)


def test_grouped_estimator_groups_with_tags_own_normalization():
    from skmtl.relatedness import group_tasks

    X, y = make_multitask_regression(n_tasks=5, n_samples=20, n_features=3, random_state=0)
    rng = np.random.default_rng(0)
    for _ in range(30):  # an affinity whose two scalings group differently
        A = rng.normal(size=(5, 5))
        np.fill_diagonal(A, rng.uniform(0.5, 2.0, 5))
        own = group_tasks(A, 3, method="tag", scale="self")
        if not np.array_equal(own, group_tasks(A, 3, method="tag")):
            break
    model = TaskGroupedEstimator(MultiTaskRidge(), n_groups=3, affinity=A, grouping="tag",
                                 scale="self").fit(X, y)
    np.testing.assert_array_equal(model.groups_, own)
    with pytest.raises(ValueError, match="scale='self' is TAG's normalization, for grouping='tag'"):
        TaskGroupedEstimator(MultiTaskRidge(), n_groups=3, affinity=A, scale="self").fit(X, y)


def test_tag_grouping_of_a_pipeline_measures_its_model_on_the_data_as_it_sees_it():
    """affinity='tag' with a pipeline was refused with a hint for tag_affinity
    that a grouped estimator cannot follow (a fresh reader); it now measures
    TAG of the pipeline's model on the data its steps hand it."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer
    from skmtl.relatedness import tag_affinity

    X, y = make_multitask_regression(n_tasks=4, n_samples=20, n_features=3, random_state=0)
    X_val, y_val = make_multitask_regression(n_tasks=4, n_samples=10, n_features=3, random_state=1)
    scaler = make_feature_transformer(StandardScaler())
    pipe = make_pipeline(scaler, MultiTaskRidge())
    model = TaskGroupedEstimator(pipe, affinity="tag", random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    fitted = clone(scaler).fit(X, y)
    expected = tag_affinity(MultiTaskRidge(), fitted.transform(X), y, fitted.transform(X_val), y_val)
    np.testing.assert_allclose(model.affinity_, expected, rtol=1e-12, atol=1e-15)
    assert model.predict(X).shape == y.shape
