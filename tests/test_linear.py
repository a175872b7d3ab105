"""MultiTaskRidge / MultiTaskLogistic: fits, influence against brute force, data layout, errors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskLogistic, MultiTaskPoisson, MultiTaskRidge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import loo_effects, loto_effects
from skmtl.linear_model._base import MultiTaskLinearModel


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_multitask_regression(n_tasks=5, n_samples=40, n_features=8, random_state=0)
    X_val, y_val = make_multitask_regression(n_tasks=5, n_samples=40, n_features=8, random_state=1)
    return X, y, X_val, y_val


@pytest.fixture(scope="module")
def ragged_regression():
    """Tasks of 2, 3, 30 and 60 rows, uneven weights, a row without task label."""
    X, y = make_multitask_regression(n_tasks=4, n_samples=[2, 3, 30, 60], n_features=4, random_state=3)
    X[5, -1] = np.nan
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    X_val, y_val = make_multitask_regression(n_tasks=4, n_samples=10, n_features=4, random_state=4)
    return X, y, weights, X_val, y_val


@pytest.fixture(scope="module")
def classification_data():
    X, y = make_multitask_classification(n_tasks=5, n_samples=40, n_features=8, random_state=0)
    X_val, y_val = make_multitask_classification(n_tasks=5, n_samples=40, n_features=8, random_state=1)
    return X, y, X_val, y_val


# -- influence against brute-force refits ------------------------------------------------
def test_ridge_exact_equals_brute_force_loo_and_loto(ragged_regression):
    X, y, w, X_val, y_val = ragged_regression
    model = MultiTaskRidge(alpha=0.7).fit(X, y, sample_weight=w)
    truth = loo_effects(MultiTaskRidge(alpha=0.7), X, y, X_val, y_val, sample_weight=w)
    exact = model.influence(X_val, y_val, method="exact")
    np.testing.assert_allclose(exact, truth, rtol=1e-6, atol=1e-10 * np.abs(truth).max())
    assert np.all(exact[5] == 0)  # the row without a task label takes no part
    truth_tasks = loto_effects(MultiTaskRidge(alpha=0.7), X, y, X_val, y_val, sample_weight=w)
    np.testing.assert_allclose(
        model.task_relatedness(X_val, y_val, method="exact"), truth_tasks, rtol=1e-6
    )


def test_ridge_first_order_tracks_loo(regression_data):
    X, y, X_val, y_val = regression_data
    model = MultiTaskRidge().fit(X, y)
    truth = loo_effects(MultiTaskRidge(), X, y, X_val, y_val)
    estimate = model.influence(X_val, y_val)
    assert pearsonr(estimate.ravel(), truth.ravel())[0] >= 0.97
    # signs agree wherever the effect is not negligible
    big = np.abs(truth) > 0.1 * np.abs(truth).max()
    assert np.mean(np.sign(estimate[big]) == np.sign(truth[big])) > 0.95


def test_task_relatedness_ranks_sources_like_loto():
    X, y = make_multitask_regression(n_tasks=10, n_samples=40, n_features=8, random_state=5)
    X_val, y_val = make_multitask_regression(n_tasks=10, n_samples=40, n_features=8, random_state=6)
    model = MultiTaskRidge().fit(X, y)
    truth = loto_effects(MultiTaskRidge(), X, y, X_val, y_val)
    estimate = model.task_relatedness(X_val, y_val)
    off = ~np.eye(10, dtype=bool)
    rhos = [spearmanr(estimate[:, j][off[:, j]], truth[:, j][off[:, j]])[0] for j in range(10)]
    assert np.mean(rhos) >= 0.9


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_influence_tracks_loo(n_classes):
    X, y = make_multitask_classification(n_tasks=4, n_samples=40, n_features=6, n_classes=n_classes, random_state=0)
    X_val, y_val = make_multitask_classification(n_tasks=4, n_samples=40, n_features=6, n_classes=n_classes, random_state=1)
    model = MultiTaskLogistic().fit(X, y)
    truth = loo_effects(MultiTaskLogistic(), X, y, X_val, y_val)
    assert pearsonr(model.influence(X_val, y_val).ravel(), truth.ravel())[0] >= 0.95
    assert pearsonr(model.influence(X_val, y_val, method="newton").ravel(), truth.ravel())[0] >= 0.99


def test_components_split_direct_and_shared_paths(regression_data):
    X, y, X_val, y_val = regression_data
    model = MultiTaskRidge().fit(X, y)
    total, parts = model.influence(X_val, y_val, return_components=True)
    np.testing.assert_allclose(parts["direct"] + parts["shared"], total)
    own_task = X[:, -1].astype(int)
    not_own = np.arange(5)[None, :] != own_task[:, None]
    assert np.all(parts["direct"][not_own] == 0)
    with pytest.raises(ValueError, match="method='mtif'"):
        model.influence(X_val, y_val, method="exact", return_components=True)


def test_fitted_attributes_use_validation_data_or_training_data(regression_data):
    X, y, X_val, y_val = regression_data
    with_val = MultiTaskRidge().fit(X, y, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(with_val.influence_, with_val.influence(X_val, y_val))
    np.testing.assert_array_equal(with_val.task_relatedness_, with_val.task_relatedness(X_val, y_val))
    plain = MultiTaskRidge().fit(X, y)
    np.testing.assert_allclose(plain.influence_, plain.influence(X, y))
    assert plain.influence_.shape == (len(X), 5)


# -- the objective -------------------------------------------------------------------
def test_zero_weight_is_exactly_removal(ragged_regression):
    X, y, w, _, _ = ragged_regression
    w = w.copy()
    w[[0, 10, 40]] = 0
    keep = w > 0
    for Model in (MultiTaskRidge, MultiTaskLogistic):
        target = y if Model is MultiTaskRidge else (y > np.median(y)).astype(int)
        a = Model().fit(X, target, sample_weight=w)
        b = Model().fit(X[keep], target[keep], sample_weight=w[keep])
        np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Model", [MultiTaskRidge, MultiTaskLogistic])
def test_the_training_data_as_validation_is_weighted_as_in_fit(ragged_regression, Model):
    """influence_ and task_relatedness_ against the training data weigh each row as
    fit does: weight 2 is a repeated row, weight 0 a dropped one (until the
    thirty-ninth session every row counted once there: 1.35 apart for ridge)."""
    X, y, _, _, _ = ragged_regression
    target = y if Model is MultiTaskRidge else (y > np.median(y)).astype(int)
    w = np.ones(len(y))
    w[[0, 10, 40]], w[[3, 20, 50]] = 0, 2
    rows = np.r_[np.flatnonzero(w > 0), [3, 20, 50]]
    weighted = Model().fit(X, target, sample_weight=w)
    repeated = Model().fit(X[rows], target[rows])
    for method in ("mtif", Model._refit_method):
        np.testing.assert_allclose(weighted.task_relatedness(method=method),
                                   repeated.task_relatedness(method=method), rtol=1e-6, atol=1e-9)
    once = np.flatnonzero(w == 1)
    at = np.searchsorted(np.flatnonzero(w > 0), once)  # their positions in the repeated fit
    np.testing.assert_allclose(weighted.influence_[once], repeated.influence_[at], rtol=1e-6, atol=1e-9)
    assert np.all(weighted.influence_[w == 0] == 0)


def test_refit_effects_on_the_training_data_weigh_rows_as_fit():
    X, y = make_multitask_regression(n_tasks=3, n_samples=15, n_features=3, random_state=0)
    w = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    weighted = loto_effects(MultiTaskRidge(), X, y, sample_weight=w)
    np.testing.assert_allclose(weighted, loto_effects(MultiTaskRidge(), X[rows], y[rows]), rtol=1e-10)
    np.testing.assert_allclose(weighted, MultiTaskRidge().fit(X, y, sample_weight=w).task_relatedness(
        method="exact"), rtol=1e-10)


def test_integer_weight_equals_repeated_row(regression_data):
    X, y, _, _ = regression_data
    w = np.ones(len(y))
    w[3] = 2
    a = MultiTaskRidge().fit(X, y, sample_weight=w)
    b = MultiTaskRidge().fit(np.vstack([X, X[3]]), np.append(y, y[3]))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_single_task_is_the_unpenalized_single_task_model():
    X, y = make_multitask_regression(n_tasks=1, n_samples=50, n_features=3, random_state=0)
    ridge = MultiTaskRidge(shared_alpha=0).fit(X, y)
    ols = LinearRegression().fit(X[:, :-1], y)
    np.testing.assert_allclose(ridge.coef_[0], ols.coef_, rtol=1e-8)
    np.testing.assert_allclose(ridge.intercept_[0], ols.intercept_, rtol=1e-8)
    Xc, yc = make_multitask_classification(n_tasks=1, n_samples=80, n_features=3, h=0, random_state=0)
    clf = MultiTaskLogistic(shared_alpha=0).fit(Xc, yc)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(Xc[:, :-1], yc)
    np.testing.assert_allclose(clf.coef_[0], ref.coef_[0], rtol=1e-5)


def test_alpha_interpolates_between_separate_and_pooled_models(regression_data):
    X, y, _, _ = regression_data
    pooled = LinearRegression().fit(X[:, :-1], y)
    strong = MultiTaskRidge(alpha=1e6).fit(X, y)
    np.testing.assert_allclose(strong.coef_, np.tile(pooled.coef_, (5, 1)), atol=1e-4)
    weak = MultiTaskRidge(alpha=1e-8).fit(X, y)
    for k in range(5):
        rows = X[:, -1] == k
        separate = LinearRegression().fit(X[rows, :-1], y[rows])
        np.testing.assert_allclose(weak.coef_[k], separate.coef_, atol=1e-5)


def test_shared_coef_is_the_mean_of_task_coefficients(regression_data):
    X, y, _, _ = regression_data
    model = MultiTaskRidge(shared_alpha=0).fit(X, y)
    np.testing.assert_allclose(model.shared_coef_, model.coef_.mean(axis=0), atol=1e-10)


def test_multiclass_shapes_and_probabilities():
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=4, n_classes=3, random_state=0)
    clf = MultiTaskLogistic().fit(X, y)
    assert clf.coef_.shape == (3, 3, 4)
    assert clf.intercept_.shape == (3, 3)
    assert clf.shared_coef_.shape == (3, 4)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_convergence_warning_when_newton_stops_early(classification_data):
    X, y, _, _ = classification_data
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        MultiTaskLogistic(max_iter=1).fit(X, y)


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("Estimator", [MultiTaskLogistic, MultiTaskPoisson])
def test_warm_start_reaches_the_same_fit_in_fewer_steps(Estimator, wide):
    """A convex objective: a refit on changed weights started from the last fit
    ends where a fresh fit ends, sooner; also in the rows' span (more features
    than rows, a basis per fit) and where the tasks or classes changed (a fresh
    start)."""
    n_features = 40 if wide else 4
    X, y = make_multitask_classification(n_tasks=3, n_samples=10 if wide else 60,
                                         n_features=n_features, random_state=0)
    if Estimator is MultiTaskPoisson:
        y = np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0]))
    weights = np.random.default_rng(1).uniform(0.5, 1.5, len(y))
    warm = Estimator(warm_start=True).fit(X, y)
    cold = Estimator().fit(X, y, sample_weight=weights)
    warm.fit(X, y, sample_weight=weights)
    assert warm.n_iter_ < cold.n_iter_
    # to the fit's tolerance: along directions of little curvature (more features than
    # rows) the coefficients differ more than what they predict
    predict = "predict_proba" if Estimator is MultiTaskLogistic else "predict"
    np.testing.assert_allclose(getattr(warm, predict)(X), getattr(cold, predict)(X), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-5 if wide else 1e-8)
    two_tasks = X[:, -1] < 2
    fresh = Estimator().fit(X[two_tasks], y[two_tasks])
    assert warm.fit(X[two_tasks], y[two_tasks]).n_iter_ == fresh.n_iter_
    np.testing.assert_array_equal(warm.coef_, fresh.coef_)


def test_warm_start_is_not_taken_where_it_is_worse_than_a_fresh_start():
    """Features in units 100 times larger: the last fit's coefficients make every
    Poisson mean overflow; the refit starts afresh, as a cold fit does."""
    X, _ = make_multitask_classification(n_tasks=4, n_samples=100, n_features=6, random_state=0)
    y = np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0]))
    X_units = X * np.r_[np.full(6, 100.0), 1]
    cold = MultiTaskPoisson().fit(X_units, y)
    warm = MultiTaskPoisson(warm_start=True).fit(X, y).fit(X_units, y)
    assert warm.n_iter_ == cold.n_iter_
    np.testing.assert_array_equal(warm.predict(X_units), cold.predict(X_units))



@pytest.mark.parametrize("Estimator", [MultiTaskRidge, MultiTaskLogistic])
def test_verbose_shows_progress_and_changes_nothing_else(Estimator, capsys):
    maker = make_multitask_regression if Estimator is MultiTaskRidge else make_multitask_classification
    X, y = maker(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    refit = Estimator._refit_method

    def run(verbose):
        model = Estimator(verbose=verbose).fit(X, y)
        results = (model.coef_, model.influence(), model.influence_total(),
                   np.concatenate(list(model.influence_chunked(working_memory=0.001))),
                   model.influence(method=refit), model.task_relatedness(method=refit))
        return results, capsys.readouterr().err

    quiet, silent = run(0)
    shown, bars = run(1)
    assert silent == ""
    for name in ("Newton steps", "influence", "influence_total", "influence_chunked",
                 "refit rows of each task", "refit without each task"):
        assert name in bars
    assert "90/90" in bars  # the rows counted to their end
    for a, b in zip(quiet, shown):
        np.testing.assert_array_equal(a, b)

# -- ragged data is normal data ---------------------------------------------------------
def test_small_and_one_class_tasks_fit():
    X, y = make_multitask_classification(n_tasks=3, n_samples=[2, 25, 25], n_features=3, random_state=1)
    y[X[:, -1] == 1] = 1  # task 1 has a single class
    y[0], y[1] = 0, 0  # task 0: two rows, one class
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = MultiTaskLogistic().fit(X, y)
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(clf.coef_))
    assert np.all(np.isfinite(clf.influence(X, y, method="newton")))
    # the one-class task leans toward its class, but stays finite
    assert clf.intercept_[1] > clf.shared_intercept_
    assert proba[X[:, -1] == 1, 1].mean() > 0.5


def test_rows_with_missing_task_are_ignored(regression_data):
    X, y, _, _ = regression_data
    X_missing = X.copy()
    X_missing[:7, -1] = np.nan
    a = MultiTaskRidge().fit(X_missing, y)
    b = MultiTaskRidge().fit(X[7:], y[7:])
    np.testing.assert_allclose(a.coef_, b.coef_)
    assert np.all(a.influence_[:7] == 0)
    with pytest.raises(ValueError, match="missing task label"):
        a.predict(X_missing)


def test_unknown_task_shared_or_error(regression_data):
    X, y, _, _ = regression_data
    X_new = X[:3].copy()
    X_new[:, -1] = 99
    model = MultiTaskRidge().fit(X, y)
    np.testing.assert_allclose(
        model.predict(X_new), X_new[:, :-1] @ model.shared_coef_ + model.shared_intercept_
    )
    with pytest.raises(ValueError, match=r"tasks not seen in fit: \[99\]"):
        model.set_params(unknown_task="error").predict(X_new)


def test_dataframe_with_named_string_task_column(regression_data):
    X, y, _, _ = regression_data
    frame = pd.DataFrame(X[:, :-1], columns=[f"f{i}" for i in range(8)])
    frame.insert(2, "school", np.array(["a", "b", "c", "d", "e"])[X[:, -1].astype(int)])
    model = MultiTaskRidge(task_col="school").fit(frame, y)
    assert list(model.tasks_) == ["a", "b", "c", "d", "e"]
    assert list(model.feature_names_in_[:3]) == ["f0", "f1", "school"]
    reference = MultiTaskRidge().fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_)
    np.testing.assert_allclose(model.predict(frame), reference.predict(X))


def test_float_labels_holding_ints_become_ints(regression_data):
    X, y, _, _ = regression_data
    frame = pd.DataFrame({"x": X[:, 0], "task": X[:, -1].astype(int)})
    model = MultiTaskRidge().fit(frame, y)
    assert model.tasks_.dtype.kind == "i"


def test_works_in_pipeline_and_grid_search(classification_data):
    X, y, _, _ = classification_data
    pipe = make_pipeline(
        make_column_transformer((StandardScaler(), list(range(8))), remainder="passthrough"),
        MultiTaskLogistic(),
    )
    search = GridSearchCV(pipe, {"multitasklogistic__alpha": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.6
    assert search.predict(X).shape == y.shape


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "corrupt, error, match",
    [
        (lambda X, y, w: (np.where(np.arange(X.size).reshape(X.shape) == 0, np.nan, X), y, w), ValueError, "NaN"),
        (lambda X, y, w: (X, np.where(np.arange(len(y)) == 0, np.inf, y), w), ValueError, "infinity"),
        (lambda X, y, w: (X, y, -w), ValueError, "[Nn]egative"),
        (lambda X, y, w: (X, y[:-1], w), ValueError, "rows"),
    ],
)
def test_bad_input_is_explained_and_leaves_fit_unchanged(regression_data, corrupt, error, match):
    X, y, _, _ = regression_data
    model = MultiTaskRidge().fit(X, y)
    before = (model.coef_.copy(), model.n_features_in_)
    with pytest.raises(error, match=match):
        model.fit(*corrupt(X, y, np.ones(len(y))))
    np.testing.assert_array_equal(model.coef_, before[0])
    assert model.n_features_in_ == before[1]
    model.predict(X)


def test_classifier_errors(classification_data):
    X, y, _, _ = classification_data
    clf = MultiTaskLogistic().fit(X, y)
    classes = clf.classes_.copy()
    with pytest.raises(ValueError, match=r"one class \(1\) "):
        clf.fit(X, np.ones_like(y))
    np.testing.assert_array_equal(clf.classes_, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cast warning before the message
        with pytest.raises(ValueError, match="Input y contains NaN"):
            clf.fit(X, np.where(np.arange(len(y)) == 0, np.nan, y))
    np.testing.assert_array_equal(clf.classes_, classes)
    with pytest.raises(ValueError, match="choose one of"):
        clf.influence(X, y, method="exact")


def test_layout_errors(regression_data):
    X, y, X_val, y_val = regression_data
    with pytest.raises(ValueError, match="not a column of X"):
        MultiTaskRidge(task_col="school").fit(pd.DataFrame(X).add_prefix("c"), y)
    with pytest.raises(ValueError, match="no column names"):
        MultiTaskRidge(task_col="school").fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        MultiTaskRidge(task_col=20).fit(X, y)
    model = MultiTaskRidge().fit(X, y)
    with pytest.raises(ValueError, match="Invalid X_val .*X has 8 features, but MultiTaskRidge is expecting 9"):
        model.influence(X_val[:, 1:], y_val)
    with pytest.raises(ValueError, match="both"):
        model.influence(X_val)
    with pytest.raises(ValueError, match="must be numeric"):
        MultiTaskRidge().fit(np.column_stack([X[:, :2].astype(object), np.full(len(X), "a"), X[:, -1]]), y)


@pytest.mark.parametrize("frame", [False, True])
def test_wrong_X_val_is_named_and_leaves_fit_unchanged(regression_data, frame):
    X, y, X_val, y_val = regression_data
    if frame:
        X, X_val = pd.DataFrame(X).add_prefix("f"), pd.DataFrame(X_val).add_prefix("f")
    model = MultiTaskRidge().fit(X, y)
    coef = model.coef_.copy()
    match = "Feature names seen at fit time, yet now missing" if frame else "X has 8 features"
    with pytest.raises(ValueError, match=rf"(?s)Invalid X_val \(it needs the columns of the X given to fit.*{match}"):
        model.fit(X, y, X_val=X_val.iloc[:, 1:] if frame else X_val[:, 1:], y_val=y_val)
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.influence_, model.influence(X, y))


@pytest.mark.parametrize("Model", [MultiTaskRidge, MultiTaskPoisson])
def test_text_targets_point_regression_models_to_the_classifier(classification_data, Model):
    X, y, _, _ = classification_data
    model = Model().fit(X, y)
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match=rf"y must be numeric for {Model.__name__}.*such as \[('yes'|'no'), .*MultiTaskLogistic"):
        model.fit(X, np.where(y == 1, "yes", "no"))
    np.testing.assert_array_equal(model.coef_, coef)


def test_influence_uses_the_penalty_of_the_fit(regression_data):
    X, y, X_val, y_val = regression_data
    model = MultiTaskRidge(alpha=0.5).fit(X, y)
    expected = model.influence(X_val, y_val, method="exact")
    model.set_params(alpha=5.0)
    model._cache.clear()
    np.testing.assert_array_equal(model.influence(X_val, y_val, method="exact"), expected)


def test_small_blocks_run_on_one_blas_thread_and_restore_the_setting():
    from threadpoolctl import threadpool_info, threadpool_limits

    from skmtl.base import SMALL_BLOCK_SIZE, blas_threads_for_blocks

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        with blas_threads_for_blocks(SMALL_BLOCK_SIZE - 1):
            assert set(blas_threads().values()) == {1}
        with blas_threads_for_blocks(SMALL_BLOCK_SIZE):
            assert blas_threads() == before
        assert blas_threads() == before


# -- reading the task column -------------------------------------------------------------
@pytest.mark.parametrize(
    "Estimator, make_data",
    [(MultiTaskRidge, make_multitask_regression), (MultiTaskLogistic, make_multitask_classification)],
)
def test_fitted_model_keeps_the_task_column_of_fit(Estimator, make_data):
    X, y = make_data(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    model = Estimator().fit(X, y)
    expected = model.predict(X)
    X_bad = X.copy()
    X_bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.set_params(task_col=0).fit(X_bad, y)
    np.testing.assert_array_equal(model.predict(X), expected)
    model = Estimator().fit(X, y).set_params(task_col=0)
    np.testing.assert_array_equal(model.predict(X), expected)


def test_dataframe_int64_task_ids_keep_every_digit(regression_data):
    X, y, _, _ = regression_data
    frame = pd.DataFrame(X[:, :-1], columns=[f"f{i}" for i in range(8)])
    frame["user"] = np.int64(10**17) + X[:, -1].astype(np.int64)
    model = MultiTaskRidge(task_col="user").fit(frame, y)
    assert list(model.tasks_) == [10**17 + k for k in range(5)]
    np.testing.assert_allclose(model.coef_, MultiTaskRidge().fit(X, y).coef_)


def test_float_task_ids_beyond_int64_stay_distinct(regression_data):
    X, y, _, _ = regression_data
    X_big = X.copy()
    X_big[:, -1] = (X[:, -1] + 1) * 1e19
    model = MultiTaskRidge().fit(X_big, y)
    np.testing.assert_array_equal(model.tasks_, [1e19, 2e19, 3e19, 4e19, 5e19])
    np.testing.assert_allclose(model.coef_, MultiTaskRidge().fit(X, y).coef_)


def test_nullable_int_task_column_with_na_is_a_missing_label(regression_data):
    X, y, _, _ = regression_data
    frame = pd.DataFrame(X[:, :-1], columns=[f"f{i}" for i in range(8)])
    frame["task"] = pd.array(X[:, -1].astype(int), dtype="Int64")
    frame.loc[0, "task"] = pd.NA
    model = MultiTaskRidge().fit(frame, y)
    reference = MultiTaskRidge().fit(X[1:], y[1:])
    assert list(model.tasks_) == list(reference.tasks_)
    np.testing.assert_allclose(model.coef_, reference.coef_)
    with pytest.raises(ValueError, match="missing task label"):
        model.predict(frame)
    np.testing.assert_allclose(model.predict(frame[1:]), reference.predict(X[1:]))


@pytest.mark.parametrize("Model", [MultiTaskRidge, MultiTaskLogistic])
def test_task_whose_rows_all_weigh_zero_is_absent(Model):
    make = make_multitask_regression if Model is MultiTaskRidge else make_multitask_classification
    X, y = make(n_tasks=3, n_samples=[10, 3, 12], n_features=3, random_state=0)
    weight = (X[:, -1] != 2) * 1.0
    weighted = Model(unknown_task="error").fit(X, y, sample_weight=weight)
    absent = Model(unknown_task="error").fit(X[weight > 0], y[weight > 0])
    np.testing.assert_array_equal(weighted.tasks_, absent.tasks_)
    np.testing.assert_allclose(weighted.coef_, absent.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.influence_[weight > 0], absent.influence_, rtol=1e-8, atol=1e-12)
    assert np.all(weighted.influence_[weight == 0] == 0)
    with pytest.raises(ValueError, match=r"not seen in fit: \[2\] \(the fitted tasks, those with a row of pos"):
        weighted.predict(X[weight == 0])


def test_python_int_task_ids_beyond_int64_stay_exact():
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    frame = pd.DataFrame(X[:, :-1], columns=["a", "b", "c"])
    frame["task"] = pd.Series([2**64 + int(t) for t in X[:, -1]], dtype=object)
    model = MultiTaskRidge(task_col="task").fit(frame, y)
    assert model.tasks_.tolist() == [2**64, 2**64 + 1]
    np.testing.assert_allclose(model.coef_, MultiTaskRidge().fit(X, y).coef_)


def test_the_linear_base_requires_its_hooks():
    # abstract: a subclass without _make_loss and _encode_targets cannot be made
    with pytest.raises(TypeError, match="abstract"):
        MultiTaskLinearModel()



@pytest.mark.parametrize("Estimator", [MultiTaskLogistic, MultiTaskRidge])
def test_missing_validation_targets_are_named_as_in_fit(Estimator):
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    model = Estimator().fit(X, y)
    y_val = np.where(np.arange(len(y)) == 4, np.nan, y)  # not "classes [nan] not seen in fit"
    with pytest.raises(ValueError, match="Input y_val contains NaN"):
        model.influence(X, y_val)
    with pytest.raises(ValueError, match="Input (y_val )?contains NaN"):  # scikit-learn's words for objects
        model.task_relatedness(X, pd.Series(y_val, dtype=object))


@pytest.mark.parametrize("recoded", [pd.Series, np.asarray])
def test_validation_labels_of_another_kind_are_named_not_compared(recoded):
    # fitted on 'n' / 'y', judged on 0 / 1: unseen classes, in plain Python values
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    model = MultiTaskLogistic().fit(X, pd.Series(np.where(y == 1, "y", "n")))
    with pytest.raises(ValueError, match=r"y_val holds classes \[0, 1\] not seen in fit; the "
                                         r"model's classes_ are \['n', 'y'\]"):
        model.influence(X, recoded(y))
    np.testing.assert_array_equal(model.influence(X, np.where(y == 1, "y", "n")),
                                  model.influence(X, pd.Series(np.where(y == 1, "y", "n"))))


@pytest.mark.parametrize("model, method", [(MultiTaskRidge(), "exact"), (MultiTaskLogistic(), "newton")])
def test_a_tasks_only_row_scores_zero_in_first_order_but_not_when_refit(model, method):
    # the docstring's claim: the row's weight within its task's mean loss cannot change
    make = make_multitask_regression if method == "exact" else make_multitask_classification
    X, y = make(n_tasks=3, n_samples=20, random_state=0)
    X, y = np.vstack([X, X[:1]]), np.r_[y, y[:1]]
    X[-1, -1] = 7
    fitted = model.fit(X, y)
    np.testing.assert_allclose(fitted.influence(X, y)[-1], 0, atol=1e-12)  # 0 up to rounding
    assert np.abs(fitted.influence(X, y, method=method)[-1]).max() > 0.1


@pytest.mark.parametrize("model", [MultiTaskRidge(), MultiTaskLogistic()])
def test_validation_rows_in_other_units_than_the_fit_are_named(model):
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=3, random_state=0)
    model.fit(X, y)
    raw = X.copy()
    raw[:, 1] = 40 + 10 * raw[:, 1]  # as if the scaler in front had been skipped
    for method in (model.influence, model.task_relatedness):
        with pytest.warns(UserWarning, match=r"X_val's column 1 is centred at \d+\.\d+, \d+ standard "
                          r"deviations from its mean in the training data .*pipe\[:-1\]\.transform"):
            method(raw, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.influence(X[::2], y[::2])  # rows as the fit's: silent
        model.influence(raw[:4], y[:4])  # too few rows to tell


def test_a_target_of_weight_zero_adds_no_class():
    # sample_weight=0 is the fit without the row: its label is no class of the model
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    weighted = MultiTaskLogistic().fit(np.vstack([X, X[:1]]), np.r_[y, 2],
                                       sample_weight=np.r_[np.ones(len(y)), 0.0])
    dropped = MultiTaskLogistic().fit(X, y)
    np.testing.assert_array_equal(weighted.classes_, [0, 1])
    np.testing.assert_array_equal(weighted.coef_, dropped.coef_)
    np.testing.assert_array_equal(weighted.influence(X, y)[:-1], dropped.influence(X, y))


@pytest.mark.parametrize("Estimator, method", [(MultiTaskRidge, "exact"), (MultiTaskLogistic, "newton")])
def test_a_model_pickled_before_fits_recorded_convergence_reads_it_from_its_iterations(Estimator, method):
    """A model pickled before the forty-second session has no record of whether
    Newton converged: a fit that stopped before max_iter did (but for a step
    without decrease, which warned at fit), and its removal steps start from the
    fit as it is, as a fresh model's; one stopped by max_iter keeps the others'."""
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    if Estimator is MultiTaskRidge:
        y = y + np.random.RandomState(0).normal(size=len(y))
    for max_iter, converged in ((100, True), (1, False)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = Estimator(max_iter=max_iter).fit(X, y)
        state = dict(model.__getstate__())  # a copy: it returns the model's __dict__
        del state["_converged"]
        old = Estimator.__new__(Estimator)
        old.__setstate__(state)
        assert old._converged is model._converged is converged
        np.testing.assert_array_equal(old.influence(method=method), model.influence(method=method))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).influence(method=method),
                                  model.influence(method=method))
