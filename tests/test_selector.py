"""MTIFSelector: exact pipeline equivalence, known rankings, containers, errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, LeaveOneOut
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

import skmtl
from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.model_selection import TaskStratifiedKFold
from skmtl.selection import MTIFSelector


@pytest.fixture
def clf_data():
    X, y = make_multitask_classification(n_tasks=4, n_samples=40, n_features=3, random_state=0)
    return X, y


@pytest.fixture
def reg_data():
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    return X, y


class FeatureInfluence(BaseEstimator):
    """Duck-typed model whose influence is minus the first feature of each row."""

    def __init__(self, task_col=-1):
        self.task_col = task_col

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.tasks_ = np.unique(X[:, -1])
        self.first_ = X[:, 0]
        return self

    def influence(self, X_val, y_val):
        return -np.repeat(self.first_[:, None], len(self.tasks_), axis=1)


@pytest.mark.parametrize("model", [MultiTaskLogistic(alpha=0.5), MultiTaskRidge(alpha=0.5)])
def test_pipeline_equals_model_on_kept_rows(clf_data, reg_data, model):
    X, y = clf_data if isinstance(model, MultiTaskLogistic) else reg_data
    pipe = make_pipeline(
        MTIFSelector(model, removal_ratio=0.2, cv=3, random_state=0, strategy="influence"), model
    ).fit(X, y)
    kept = pipe[0].sample_indices_
    alone = MultiTaskLogistic if isinstance(model, MultiTaskLogistic) else MultiTaskRidge
    alone = alone(alpha=0.5).fit(X[kept], y[kept])
    np.testing.assert_array_equal(pipe[-1].coef_, alone.coef_)
    np.testing.assert_array_equal(pipe[-1].intercept_, alone.intercept_)
    np.testing.assert_array_equal(pipe.predict(X), alone.predict(X))
    assert len(kept) == len(y) - int(0.2 * len(y))


def test_fit_transform_marks_removed_rows_and_transform_is_identity(clf_data):
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.15, cv=3, random_state=0, strategy="influence")
    Xt = sel.fit_transform(X, y)
    removed = np.setdiff1d(np.arange(len(y)), sel.sample_indices_)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(Xt[:, -1])), removed)
    np.testing.assert_array_equal(Xt[sel.sample_indices_], X[sel.sample_indices_])
    np.testing.assert_array_equal(Xt[removed, :-1], X[removed, :-1])
    assert sel.transform(X) is X
    # the removed rows are the lowest scores
    assert sel.scores_[removed].max() <= sel.scores_[sel.sample_indices_].min()
    np.testing.assert_allclose(sel.scores_, sel.influence_.sum(axis=1))


def test_influence_against_validation_data_is_the_estimators(reg_data):
    X, y = reg_data
    X_val, y_val = make_multitask_regression(
        n_tasks=3, n_samples=10, n_features=4, random_state=1
    )
    sel = MTIFSelector(MultiTaskRidge(), removal_ratio=0.1, strategy="influence").fit(X, y, X_val=X_val, y_val=y_val)  # None -> ridge
    expected = MultiTaskRidge().fit(X, y).influence(X_val, y_val)
    np.testing.assert_array_equal(sel.influence_, expected)
    sel.set_params(target_weights={2: 1.0}).fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(sel.scores_, expected[:, 2])
    sel.set_params(target_weights=[1.0, 0.0, 2.0]).fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(sel.scores_, expected[:, 0] + 2 * expected[:, 2])


def test_step_rescores_the_remaining_rows_each_round(clf_data):
    X, y = clf_data
    X_val, y_val = make_multitask_classification(n_tasks=4, n_samples=15, n_features=3, random_state=1)
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, step=0.05, strategy="influence")
    sel.fit(X, y, X_val=X_val, y_val=y_val)
    # 160 rows: 32 to remove, 8 per round
    remaining = np.arange(len(y))
    for _ in range(4):
        scores = MultiTaskLogistic().fit(X[remaining], y[remaining]).influence(X_val, y_val)
        order = np.argsort(scores.sum(axis=1), kind="stable")
        remaining, scores = remaining[np.sort(order[8:])], scores[np.sort(order[8:])]
    assert sel.n_rounds_ == 4
    np.testing.assert_array_equal(sel.sample_indices_, remaining)
    np.testing.assert_allclose(sel.influence_[remaining], scores, rtol=1e-12)  # the last round's
    # the rounds moved the ranking: one-shot removal differs
    one_shot = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, strategy="influence").fit(X, y, X_val=X_val, y_val=y_val)
    assert one_shot.n_rounds_ == 1
    assert not np.array_equal(one_shot.sample_indices_, sel.sample_indices_)
    # a step as large as the removal is one round, the one-shot removal
    sel.set_params(step=0.5).fit(X, y, X_val=X_val, y_val=y_val)
    assert sel.n_rounds_ == 1
    np.testing.assert_array_equal(sel.sample_indices_, one_shot.sample_indices_)


def test_auto_with_step_removes_what_a_run_to_the_chosen_share_removes(clf_data):
    X, y = clf_data
    X_val, y_val = make_multitask_classification(n_tasks=4, n_samples=30, n_features=3, random_state=1)
    flipped = np.where((y == 1) & (np.arange(len(y)) % 2 == 0), 0, y)  # positives read 0
    auto = MTIFSelector(MultiTaskLogistic(), strategy="influence", step=0.05, random_state=0).fit(
        X, flipped, X_val=X_val, y_val=y_val)
    assert auto.n_rounds_ == 6  # the rounds run to 30 %, 8 rows each
    assert auto.removal_ratio_ >= 0.1  # the chosen share spans several rounds
    fixed = MTIFSelector(MultiTaskLogistic(), removal_ratio=auto.removal_ratio_, step=0.05,
                         strategy="influence")
    fixed.fit(X, flipped, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(auto.sample_indices_, fixed.sample_indices_)


def test_step_with_cross_fitting_in_a_pipeline(clf_data):
    X, y = clf_data
    X = X.copy()
    X[:5, -1] = np.nan  # rows without a task are never scored, kept or removed
    model = MultiTaskLogistic(alpha=0.5)
    pipe = make_pipeline(MTIFSelector(model, removal_ratio=0.25, step=0.1, cv=3, random_state=0, strategy="influence"), model)
    pipe.fit(X, y)
    sel = pipe[0]
    assert sel.n_rounds_ == 3  # 155 rows with a task: 38 to remove, 15 per round
    assert len(sel.sample_indices_) == 155 - 38
    assert not np.isin(np.arange(5), sel.sample_indices_).any()
    assert np.isnan(sel.scores_[:5]).all() and np.isfinite(sel.scores_[5:]).all()
    kept = sel.sample_indices_
    np.testing.assert_array_equal(pipe[-1].coef_, MultiTaskLogistic(alpha=0.5).fit(X[kept], y[kept]).coef_)


def test_step_with_user_splits_lists_generators_and_leave_one_out():
    X, y = make_multitask_classification(n_tasks=3, n_samples=8, n_features=2, random_state=0)
    n = len(y)  # 24 rows, 8 per task
    halves = [(list(range(0, n, 2)), list(range(1, n, 2))), (list(range(1, n, 2)), list(range(0, n, 2)))]
    one_shot = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.25, cv=halves, strategy="influence").fit(X, y)
    masks = [(np.isin(np.arange(n), a), np.isin(np.arange(n), b)) for a, b in halves]
    np.testing.assert_array_equal(
        MTIFSelector(MultiTaskLogistic(), removal_ratio=0.25, cv=masks, strategy="influence").fit(X, y).sample_indices_, one_shot.sample_indices_
    )
    # a generator is drawn once and its splits serve every round
    stepped = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.25, step=0.1, cv=(s for s in halves), strategy="influence").fit(X, y)
    assert stepped.n_rounds_ == 3 and len(stepped.sample_indices_) == n - 6
    np.testing.assert_array_equal(
        stepped.sample_indices_,
        MTIFSelector(MultiTaskLogistic(), removal_ratio=0.25, step=0.1, cv=halves, strategy="influence").fit(X, y).sample_indices_,
    )
    # leave-one-out: the folds whose held-out row was removed are skipped
    loo = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.25, step=0.1, cv=LeaveOneOut(), strategy="influence").fit(X, y)
    assert loo.n_rounds_ == 3 and len(loo.sample_indices_) == n - 6


def test_step_with_validation_fraction_scores_rows_held_out_earlier(clf_data):
    X, y = clf_data
    one_shot = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, validation_fraction=0.25, random_state=0, strategy="influence").fit(X, y)
    assert np.isnan(one_shot.scores_).sum() == 40
    stepped = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, validation_fraction=0.25, step=0.05, random_state=0, strategy="influence")
    stepped.fit(X, y)
    assert stepped.n_rounds_ == 4 and len(stepped.sample_indices_) == 160 - 32
    assert np.isnan(stepped.scores_).sum() < 40  # a fresh held-out part each round


def test_random_strategy_ignores_step_and_says_so(clf_data):
    X, y = clf_data
    plain = MTIFSelector(MultiTaskLogistic(), strategy="random", removal_ratio=0.2, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="step applies only to strategy='influence' and is ignored "
                      "by strategy='random'. Pass strategy='influence'"):
        stepped = MTIFSelector(MultiTaskLogistic(), strategy="random", removal_ratio=0.2, step=0.05,
                               random_state=0).fit(X, y)
    np.testing.assert_array_equal(plain.sample_indices_, stepped.sample_indices_)
    assert stepped.n_rounds_ == 0


def test_influence_options_under_the_default_strategy_warn(clf_data):
    # MTIFSelector(model, removal_ratio=0.2, step=0.05) reads like the paper's re-scored
    # influence, but the default strategy is the noise model, which ranks once
    X, y = clf_data
    with pytest.warns(UserWarning, match=r"step and target_weights apply only to "
                      r"strategy='influence' and are ignored by strategy='label-noise' \(what "
                      r"strategy='auto' uses\)"):
        sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, step=0.05,
                           target_weights={0: 1}, random_state=0).fit(X, y)
    assert sel.strategy_ == "label-noise" and sel.n_rounds_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MTIFSelector(MultiTaskLogistic(), strategy="influence", removal_ratio=0.2, step=0.05,
                     target_weights={0: 1}, random_state=0).fit(X, y)


def test_a_task_removed_entirely_is_named(clf_data):
    X, y = clf_data
    X = np.vstack([X, np.column_stack([np.zeros((2, 3)), [9, 9]])])
    y = np.r_[y, 0, 1]
    outcomes = set()
    for seed in range(6):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sel = MTIFSelector(MultiTaskLogistic(), strategy="random", removal_ratio=0.9,
                               random_state=seed).fit(X, y)
        named = [w for w in caught if "removed every row of 1 task(s) [9]" in str(w.message)]
        vanished = 9 not in X[sel.sample_indices_, -1]
        assert len(named) == vanished
        assert set(X[sel.sample_indices_, -1]) >= {0, 1, 2, 3}  # the large tasks keep rows
        outcomes.add(vanished)
    assert outcomes == {True, False}


@pytest.mark.parametrize("step", [0, 1.0, -0.1])
def test_step_out_of_range(clf_data, step):
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match="step"):
        MTIFSelector(MultiTaskLogistic(), step=step, strategy="influence", removal_ratio=0.1).fit(X, y)


def test_default_estimator_for_classes_is_logistic(clf_data):
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), strategy="influence", removal_ratio=0.1).fit(X, y, X_val=X, y_val=y)
    np.testing.assert_array_equal(sel.influence_, MultiTaskLogistic().fit(X, y).influence(X, y))


def test_cross_fitting_averages_the_folds(clf_data):
    X, y = clf_data
    splits = list(TaskStratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    sel = MTIFSelector(MultiTaskLogistic(), cv=splits, strategy="influence", removal_ratio=0.1).fit(X, y)
    total, count = np.zeros((len(y), 4)), np.zeros((len(y), 1))
    for train, test in splits:
        total[train] += MultiTaskLogistic().fit(X[train], y[train]).influence(X[test], y[test])
        count[train] += 1
    np.testing.assert_allclose(sel.influence_, total / count, rtol=1e-12, atol=1e-15)
    # an int cv gives shuffled task-stratified folds, reproducible with random_state
    a = MTIFSelector(MultiTaskLogistic(), cv=3, random_state=0, strategy="influence", removal_ratio=0.1).fit(X, y).influence_
    np.testing.assert_array_equal(a, MTIFSelector(MultiTaskLogistic(), cv=3, random_state=0, strategy="influence", removal_ratio=0.1).fit(X, y).influence_)


@pytest.mark.parametrize("fit_val", [True, False])
def test_over_the_memory_limit_rows_are_ranked_by_their_totals(clf_data, fit_val):
    # influence_ (n x K) above max_result_memory: per-row totals from
    # influence_total, the same ranking, and no n x K array kept
    X, y = clf_data
    val = {"X_val": X[::3], "y_val": y[::3]} if fit_val else {}
    weights = {0.0: 1.0, 1.0: 0.5, 3.0: 2.0}
    params = dict(strategy="influence", removal_ratio=0.2, cv=3, random_state=0,
                  target_weights=weights)
    full = MTIFSelector(MultiTaskLogistic(), **params).fit(X, y, **val)
    limit = 0.5 * full.influence_.nbytes / 2**20
    with skmtl.config_context(max_result_memory=limit):
        with pytest.warns(UserWarning, match="influence_ is not kept"):
            totals = MTIFSelector(MultiTaskLogistic(), **params).fit(X, y, **val)
    assert totals.influence_ is None and full.influence_ is not None
    np.testing.assert_allclose(totals.scores_, full.scores_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(totals.sample_indices_, full.sample_indices_)
    # a model without influence_total cannot rank by totals: a clear error
    with skmtl.config_context(max_result_memory=1e-9):
        with pytest.raises(MemoryError, match="has no influence_total"):
            MTIFSelector(FeatureInfluence(), strategy="influence", removal_ratio=0.1).fit(
                X, y, X_val=X, y_val=y)


def test_validation_fraction_never_removes_held_out_rows(clf_data):
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.3, validation_fraction=0.25, random_state=0, strategy="influence").fit(X, y)
    held_out = np.flatnonzero(np.isnan(sel.scores_))
    assert len(held_out) == 40  # a quarter of 160 rows, task-stratified
    np.testing.assert_array_equal(np.unique(X[held_out, -1], return_counts=True)[1], [10] * 4)
    assert np.isin(held_out, sel.sample_indices_).all()
    with pytest.raises(ValueError, match=r"remove 144 of 160 rows, but scoring 1 scored only 120 of the 160 rows left \(the held-out"):
        sel.set_params(removal_ratio=0.9).fit(X, y)


def test_rows_outside_every_cv_training_part_are_not_removable(clf_data):
    X, y = clf_data
    within_task = np.concatenate([np.arange(40)] * 4)  # rows come grouped by task, 40 each
    a, b = np.flatnonzero(within_task < 10), np.flatnonzero((within_task >= 10) & (within_task < 20))
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.6, cv=[(a, b), (b, a)], strategy="influence")
    with pytest.raises(ValueError, match=r"scored only 80 of the 160 rows left \(rows in no training part"):
        sel.fit(X, y)


def test_duck_typed_estimator_known_ranking(clf_data):
    X, y = clf_data
    sel = MTIFSelector(FeatureInfluence(), removal_ratio=0.25, strategy="influence").fit(X, y, X_val=X, y_val=y)
    removed = np.setdiff1d(np.arange(len(y)), sel.sample_indices_)
    np.testing.assert_array_equal(np.sort(removed), np.sort(np.argsort(X[:, 0])[-40:]))
    with pytest.raises(InvalidParameterError, match="implementing 'fit'"):
        MTIFSelector(MultiTaskLogistic().fit(X, y).predict, strategy="influence", removal_ratio=0.1).fit(X, y)
    with pytest.raises(TypeError, match="has no influence method.*label-noise"):
        MTIFSelector(LogisticRegression(), strategy="influence", removal_ratio=0.1).fit(X, y)


def test_random_strategy(clf_data):
    X, y = clf_data
    sel = MTIFSelector(FeatureInfluence(), removal_ratio=0.25, strategy="random", random_state=3)
    kept = sel.fit(X, y).sample_indices_
    assert sel.influence_ is None and len(kept) == 120
    np.testing.assert_array_equal(kept, sel.fit(X, y).sample_indices_)
    assert not np.array_equal(kept, sel.set_params(random_state=4).fit(X, y).sample_indices_)


@pytest.mark.parametrize("ratio", [1.0, -0.1, 1.5])
def test_removal_ratio_out_of_range(clf_data, ratio):
    X, y = clf_data
    with pytest.raises(InvalidParameterError, match=r"removal_ratio.*\[0(\.0)?, 1(\.0)?\)"):
        MTIFSelector(MultiTaskLogistic(), removal_ratio=ratio, strategy="influence").fit(X, y)


def test_zero_ratio_keeps_every_row_and_bad_weights(clf_data):
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0, cv=2, strategy="influence").fit(X, y)
    np.testing.assert_array_equal(sel.sample_indices_, np.arange(len(y)))
    with pytest.raises(ValueError, match=r"tasks \[9\]"):
        MTIFSelector(MultiTaskLogistic(), target_weights={9: 1.0}, cv=2, strategy="influence", removal_ratio=0.1).fit(X, y)
    with pytest.raises(ValueError, match="one weight per task"):
        MTIFSelector(MultiTaskLogistic(), target_weights=[1, 2], cv=2, strategy="influence", removal_ratio=0.1).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        MTIFSelector(MultiTaskLogistic(), target_weights=[1, -1, 0, 0], cv=2, strategy="influence", removal_ratio=0.1).fit(X, y)
    for weights in ({0: "high"}, ["a", "b", "c", "d"], {0: "2", 1: "0"}):
        with pytest.raises(ValueError, match="must hold numbers"):
            MTIFSelector(MultiTaskLogistic(), target_weights=weights, cv=2, strategy="influence", removal_ratio=0.1).fit(X, y)


def test_half_given_validation_data_is_an_error_for_every_strategy(clf_data):
    X, y = clf_data
    for strategy in ("influence", "random"):
        with pytest.raises(ValueError, match="both X_val and y_val"):
            MTIFSelector(MultiTaskLogistic(), strategy=strategy, cv=2, removal_ratio=0.1).fit(X, y, X_val=X)


def test_failed_fit_keeps_fitted_state(clf_data):
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=2, random_state=0, strategy="influence").fit(X, y)
    kept = sel.sample_indices_.copy()
    with pytest.raises(ValueError, match="rows"):
        sel.fit(X, y[:-1])
    np.testing.assert_array_equal(sel.sample_indices_, kept)


def test_missing_task_rows_are_neither_kept_nor_scored(clf_data):
    X, y = clf_data
    X = X.copy()
    X[:5, -1] = np.nan
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=3, random_state=0, strategy="influence").fit(X, y)
    assert not np.isin(np.arange(5), sel.sample_indices_).any()
    assert np.isnan(sel.influence_[:5]).all() and np.isfinite(sel.influence_[5:]).all()
    assert len(sel.sample_indices_) == 155 - 15


def test_dataframes_keep_their_type_and_task_dtype(clf_data):
    X, y = clf_data
    df = pd.DataFrame(X[:, :-1], columns=["a", "b", "c"])
    df["task"] = X[:, -1].astype(int)
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, task_col="task", cv=2, random_state=0, strategy="influence")
    out = sel.fit_transform(df, y)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(df.columns)
    assert out["task"].isna().sum() == 16 and df["task"].dtype.kind == "i"
    np.testing.assert_array_equal(sel.get_feature_names_out(), ["a", "b", "c", "task"])
    df["task"] = np.array(list("wxyz"))[X[:, -1].astype(int)]
    out = sel.fit_transform(df, y)
    assert out["task"].isna().sum() == 16 and out["task"].dropna().isin(list("wxyz")).all()
    pipe = make_pipeline(sel, MultiTaskLogistic(task_col="task")).fit(df, y)
    np.testing.assert_array_equal(pipe[-1].tasks_, list("wxyz"))
    obj = np.column_stack([X[:, :-1], df["task"].to_numpy()]).astype(object)
    marked = sel.set_params(task_col=-1).fit_transform(obj, y)
    assert sum(v is None for v in marked[:, -1]) == 16


def test_fit_resample_and_imblearn_pipeline(clf_data):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    X, y = clf_data
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, cv=3, random_state=0, strategy="influence")
    X_res, y_res = sel.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X[sel.sample_indices_])
    np.testing.assert_array_equal(y_res, y[sel.sample_indices_])
    with pytest.raises(TypeError, match="implements both"):
        imblearn_pipeline.make_pipeline(sel, MultiTaskLogistic()).fit(X, y)
    sampler = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, cv=3, random_state=0, sampler=True, strategy="influence")
    assert not hasattr(sampler, "transform") and not hasattr(sampler, "fit_transform")
    imb = imblearn_pipeline.make_pipeline(sampler, MultiTaskLogistic()).fit(X, y)
    plain = make_pipeline(sel, MultiTaskLogistic()).fit(X, y)
    np.testing.assert_array_equal(imb[-1].coef_, plain[-1].coef_)


def test_grid_search_and_set_output(clf_data):
    X, y = clf_data
    rng = np.random.default_rng(0)
    y = np.where(rng.random(len(y)) < 0.2, 1 - y, y)
    pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), cv=2, random_state=0, strategy="influence", removal_ratio=0.1), MultiTaskLogistic())
    search = GridSearchCV(pipe, {"mtifselector__removal_ratio": [0.0, 0.1]}, cv=2).fit(X, y)
    assert search.best_params_["mtifselector__removal_ratio"] in (0.0, 0.1)
    assert pipe.set_output(transform="pandas") is pipe


def test_removes_corrupted_rows_on_synthetic_data():
    X, y = make_multitask_classification(n_tasks=5, n_samples=200, n_features=5, random_state=0)
    rng = np.random.default_rng(0)
    corrupted = rng.random(len(y)) < 0.1
    y = np.where(corrupted, 1 - y, y)
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, random_state=0, strategy="influence").fit(X, y)
    removed = np.setdiff1d(np.arange(len(y)), sel.sample_indices_)
    assert corrupted[removed].mean() >= 2 * corrupted.mean()


def test_every_row_its_own_task_keeps_every_row_with_a_warning(clf_data):
    X, y = clf_data
    X = X.copy()
    X[:, -1] = np.arange(len(y))  # e.g. a feature taken for the task column
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.2, step=0.1, random_state=0, strategy="influence")
    for scheme in ({}, {"validation_fraction": 0.2}):
        with pytest.warns(UserWarning, match="No task of X has two rows.*every row is kept"):
            Xt = sel.set_params(**scheme).fit_transform(X, y)
        np.testing.assert_array_equal(sel.sample_indices_, np.arange(len(y)))
        np.testing.assert_array_equal(Xt, X)
        assert sel.n_rounds_ == 0 and np.isnan(sel.scores_).all() and np.isnan(sel.influence_).all()


def test_fewer_rows_to_hold_out_than_folds_cross_fits_with_fewer_folds():
    X, y = make_multitask_regression(n_tasks=12, n_samples=1, n_features=3, random_state=0)
    X[:3, -1] = 0  # task 0 has 3 rows, tasks 3 .. 11 one each: 3 rows can be held out
    with pytest.warns(UserWarning, match=r"Only 3 rows of X can be held out.*cv=5.*with 3 folds"):
        sel = MTIFSelector(MultiTaskRidge(), removal_ratio=0.25, random_state=0, strategy="influence").fit(X, y)
    three = MTIFSelector(MultiTaskRidge(), removal_ratio=0.25, cv=3, random_state=0, strategy="influence").fit(X, y)
    np.testing.assert_array_equal(sel.influence_, three.influence_)
    np.testing.assert_array_equal(sel.sample_indices_, three.sample_indices_)
    assert np.isfinite(sel.scores_).all() and len(sel.sample_indices_) == 12 - 3


def test_validation_data_of_unseen_tasks_is_named(reg_data):
    X, y = reg_data
    X_val = X.copy()
    X_val[:, -1] += 10
    sel = MTIFSelector(MultiTaskRidge(), cv=2, strategy="influence", removal_ratio=0.1)
    with warnings.catch_warnings():  # the error alone, no warning about the same rows first
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"None of the task labels of X_val \[10, 11, 12\] is a task of X \[0, 1, 2\]"):
            sel.fit(X, y, X_val=X_val, y_val=y)
    X_val[:, -1] = X[:, -1] + 0.5  # a scaled task column: the types differ, and the error says so
    with pytest.raises(ValueError, match=r"rows of X_val were seen in fit: they are float .*make_feature_transformer"):
        sel.fit(X, y, X_val=X_val, y_val=y)
    X_val[:, -1] = np.nan
    with pytest.raises(ValueError, match=r"X_val \(none given\)"):
        sel.fit(X, y, X_val=X_val, y_val=y)
    with pytest.raises(ValueError, match=r"Invalid X_val .*: X has 4 features, but MTIFSelector is expecting 5"):
        sel.fit(X, y, X_val=X[:, 1:], y_val=y)
    for strategy in ("influence", "label-noise"):
        with pytest.raises(ValueError, match=r"X_val has 20 rows but y_val has 19; they must match"):
            sel.set_params(strategy=strategy).fit(X, y, X_val=X[:20], y_val=y[:19])


def test_validation_rows_that_skipped_the_pipelines_scaler_are_named():
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer

    X, y = make_multitask_classification(n_tasks=3, n_samples=60, n_features=3, random_state=0)
    X = pd.DataFrame(X, columns=["age", "income", "dose", "site"])
    X["income"] = 1e3 * X["income"] + 5e4  # in its own unit: the scaler matters
    X_val, y_val = X.iloc[::3], y[::3]
    pipe = make_pipeline(
        make_feature_transformer(StandardScaler(), task_col="site"),
        MTIFSelector(MultiTaskLogistic(), strategy="influence", removal_ratio=0.1, random_state=0),
        MultiTaskLogistic(),
    ).set_output(transform="pandas")
    with pytest.warns(UserWarning, match=r"X_val's column 'income' is centred at 4\.96\de\+04, \d+ standard "
                      r"deviations from its mean in the training data \(0 ± 1\)"
                      r".*pipe\[:i\]\.transform\(X_val\)"):
        pipe.fit(X, y, mtifselector__X_val=X_val, mtifselector__y_val=y_val)
    with warnings.catch_warnings():  # transformed as the tip says: silent, whatever its own spread
        warnings.filterwarnings("error", message="X_val's column")
        pipe.fit(X, y, mtifselector__X_val=pipe[:1].transform(X_val), mtifselector__y_val=y_val)
        pipe.fit(X, y, mtifselector__X_val=pipe[:1].transform(X_val.iloc[:6]), mtifselector__y_val=y_val[:6])
        pipe.fit(X, y, mtifselector__X_val=X_val.iloc[:4], mtifselector__y_val=y_val[:4])  # too few to tell


def test_label_noise_names_the_sample_weight_it_needs(clf_data):
    class NoWeights(LogisticRegression):
        def fit(self, X, y):
            return super().fit(X, y)

    with pytest.raises(TypeError, match="NoWeights.fit takes no sample_weight"):
        MTIFSelector(NoWeights()).fit(*clf_data)
    with pytest.raises(TypeError, match="NoWeights.fit takes no sample_weight"):
        MTIFSelector(make_pipeline(FunctionTransformer(), NoWeights())).fit(*clf_data)


def test_label_noise_weighs_the_rows_of_a_pipelines_last_step(clf_data):
    """A pipeline takes the row weights of the noise model's fits as
    ``<last step>__sample_weight`` (it was refused: 'Pipeline.fit takes no
    sample_weight', a fresh reader): with a step that changes nothing, the
    same selection as the bare model."""
    X, y = clf_data
    flipped = np.where(np.random.default_rng(0).random(len(y)) < 0.2, 1 - y, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the removal test's word on the noise
        bare = MTIFSelector(MultiTaskLogistic(), random_state=0).fit(X, flipped)
        piped = MTIFSelector(make_pipeline(FunctionTransformer(), MultiTaskLogistic()),
                             random_state=0).fit(X, flipped)
    # the pipeline's model starts warm in EM as the bare one does: the same fits
    np.testing.assert_allclose(piped.scores_, bare.scores_, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(piped.sample_indices_, bare.sample_indices_)


def test_set_output_pandas_gives_dataframes(clf_data):
    X, y = clf_data
    plain = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=2, random_state=0, strategy="influence")
    marked = plain.fit_transform(X, y)
    sel = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=2, random_state=0, strategy="influence").set_output(transform="pandas")
    out = sel.fit_transform(X, y)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1", "x2", "x3"]
    np.testing.assert_array_equal(out.to_numpy(), marked)
    assert isinstance(sel.transform(X), pd.DataFrame)
    X_kept, _ = sel.fit_resample(X, y)
    np.testing.assert_array_equal(X_kept.to_numpy(), X[sel.sample_indices_])
    # a DataFrame keeps its index and names; the global setting applies too
    df = pd.DataFrame(X, columns=["a", "b", "c", "task"], index=np.arange(len(y)) * 10)
    import sklearn

    with sklearn.config_context(transform_output="pandas"):
        out = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=2, random_state=0, strategy="influence").fit_transform(df.to_numpy(), y)
        assert isinstance(out, pd.DataFrame)
    out = sel.fit(df, y).transform(df)
    assert list(out.columns) == ["a", "b", "c", "task"] and out.index.equals(df.index)
    pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), cv=2, random_state=0, strategy="influence", removal_ratio=0.1), MultiTaskLogistic()).set_output(transform="pandas")
    np.testing.assert_array_equal(pipe.fit(X, y)[-1].feature_names_in_, ["x0", "x1", "x2", "x3"])
    with pytest.raises(ValueError, match="choose one of"):
        sel.set_output(transform="numpy")


def test_plain_estimator_routes_the_docs_give(clf_data):
    # the README and doc/selection.rst quote the error and give both ways out
    from sklearn.linear_model import LogisticRegression

    X, y = clf_data
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make_pipeline(MTIFSelector(MultiTaskLogistic(), cv=2, random_state=0, strategy="influence", removal_ratio=0.1), LogisticRegression()).fit(X, y)
    sel = MTIFSelector(MultiTaskLogistic(), cv=2, random_state=0, strategy="influence", removal_ratio=0.1)
    X_kept, y_kept = sel.fit_resample(X, y)
    plain = LogisticRegression().fit(X_kept[:, :-1], y_kept)  # the task column dropped
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from sklearn.compose import make_column_transformer

    imb = imblearn_pipeline.make_pipeline(
        sel.set_params(sampler=True), make_column_transformer(("drop", [-1]), remainder="passthrough"),
        LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(imb[-1].coef_, plain.coef_)


def test_a_named_task_column_in_every_step_of_a_pipeline(clf_data):
    # doc/selection.rst: with pandas output the task column keeps its name, and the
    # last step leaves out exactly the rows the selector removed
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer

    X, y = clf_data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "school"])[["school", "a", "b", "c"]]
    pipe = make_pipeline(
        make_feature_transformer(StandardScaler(), task_col="school").set_output(transform="pandas"),
        MTIFSelector(MultiTaskLogistic(), task_col="school", removal_ratio=0.1, random_state=0),
        MultiTaskLogistic(task_col="school"),
    ).fit(frame, y)
    kept = pipe[1].sample_indices_
    assert len(kept) < len(y)
    alone = MultiTaskLogistic(task_col="school").fit(pipe[0].transform(frame).iloc[kept], y[kept])
    np.testing.assert_allclose(pipe[-1].coef_, alone.coef_)
    with pytest.raises(ValueError, match="make_feature_transformer puts the task column last"):
        make_pipeline(make_feature_transformer(StandardScaler(), task_col="school"),
                      MultiTaskLogistic(task_col="school")).fit(frame, y)


def test_fit_warns_once_about_the_task_column_not_once_per_inner_fit(clf_data):
    X, y = clf_data
    X = X.copy()
    X[:, -1] = (X[:, -1] - X[:, -1].mean()) / X[:, -1].std()  # the task ids scaled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MTIFSelector(MultiTaskLogistic(), random_state=0).fit(X, y)
    assert sum("looks scaled" in str(w.message) for w in caught) == 1


@pytest.mark.parametrize("model, missing", [(MultiTaskRidge(), np.nan), (MultiTaskLogistic(), None),
                                            (MultiTaskRidge(), np.inf)])
def test_missing_targets_are_refused_in_the_users_words(clf_data, model, missing):
    X, y = clf_data
    y = y.astype(object if missing is None else float)
    y[[3, 7]] = missing
    sel = MTIFSelector(model)
    with pytest.raises(ValueError, match=r"y is missing or infinite in 2 of its 160 rows \(the "
                                         r"first at position 3\).*impute their targets"):
        sel.fit(X, y)
    assert not hasattr(sel, "sample_indices_")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("n_rare", [1, 2])
@pytest.mark.parametrize("params", [
    {},
    {"removal_ratio": 0.3},
    {"strategy": "influence", "removal_ratio": 0.1},
    {"strategy": "influence", "removal_ratio": 0.2, "step": 0.05},
    {"strategy": "influence", "removal_ratio": 0.1, "validation_fraction": 0.2, "step": 0.05},
    {"strategy": "random", "removal_ratio": 0.5},
])
def test_a_rare_class_is_fitted_everywhere_and_never_removed_entirely(params, n_rare):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.standard_normal((45, 2)), np.repeat([0, 1, 2], [20, 20, 5])])
    y = np.ones(45, dtype=int)
    y[:n_rare] = 0  # a class of one or two rows: some training parts would lack it
    sel = MTIFSelector(MultiTaskLogistic(), random_state=0, **params).fit(X, y)
    kept = sel.sample_indices_
    assert set(y[kept]) == {0, 1}
    requested = params.get("removal_ratio", 0.0)
    assert len(y) - len(kept) == int(np.floor(requested * len(y) + 1e-9)) or (
        y[kept] == 0).sum() == 1  # only the class's last row was spared


@pytest.mark.parametrize("test_size, warned", [(0.25, True), (0.7, False)])
def test_a_removal_on_few_validation_rows_says_it_is_fragile(clf_data, monkeypatch, test_size, warned):
    from skmtl.model_selection import task_train_test_split
    from skmtl.selection import _selector

    X, y = clf_data
    X, X_val, y, y_val = task_train_test_split(X, y, test_size=test_size, random_state=0)
    monkeypatch.setattr(_selector, "removal_length_on_validation", lambda *args, **kwargs: 4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sel = MTIFSelector(MultiTaskLogistic(), strategy="influence", random_state=0).fit(
            X, y, X_val=X_val, y_val=y_val)
    assert len(sel.sample_indices_) == len(y) - 4
    fragile = [str(w.message) for w in caught if "on the evidence of" in str(w.message)]
    assert fragile == ([f"removal_ratio='auto' removes 4 rows on the evidence of {len(y_val)} "
                        "validation rows (of tasks with two or more of them), fewer than 100: so "
                        "few rows let chance decide, and another random_state may remove other "
                        "rows or none. A few hundred trusted rows make the choice steadier."]
                       if warned else [])


def test_an_estimator_reading_another_task_column_is_refused():
    """The selector reads X's task column by its own task_col and fits the estimator
    with it: an estimator's own task_col naming another column would be overridden."""
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    frame = pd.DataFrame(X[:, :-1], columns=["a", "b", "c"])
    frame.insert(0, "school", X[:, -1].astype(int) + 101)
    frame["n_siblings"] = np.random.default_rng(0).integers(0, 4, len(frame))
    with pytest.raises(ValueError, match=r"task_col='school', but the selector reads task_col=-1.*"
                                         r"MTIFSelector\(\.\.\., task_col='school'\)"):
        MTIFSelector(MultiTaskLogistic(task_col="school"), removal_ratio=0.1).fit(frame, y)
    named = MTIFSelector(MultiTaskLogistic(task_col="school"), task_col="school", removal_ratio=0.1,
                         random_state=0).fit(frame, y)
    by_position = MTIFSelector(MultiTaskLogistic(task_col=0), task_col="school", removal_ratio=0.1,
                               random_state=0).fit(frame, y)
    np.testing.assert_array_equal(named.sample_indices_, by_position.sample_indices_)
    assert set(named.tasks_) == {101, 102, 103}


def test_a_sampler_is_not_tagged_a_transformer():
    """sampler=True hides transform (imbalanced-learn refuses steps with both); scikit-learn's
    checks would run the transformer checks on a tag that says otherwise."""
    sampler = MTIFSelector(MultiTaskRidge(), sampler=True)
    assert sampler.__sklearn_tags__().transformer_tags is None and not hasattr(sampler, "transform")
    assert MTIFSelector(MultiTaskRidge()).__sklearn_tags__().transformer_tags is not None


@pytest.mark.parametrize("layout", ["int64", "Int64", "numpy"])
def test_fit_transform_keeps_task_ids_beyond_2_53_apart(layout):
    # float64 cannot tell 2**53 and 2**53 + 1 apart: the marked column must not become float
    rng = np.random.default_rng(0)
    big = 2**53
    ids = big + rng.integers(0, 3, 120)
    a, b = rng.normal(size=120), rng.normal(size=120)
    y = (a + rng.normal(size=120) > 0).astype(int)
    if layout == "numpy":
        X = np.column_stack([np.round(a * 1000), np.round(b * 1000), ids]).astype(np.int64)
        X[:, -1] = ids  # exact, not through float
        task_col = -1
    else:
        X = pd.DataFrame({"a": a, "b": b, "user": pd.array(ids, dtype=layout)})
        task_col = "user"
    direct = MultiTaskLogistic(task_col=task_col).fit(X, y)
    pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), task_col=task_col, removal_ratio=0.1, random_state=0),
                         MultiTaskLogistic(task_col=task_col))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        pipe.fit(X, y)
    assert [int(t) - big for t in pipe[-1].tasks_] == [int(t) - big for t in direct.tasks_] == [0, 1, 2]
    kept = pipe[0].sample_indices_
    np.testing.assert_allclose(pipe[-1].coef_, MultiTaskLogistic(task_col=task_col).fit(
        X[kept] if layout == "numpy" else X.iloc[kept], y[kept]).coef_)


def test_label_noise_treats_a_pipelines_skmtl_model_as_the_bare_one(clf_data):
    """The fold models of a pipeline ending in a skmtl linear model start warm
    and forget their training data between the steps of EM, as the bare model
    does (five folds' design matrices were held otherwise)."""
    from skmtl.selection._noise import _fit_predict, _fold_models

    X, y = clf_data
    models = _fold_models(make_pipeline(FunctionTransformer(), MultiTaskLogistic()), 2)
    assert all(model[-1].warm_start for model in models)
    rows, held_out = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    _, fitted = _fit_predict(models[0], X, y, np.ones(len(y)), rows, held_out, None)
    assert fitted[-1]._Z is None


def test_label_noise_with_a_pipeline_under_metadata_routing(clf_data):
    """With scikit-learn's metadata routing the pipeline routes ``sample_weight``
    to the steps that request it (a step name prefix is refused there)."""
    import sklearn

    X, y = clf_data
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the removal test's word on the noise
        pipe = make_pipeline(FunctionTransformer(), MultiTaskLogistic().set_fit_request(sample_weight=True))
        routed = MTIFSelector(pipe, random_state=0).fit(X, y)
        bare = MTIFSelector(MultiTaskLogistic(), random_state=0).fit(X, y)
        np.testing.assert_allclose(routed.scores_, bare.scores_, atol=1e-12)


def test_bool_task_labels_stay_bool_through_the_selector(clf_data):
    """A bool task column was marked as floats (0.0, 1.0, NaN), so the model after
    the selector had tasks 0 and 1 where a direct fit has False and True (a fresh
    reader)."""
    X, y = clf_data
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "task": X[:, -1] > 1})
    selector = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, strategy="random", random_state=0)
    marked = selector.set_output(transform="pandas").fit_transform(frame, y)
    assert set(marked["task"].dropna()) == {False, True} and marked["task"].isna().sum() > 0
    pipe = make_pipeline(selector, MultiTaskLogistic()).fit(frame, y)
    direct = MultiTaskLogistic().fit(frame, y).tasks_
    assert pipe[-1].tasks_.tolist() == direct.tolist() == [False, True]
    assert all(isinstance(task, (bool, np.bool_)) for task in pipe[-1].tasks_)
