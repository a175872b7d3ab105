"""MultiTaskPoisson: the model, its influence against refits, and its use end to end."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import pearsonr
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import d2_tweedie_score

from skmtl import MTIFSelector, MultiTaskPoisson
from skmtl.cli import main
from skmtl.datasets import make_multitask_counts
from skmtl.inspection import loo_effects, loto_effects, task_losses
from skmtl.relatedness import cosine_affinity, gradient_affinity, surrogate_affinity, tag_affinity


@pytest.fixture(scope="module")
def counts():
    X, y = make_multitask_counts(n_tasks=4, n_samples=30, n_features=4, random_state=0)
    X_val, y_val = make_multitask_counts(n_tasks=4, n_samples=20, n_features=4, random_state=1)
    return X, y, X_val, y_val


def test_one_task_is_sklearns_poisson_regression():
    X, y = make_multitask_counts(n_tasks=1, n_samples=80, n_features=3, random_state=0)
    ours = MultiTaskPoisson(shared_alpha=1e-12).fit(X, y)
    ref = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12).fit(X[:, :-1], y)
    assert_allclose(ours.coef_[0], ref.coef_, rtol=1e-6)
    assert_allclose(ours.intercept_[0], ref.intercept_, rtol=1e-6)
    assert_allclose(ours.predict(X), ref.predict(X[:, :-1]), rtol=1e-6)
    assert ours.score(X, y) == pytest.approx(d2_tweedie_score(y, ref.predict(X[:, :-1]), power=1))


def test_counts_only():
    X, y = make_multitask_counts(n_tasks=2, n_samples=5, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="counts"):
        MultiTaskPoisson().fit(X, y - 10.0)


@pytest.mark.parametrize("method, least", [("mtif", 0.95), ("newton", 0.99)])
def test_influence_agrees_with_refits(counts, method, least):
    X, y, X_val, y_val = counts
    model = MultiTaskPoisson(alpha=0.5).fit(X, y)
    rows = np.arange(0, len(y), 2)
    estimate = model.influence(X_val, y_val, method=method)[rows]
    actual = loo_effects(model, X, y, X_val, y_val, rows=rows)
    assert pearsonr(estimate.ravel(), actual.ravel())[0] >= least  # 0.96 and 0.9996 measured


def test_newton_task_relatedness_agrees_with_refits(counts):
    X, y, X_val, y_val = counts
    model = MultiTaskPoisson(alpha=0.5).fit(X, y)
    estimate = model.task_relatedness(X_val, y_val, method="newton")
    actual = loto_effects(model, X, y, X_val, y_val)
    assert pearsonr(estimate.ravel(), actual.ravel())[0] >= 0.999  # 0.99999 measured: one Newton step
    assert_allclose(estimate, actual, atol=1e-3)


def test_refits_measure_the_poisson_deviance(counts):
    X, y, X_val, y_val = counts
    model = MultiTaskPoisson().fit(X, y)
    mu = model.predict(X_val)
    deviance = mu - y_val - y_val * np.log(mu) + np.where(y_val > 0, y_val * np.log(np.maximum(y_val, 1)), 0)
    per_task = [deviance[X_val[:, -1] == t].mean() for t in model.tasks_]
    assert_allclose(task_losses(model, X_val, y_val), per_task)


def test_relatedness_measures_and_selector(counts):
    X, y, X_val, y_val = counts
    for measure in (cosine_affinity, tag_affinity):
        out = measure(MultiTaskPoisson(), X, y, X_val, y_val)
        assert out.shape == (4, 4) and np.isfinite(out).all()
    out = surrogate_affinity(MultiTaskPoisson(), X, y, X_val, y_val, n_subsets=12, random_state=0)
    assert out.shape == (4, 4)
    out = gradient_affinity(MultiTaskPoisson(), X, y, X_val, y_val, n_subsets=12, random_state=0)
    assert out.shape == (4, 4)
    selector = MTIFSelector(MultiTaskPoisson(), removal_ratio=0.1, strategy="influence").fit(
        X, y, X_val=X_val, y_val=y_val)
    assert len(selector.sample_indices_) == len(y) - 12
    influence = MultiTaskPoisson().fit(X, y, X_val=X_val, y_val=y_val).influence_total()
    removed = np.setdiff1d(np.arange(len(y)), selector.sample_indices_)
    assert influence[removed].max() <= influence[selector.sample_indices_].min()


def test_command_line_model_poisson(tmp_path, capsys):
    X, y = make_multitask_counts(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    path = tmp_path / "counts.csv"
    np.savetxt(path, np.column_stack([X, y]), fmt="%g", delimiter=",", header="a,b,region,visits",
               comments="")
    args = ["relatedness", str(path), "--task-col", "region", "--target", "visits", "--model", "poisson"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "counts (--model poisson)" in out and "MultiTaskPoisson on 48 training rows" in out
    assert "held-out D^2" in out and "--method newton" in out
    np.savetxt(path, np.column_stack([X, y - 100]), fmt="%g", delimiter=",",
               header="a,b,region,visits", comments="")
    assert main(args) == 1
    assert "--model poisson needs counts" in capsys.readouterr().err


def test_targets_that_are_not_counts_are_refused_saying_how_many_and_which():
    X = np.c_[np.linspace(0, 1, 6), np.linspace(1, 0, 6), [0, 0, 0, 1, 1, 1]]
    y = np.array([1.0, 2.0, -1.0, 3.0, np.nan, 2.0])
    with pytest.raises(ValueError, match=r"in 2 of the 6 rows it fits \(.*the first such value: "
                                         r"-1\); a Poisson model needs counts"):
        MultiTaskPoisson().fit(X, y)
    # counted among the rows it fits: a row of weight 0 is absent (it counted positions in them)
    with pytest.raises(ValueError, match=r"in 1 of the 5 rows it fits"):
        MultiTaskPoisson().fit(X, np.nan_to_num(y, nan=1.0), sample_weight=[0, 1, 1, 1, 1, 1])


@pytest.mark.parametrize("n_features", [2, 60])  # 60 > 40 rows: fitted in the basis of the rows' span
def test_counts_of_1e12_fit_from_intercepts_at_the_log_mean_count(n_features):
    """From zero coefficients the first Newton step overflowed (thirty-eighth session:
    a warning and no fit). With intercepts, each task's mean prediction equals its
    mean count up to the small pull toward the shared intercept (score equations)."""
    rng = np.random.default_rng(0)
    X = np.column_stack([0.1 * rng.standard_normal((40, n_features)), np.repeat([0, 1], 20)])
    y = np.round(np.r_[1e12 * np.ones(20), 3e9 * np.ones(20)] * np.exp(0.3 * X[:, 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MultiTaskPoisson(alpha=1e-3).fit(X, y)
    means = [model.predict(X[:20]).mean(), model.predict(X[20:]).mean()]
    np.testing.assert_allclose(means, [y[:20].mean(), y[20:].mean()], rtol=1e-6)


def test_counts_beyond_what_the_model_can_fit_say_so_instead_of_converging():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.standard_normal((40, 2)), np.repeat([0, 1], 20)])
    with pytest.warns(ConvergenceWarning, match="no step along the Newton direction lowers the objective"):
        MultiTaskPoisson(fit_intercept=False).fit(X, np.round(1e12 * np.exp(0.3 * X[:, 0])))


def test_a_row_of_weight_zero_is_absent_even_where_its_counts_would_overflow():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.standard_normal((40, 2)), np.repeat([0, 1], 20)])
    y = rng.poisson(np.exp(0.3 * X[:, 0]))
    wild = np.vstack([X, [1e4, 0.0, 0]])
    weights = np.r_[np.ones(len(y)), 0.0]
    dropped, weighted = MultiTaskPoisson().fit(X, y), MultiTaskPoisson().fit(wild, np.r_[y, 3], sample_weight=weights)
    np.testing.assert_array_equal(weighted.coef_, dropped.coef_)


def test_task_refits_of_counts_near_1e8_are_not_lost_in_rounding():
    """The half deviance was summed from terms near 1e9 (y eta, y log y), whose rounding
    hid a Newton step's decrease: the task refit's line search stalled and the
    relatedness diagonal was 30-50 % off (a fresh reader, thirty-ninth session)."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal(3) * 0.5
    X = np.column_stack([rng.standard_normal((75, 3)), np.repeat(np.arange(3), 25)])
    y = rng.poisson(1e8 * np.exp(X[:, :3] @ w + 0.5)).astype(float)
    X_val = np.column_stack([rng.standard_normal((45, 3)), np.repeat(np.arange(3), 15)])
    y_val = rng.poisson(1e8 * np.exp(X_val[:, :3] @ w + 0.5)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MultiTaskPoisson(alpha=0.05).fit(X, y)
        relatedness = model.task_relatedness(X_val, y_val, method="newton")
    assert_allclose(relatedness.diagonal(), loto_effects(model, X, y, X_val, y_val).diagonal(), rtol=1e-4)
