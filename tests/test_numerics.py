"""Ill-conditioned regimes against a dense float64 reference.

The reference writes the documented ridge objective as one stacked
least-squares problem and solves it by QR, whose error follows the
condition number of the stacked matrix, not of the Hessian (its square):
with more features than rows the Hessian holds only ``shared_alpha`` in the
directions no row spans.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from scipy import linalg

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification
from skmtl.influence import ArrowHessian
from skmtl.inspection import loo_effects, loto_effects

ALPHA, SHARED_ALPHA = 1.0, 1e-6


def _design(X, fit_intercept):
    features = X[:, :-1]
    return np.column_stack([features, np.ones(len(X))]) if fit_intercept else features


def dense_ridge(X, y, fit_intercept, drop_rows=(), drop_task=None):
    """Coefficients ``(theta (K, p), beta (p,))`` of the ridge objective without some rows or a task."""
    Z, labels = _design(X, fit_intercept), X[:, -1]
    tasks = np.unique(labels)
    K, p = len(tasks), Z.shape[1]
    keep = np.ones(len(X), bool)
    keep[list(drop_rows)] = False
    blocks, targets = [], []
    for k, task in enumerate(tasks):
        rows = keep & (labels == task)
        weight = np.sqrt(1.0 / rows.sum())
        data = np.zeros((rows.sum(), (K + 1) * p))
        data[:, k * p:(k + 1) * p] = weight * Z[rows]
        penalty = np.zeros((p, (K + 1) * p))
        penalty[:, k * p:(k + 1) * p] = np.sqrt(ALPHA) * np.eye(p)
        penalty[:, K * p:] = -np.sqrt(ALPHA) * np.eye(p)
        if task == drop_task:  # the task is gone: its coefficients follow beta
            data, penalty = data[:0], penalty
        blocks += [data, penalty]
        targets += [weight * y[rows] if task != drop_task else np.zeros(0), np.zeros(p)]
    shared = np.zeros((p, (K + 1) * p))
    shared[:, K * p:] = np.sqrt(SHARED_ALPHA) * np.eye(p)
    A = np.vstack(blocks + [shared])
    Q, R = np.linalg.qr(A)
    solution = linalg.solve_triangular(R, Q.T @ np.concatenate(targets + [np.zeros(p)]))
    return solution[:K * p].reshape(K, p), solution[K * p:]


def val_losses(theta, X_val, y_val, fit_intercept):
    Z, labels = _design(X_val, fit_intercept), X_val[:, -1]
    return np.array([np.mean((Z[labels == t] @ theta[k] - y_val[labels == t]) ** 2)
                     for k, t in enumerate(np.unique(labels))])


def wide_data(n_tasks, rows_per_task, n_features, seed=0):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), rows_per_task)
    X = np.column_stack([rng.standard_normal((len(task), n_features)), task])
    val_task = np.repeat(np.arange(n_tasks), 5)
    X_val = np.column_stack([rng.standard_normal((len(val_task), n_features)), val_task])
    return X, rng.standard_normal(len(X)), X_val, rng.standard_normal(len(X_val))


def relative_error(got, want):
    return np.abs(got - want).max() / np.abs(want).max()


@pytest.mark.parametrize("fit_intercept, n_tasks, rows_per_task, n_features, checked_rows", [
    (False, 3, 8, 30, slice(None)),    # 24 rows, 30 features
    (True, 3, 8, 30, slice(None)),
    (True, 2, 30, 500, [0, 31]),       # 60 rows, 500 features: a genomics-like shape
])
def test_wide_ridge_matches_dense_reference(fit_intercept, n_tasks, rows_per_task, n_features,
                                            checked_rows):
    X, y, X_val, y_val = wide_data(n_tasks, rows_per_task, n_features)
    model = MultiTaskRidge(alpha=ALPHA, shared_alpha=SHARED_ALPHA, fit_intercept=fit_intercept)
    model.fit(X, y)
    theta, beta = dense_ridge(X, y, fit_intercept)
    coef = np.column_stack([model.coef_, model.intercept_]) if fit_intercept else model.coef_
    assert relative_error(coef, theta) < 1e-8
    full = val_losses(theta, X_val, y_val, fit_intercept)

    rows = np.arange(len(X))[checked_rows]
    exact = model.influence(X_val, y_val, method="exact")[rows]
    refits = np.array([val_losses(dense_ridge(X, y, fit_intercept, drop_rows=[i])[0], X_val, y_val,
                                  fit_intercept) - full for i in rows])
    assert relative_error(exact, refits) < 1e-8

    relatedness = model.task_relatedness(X_val, y_val, method="exact")
    dropped = []
    for k in range(n_tasks):
        theta_k, beta_k = dense_ridge(X, y, fit_intercept, drop_task=k)
        theta_k[k] = beta_k  # a removed task is predicted with the shared coefficients
        dropped.append(val_losses(theta_k, X_val, y_val, fit_intercept) - full)
    assert relative_error(relatedness, np.array(dropped)) < 1e-8


@pytest.mark.parametrize("n_tasks, rows_per_task, n_features", [(3, 8, 30), (2, 30, 500)])
def test_wide_ridge_is_invariant_to_row_order(n_tasks, rows_per_task, n_features):
    X, y, X_val, y_val = wide_data(n_tasks, rows_per_task, n_features, seed=1)
    order = np.random.default_rng(2).permutation(len(X))
    model = MultiTaskRidge(fit_intercept=False).fit(X, y)
    shuffled = MultiTaskRidge(fit_intercept=False).fit(X[order], y[order])
    assert relative_error(shuffled.coef_, model.coef_) < 1e-8
    for method in ("mtif", "exact"):
        want = model.influence(X_val, y_val, method=method)[order]
        assert relative_error(shuffled.influence(X_val, y_val, method=method), want) < 1e-8
        want = model.task_relatedness(X_val, y_val, method=method)
        assert relative_error(shuffled.task_relatedness(X_val, y_val, method=method), want) < 1e-8


def test_wide_logistic_newton_is_invariant_to_row_order():
    X, y, X_val, y_val = wide_data(3, 8, 30, seed=3)
    y, y_val = (y > 0).astype(int), (y_val > 0).astype(int)
    order = np.random.default_rng(4).permutation(len(X))
    model = MultiTaskLogistic(fit_intercept=False).fit(X, y)
    shuffled = MultiTaskLogistic(fit_intercept=False).fit(X[order], y[order])
    assert relative_error(shuffled.coef_, model.coef_) < 1e-8
    want = model.influence(X_val, y_val, method="newton")[order]
    assert relative_error(shuffled.influence(X_val, y_val, method="newton"), want) < 1e-8


def test_tasks_of_two_rows_match_dense_reference():
    X, y, X_val, y_val = wide_data(4, 2, 3, seed=5)
    model = MultiTaskRidge(alpha=ALPHA, shared_alpha=SHARED_ALPHA, fit_intercept=True).fit(X, y)
    full = val_losses(dense_ridge(X, y, True)[0], X_val, y_val, True)
    refits = np.array([val_losses(dense_ridge(X, y, True, drop_rows=[i])[0], X_val, y_val, True) - full
                       for i in range(len(X))])
    assert relative_error(model.influence(X_val, y_val, method="exact"), refits) < 1e-8


@pytest.mark.parametrize("Estimator", [MultiTaskRidge, MultiTaskLogistic])
def test_values_too_large_to_square_name_the_column(Estimator):
    X, y, _, _ = wide_data(2, 10, 3, seed=6)
    y = y > 0 if Estimator is MultiTaskLogistic else y
    X[:, 1] *= 1e154
    model = Estimator().fit(X / 1e154 * 1e100, y)  # large but squarable values fit
    with pytest.raises(ValueError, match=r"X's column 1 has values up to .*e\+15"):
        model.fit(X, y)
    assert model.coef_.shape[-1] == 3  # the earlier fit is intact


def test_targets_too_large_to_square_are_named():
    X, y, _, _ = wide_data(2, 10, 3, seed=7)
    with pytest.raises(ValueError, match=r"^y has values up to .*e\+300"):
        MultiTaskRidge().fit(X, y * 1e300)


def test_newton_task_relatedness_is_damped_where_classes_nearly_separate():
    """HAR's volunteers nearly separate 'sitting': the logistic loss is flat
    along the shared coefficients, and an undamped Newton step without
    volunteer 9 or 10 overshot to +11 where refitting moves a loss by 0.3."""
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer
    from skmtl.datasets import load_har
    from skmtl.inspection import task_losses
    from skmtl.model_selection import task_train_test_split

    X, y = load_har(return_X_y=True)
    X = make_feature_transformer(StandardScaler()).fit_transform(X)
    X, X_val, y, y_val = task_train_test_split(X, y, test_size=0.2, random_state=0)
    model = MultiTaskLogistic().fit(X, y)
    newton = model.task_relatedness(X_val, y_val, method="newton")
    full = task_losses(model, X_val, y_val)
    for source in (9, 10):
        kept = X[:, -1] != source
        refit = MultiTaskLogistic().fit(X[kept], y[kept])  # predicts the source with beta
        refit = task_losses(refit, X_val, y_val, model.tasks_) - full
        k = np.searchsorted(model.tasks_, source)
        others = np.arange(len(model.tasks_)) != k
        error = np.abs(newton[k, others] - refit[others]).max()
        assert error < 2 * np.abs(refit[others]).max()


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_wide_exact_influence_matches_refits_with_a_structured_target(fit_intercept):
    """Every row alone spans a direction of the coefficients; removing it
    leaves that direction to ``shared_alpha``, which cost the exact path
    1e-7 here before the direction was pinned."""

    rng = np.random.default_rng(7)
    task = np.repeat(np.arange(3), 10)
    features = rng.standard_normal((30, 200)) * rng.uniform(0.5, 3, 200)
    coef = rng.standard_normal(200)
    X, y = np.column_stack([features, task]), features @ coef + 3 * task + 5 + rng.standard_normal(30)
    val_task = np.repeat(np.arange(3), 5)
    val_features = rng.standard_normal((15, 200))
    X_val = np.column_stack([val_features, val_task])
    y_val = val_features @ coef + 3 * val_task + 5 + rng.standard_normal(15)
    model = MultiTaskRidge(fit_intercept=fit_intercept).fit(X, y)
    refits = loo_effects(MultiTaskRidge(fit_intercept=fit_intercept), X, y, X_val, y_val)
    assert relative_error(model.influence(X_val, y_val, method="exact"), refits) < 1e-10


def test_values_too_small_to_square_are_named():
    X, y, _, _ = wide_data(2, 10, 3, seed=8)
    with pytest.raises(ValueError, match=r"^y has values up to .*e-170"):
        MultiTaskRidge().fit(X, y * 1e-170)
    X[:, 2] *= 1e-170
    with pytest.raises(ValueError, match=r"X.s column 2 has values up to .*e-17"):
        MultiTaskRidge().fit(X, y)
    X[:, 2] = 0.0  # a constant zero column is fine
    MultiTaskRidge().fit(X, y)


def test_targets_in_large_units_converge_without_warning():
    X, y, X_val, y_val = wide_data(3, 20, 4, seed=9)
    small = MultiTaskRidge().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        large = MultiTaskRidge().fit(X, y * 1e10)
    assert large.n_iter_ <= 2
    np.testing.assert_allclose(large.coef_, small.coef_ * 1e10, rtol=1e-10)


@pytest.mark.parametrize("alpha, scale", [(1e-8, 1.0), (1e-6, 1.0), (1.0, 1e4)])
def test_exact_row_influence_where_a_row_alone_holds_a_direction_of_its_task(alpha, scale):
    """Tasks of 10 rows for 13 coefficients: each row spans a direction of its
    task that only the pull toward the shared vector holds once it is removed.
    With a weak pull (or features in large units) the task block's Woodbury
    update cancelled digits: 0.1 relative error at alpha=1e-8, 1.3 in units
    of 1e4 (thirty-eighth session); those blocks are now inverted as they are."""

    rng = np.random.default_rng(0)
    X = np.column_stack([scale * rng.standard_normal((40, 12)), np.repeat(range(4), 10)])
    X_val = np.column_stack([scale * rng.standard_normal((20, 12)), np.repeat(range(4), 5)])
    y, y_val = rng.standard_normal(40), rng.standard_normal(20)
    model = MultiTaskRidge(alpha=alpha).fit(X, y)
    refits = loo_effects(MultiTaskRidge(alpha=alpha), X, y, X_val, y_val)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within the digits kept: no warning
        exact = model.influence(X_val, y_val, method="exact")
    assert relative_error(exact, refits) < 1e-6


@pytest.mark.parametrize("alpha, scale", [(1e-10, 1.0), (1.0, 1e5)])
def test_exact_row_influence_where_a_row_alone_holds_a_direction_in_large_units(alpha, scale):
    """3 tasks of 3 rows for 13 coefficients: without a row its task's data acts
    along no direction the row alone held, and the step's gradient there is the
    pull's alone. Computed from the row's residual (which the fit rounds, harmless
    under the row's curvature of 1e10 and divided by the pull's once it is gone),
    it was 0.12 off refits in units of 1e5 and 0.16 at alpha=1e-10 (a fresh reader,
    forty-first session; refits checked by an 80-digit solve, forty-second)."""
    rng = np.random.RandomState(3)
    features = rng.randn(9, 12)
    X = np.column_stack([scale * features, np.repeat([0, 1, 2], 3)])
    y = features[:, 0] + 0.5 * np.random.RandomState(1).randn(9)
    X_val = np.column_stack([scale * rng.randn(9, 12), np.repeat([0, 1, 2], 3)])
    y_val = rng.randn(9)
    refits = loo_effects(MultiTaskRidge(alpha=alpha), X, y, X_val, y_val)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the blocks' conditioning still warns (below)
        exact = MultiTaskRidge(alpha=alpha).fit(X, y).influence(X_val, y_val, method="exact")
    assert relative_error(exact, refits) < 1e-4


def _three_tasks_with_a_small_one(seed, units, shrink_last_rows=1.0):
    """Tasks of 30, 25 and 6 rows, 4 features in ``units``; the small task's last 4 rows
    scaled by ``shrink_last_rows``."""
    rng = np.random.default_rng(seed)
    parts, ys = [], []
    beta = rng.normal(size=4)
    for k, n in enumerate([30, 25, 6]):
        F = rng.normal(size=(n, 4))
        ys.append(F @ (beta + 0.5 * rng.normal(size=4)) + 0.5 * rng.normal(size=n) + rng.normal())
        if k == 2:
            F[2:] *= shrink_last_rows
        parts.append(np.column_stack([units * F, np.full(n, k)]))
    return np.vstack(parts), np.concatenate(ys)


def test_exact_row_influence_where_other_rows_have_a_little_data_along_its_direction():
    """Rows 1e-6 times smaller than the two others of their task: each large row is
    all but alone along a direction (1 - leverage below 1e-10), where the small rows
    still pull as much as the penalty. Taking the pull alone there (the forty-second
    session's first form of the mend above; a fresh reader) put the effects 0.97 off
    refits."""
    X, y = _three_tasks_with_a_small_one(seed=2, units=1e3, shrink_last_rows=1e-6)
    refits = loo_effects(MultiTaskRidge(fit_intercept=False), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within the digits kept: no warning
        exact = MultiTaskRidge(fit_intercept=False).fit(X, y).influence(method="exact")
    assert relative_error(exact, refits) < 1e-6


def test_exact_row_influence_beside_rows_of_tiny_weight():
    """Rows weighing 1e-8 beside two rows weighing 1 in a task of 6 rows for 5
    coefficients, units of 1e4: without one of the two, its direction is held by the
    tiny rows and the pull, and the fit's gradient (rounding) taken as zero left the
    effects 1.6e-2 off refits, checked by a 60-digit solve (a fresh reader)."""
    X, y = _three_tasks_with_a_small_one(seed=1, units=1e4)
    weights = np.ones(len(y))
    weights[57:61] = 1e-8
    refits = loo_effects(MultiTaskRidge(), X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within the digits kept: no warning
        exact = MultiTaskRidge().fit(X, y, sample_weight=weights).influence(method="exact")
    assert relative_error(exact, refits) < 1e-6


def test_newton_row_effects_of_a_fit_cut_short_carry_no_step_of_its_own():
    """A fit stopped at max_iter=2 is no optimum: stepping from it as it is would add
    its own unfinished step to every row's effect (a fresh reader: mean effect -2.2e-4
    for 3.8e-5, error against refits cut alike 0.39 for 0.08); the step starts from
    where it would have ended, as refits with the same settings do."""
    rng = np.random.default_rng(0)
    F = rng.normal(size=(300, 4))
    X = np.column_stack([F, rng.integers(0, 3, size=300)])
    y = (F @ [1.5, -1, 0.5, 0] + rng.logistic(size=300) > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        model = MultiTaskLogistic(max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refits = loo_effects(MultiTaskLogistic(max_iter=2), X, y, rows=range(60))
    assert relative_error(model.influence(method="newton")[:60], refits) < 0.15


def test_a_row_alone_in_a_large_task_along_a_feature_only_it_has():
    """A category met in one row of a task of 300 (a one-hot column): that row alone
    holds a direction, among many that do not; its effects against refits."""
    rng = np.random.default_rng(1)
    F = rng.normal(size=(900, 5))
    rare = np.zeros(900)
    rare[17] = 1.0
    X = np.column_stack([F, rare, np.repeat(range(3), 300)])
    y = F @ rng.normal(size=5) + 2.0 * rare + rng.normal(size=900)
    model = MultiTaskRidge().fit(X, y)
    rows = [17, 18, 400]
    np.testing.assert_allclose(model.influence(method="exact")[rows],
                               loo_effects(MultiTaskRidge(), X, y, rows=rows), rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("Estimator, method", [(MultiTaskRidge, "exact"), (MultiTaskLogistic, "newton")])
def test_removing_a_tasks_only_row_in_large_units(Estimator, method):
    """Without its only row a task keeps the pull alone; its gradient at the fit, the
    row's residual times features of 1e6, is the pull's only up to rounding: ridge's
    effects were 0.99 off refits, logistic's 41.0 for 0.269 (a fresh reader)."""
    rng = np.random.default_rng(3)
    F = rng.normal(size=(71, 3))
    X = np.column_stack([1e6 * F, np.repeat([0, 1, 2], [40, 30, 1])])
    y = F @ np.array([0.8, -0.5, 0.3]) + 0.2
    y = ((rng.uniform(size=71) < 1 / (1 + np.exp(-y))).astype(int) if Estimator is MultiTaskLogistic
         else y + rng.normal(size=71))
    model = Estimator().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the other tasks' rows may warn of their own blocks
        rows = model.influence(method=method)
        tasks = model.task_relatedness(method=method)
    # removing the task's only row is removing the task
    np.testing.assert_allclose(rows[-1], tasks[2], rtol=1e-6, atol=1e-12 * np.abs(tasks).max())
    refits = loo_effects(Estimator(), X, y, rows=[70])
    assert abs(refits[0, 2]) > 0.1  # the effect on its own task
    np.testing.assert_allclose(rows[-1], refits[0], rtol=1e-3, atol=1e-6 * np.abs(refits).max())


@pytest.mark.parametrize("alpha, scale", [(1e-12, 1.0), (1.0, 1e6)])
def test_exact_row_influence_warns_where_it_loses_its_digits(alpha, scale):
    """Further out (condition numbers of the modified blocks of 1e13, relative
    error about 1e-3 against refits in units of 1e6 or at alpha=1e-12, where it
    was thousands before the forty-second session), the conditioning says so:
    a warning naming the fixes."""
    rng = np.random.RandomState(3)
    features = rng.randn(9, 12)
    X = np.column_stack([scale * features, np.repeat([0, 1, 2], 3)])
    y = features[:, 0] + 0.5 * np.random.RandomState(1).randn(9)
    model = MultiTaskRidge(alpha=alpha).fit(X, y)
    with pytest.warns(UserWarning, match="exact removal effects lose digits. Standardize the features"):
        model.influence(method="exact")


@pytest.mark.parametrize("sizes", [(10, 10, 10), (100, 10, 10)])
@pytest.mark.parametrize("scale", [1.0, 1e4, 1e5])
def test_exact_task_removal_where_a_task_alone_spans_directions(sizes, scale):
    """Each small task alone spans directions of the 40 features; without it only
    rounding of the other tasks' blocks and shared_alpha held them: 1e-2 relative
    error in units of 1e4, and no factorization from 1e5 (thirty-eighth session)."""
    rng = np.random.default_rng(0)
    n = sum(sizes)
    X = np.column_stack([scale * rng.standard_normal((n, 40)), np.repeat(range(3), sizes)])
    y = rng.standard_normal(n)
    X_val = np.column_stack([scale * rng.standard_normal((30, 40)), np.repeat(range(3), 10)])
    y_val = rng.standard_normal(30)
    model = MultiTaskRidge().fit(X, y)
    refits = loto_effects(MultiTaskRidge(), X, y, X_val, y_val)
    assert relative_error(model.task_relatedness(X_val, y_val, method="exact"), refits) < 2e-5


def test_exact_removal_warns_where_the_schur_complement_cancels():
    """Features in units of 1e-6 with shared_alpha=0: the Schur complement without a
    task (or with its rows reweighted) is the sum of blocks 1e12 times larger that
    nearly cancel, and the effects were 1.7e-4 (tasks) and 5.4e-5 (rows) off refits
    without a word (a fresh reader)."""
    rng = np.random.default_rng(3)
    parts, ys = [], []
    for k, n in enumerate([30, 25, 20]):
        F = rng.normal(size=(n, 4))
        ys.append(F @ rng.normal(size=4) + 0.5 * rng.normal(size=n))
        parts.append(np.column_stack([1e-6 * F, np.full(n, k)]))
    X, y = np.vstack(parts), np.concatenate(ys)
    model = MultiTaskRidge(shared_alpha=0.0).fit(X, y)
    with pytest.warns(UserWarning, match="Removing task 0 leaves the shared block .* lose digits"):
        model.task_relatedness(method="exact")
    with pytest.warns(UserWarning, match="Removing rows of task 0 leaves the shared block"):
        model.influence(method="exact")  # 5.4e-5 off refits
    standardized = MultiTaskRidge(shared_alpha=0.0).fit(np.column_stack([1e6 * X[:, :-1], X[:, -1]]), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        standardized.task_relatedness(method="exact")
        standardized.influence(method="exact")


def test_a_task_removal_that_cannot_be_factorized_says_what_to_do():
    eye = np.eye(2)
    # without task 0 the Schur complement is 1.5 + 0.5 - 2.2 < 0
    H = ArrowHessian(np.stack([2 * eye, 2 * eye]), np.stack([-eye, -eye]), 2.5 * eye,
                     task_shared_blocks=2.2 * eye)
    with pytest.raises(np.linalg.LinAlgError, match="standardize the features, or measure the removal "
                                                    "with skmtl.inspection.loto_effects"):
        H.drop_task_step(0, np.ones(2))


def test_softmax_fits_in_large_units_and_without_shared_alpha():
    """The shared coefficients that shift every class alike have no curvature from
    the data: only shared_alpha held them, which rounding swamps in units of 1e6
    and shared_alpha=0 removes (a LinAlgError until the thirty-ninth session)."""
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=4, n_classes=3, random_state=0)
    X_val, y_val = make_multitask_classification(n_tasks=3, n_samples=20, n_features=4, n_classes=3,
                                                 random_state=1)
    X[:, 0] *= 1e6
    X_val[:, 0] *= 1e6
    for shared_alpha in (1e-6, 0.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = MultiTaskLogistic(shared_alpha=shared_alpha).fit(X, y)
        refits = loo_effects(MultiTaskLogistic(shared_alpha=shared_alpha), X, y, X_val, y_val,
                             rows=[0, 5, 50])
        assert relative_error(model.influence(X_val, y_val, method="newton")[[0, 5, 50]], refits) < 0.05


@pytest.mark.parametrize("mates_weight", [1e-3, 1e-9, 1e-13])
def test_removing_a_row_that_weighs_most_of_its_task(mates_weight):
    """Without a row weighing most of its task, the task's loss is its mates'
    alone. Taken as the task's terms rescaled by 1 / (1 - weight) minus the row's,
    it subtracted nearly equal numbers: mates weighing 1e-11 of the row left
    ridge's exact effect 3e-5 off refits, 1e-13 gave the wrong sign (ridge and
    logistic). Now from the mates directly."""
    rng = np.random.default_rng(0)
    sizes = [30, 25, 3]
    F = rng.normal(size=(sum(sizes), 4))
    X = np.column_stack([F, np.repeat(range(3), sizes)])
    X_val = np.column_stack([rng.normal(size=(30, 4)), np.repeat(range(3), 10)])
    coef = np.array([1.0, -0.5, 0.3, 0.2])
    y, y_val = F @ coef + 0.3 * rng.normal(size=len(F)), X_val[:, :4] @ coef
    weights = np.ones(len(F))
    weights[-2:] = mates_weight
    dominant = len(F) - 3
    model = MultiTaskRidge().fit(X, y, sample_weight=weights)
    refits = loo_effects(MultiTaskRidge(), X, y, X_val, y_val, sample_weight=weights, rows=[dominant])
    assert relative_error(model.influence(X_val, y_val, method="exact")[[dominant]], refits) < 1e-10
    # logistic Newton: one step, not a refit, but the step of renormalized mates, whatever their weight
    if mates_weight < 1e-6:
        labels, labels_val = (y > 0).astype(int), (y_val > 0).astype(int)
        steps = [MultiTaskLogistic().fit(X, labels, sample_weight=np.where(weights < 1, w, 1.0))
                 .influence(X_val, labels_val, method="newton")[dominant] for w in (mates_weight, 1e-7)]
        np.testing.assert_allclose(steps[0], steps[1], rtol=1e-5, atol=1e-8 * np.abs(steps[1]).max())
