"""SharedBottomNet: estimator contract, MTIF against independent computations, devices."""

import copy
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy.stats import pearsonr  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from torch import nn  # noqa: E402
from torch.func import functional_call, hessian, jacrev, vmap  # noqa: E402

from skmtl import MultiTaskLogistic, MultiTaskRidge  # noqa: E402
from skmtl.datasets import make_multitask_classification, make_multitask_regression  # noqa: E402
from skmtl.inspection import task_losses  # noqa: E402
from skmtl.network import SharedBottomNet  # noqa: E402
from skmtl.network._influence import GradientProjector, MemberInfluence, row_losses  # noqa: E402
from skmtl.utils import infer_target_kind  # noqa: E402

CUDA = torch.cuda.is_available()
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # tiny networks: threads only contend on a shared CI machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _exact(**params):
    """Full batch, float64, trained to a tight optimum: influence is meaningful."""
    base = dict(
        hidden_layer_sizes=(3,), activation="tanh", solver="lbfgs", max_epochs=2000,
        tol=1e-10, weight_decay=0.05, dtype="float64", projection_dim=None,
        random_state=0, device="cpu",
    )
    base.update(params)
    return SharedBottomNet(**base)


def _split(X, y, n_per_task):
    """First half of every task's rows for training, second half for validation."""
    first = np.arange(len(y)) % (2 * n_per_task) < n_per_task
    return X[first], y[first], X[~first], y[~first]


# -- scikit-learn contract ---------------------------------------------------------------------
_UNSEEN_TASKS = (
    "the check's last column is a continuous feature, read as the task label: the check "
    "then predicts rows whose task was not in fit (held-out rows, or rows it removed with "
    "weight 0), and a network has no head for an unseen task, so it raises, as the user guide says. "
    "Weight 0 == row removed is tested exactly in test_zero_weight_removes_row."
)


def expected_failed_checks(estimator):
    """Checks that cannot apply to SharedBottomNet, with the reason."""
    return {
        "check_fit_idempotent": _UNSEEN_TASKS,
        "check_decision_proba_consistency": _UNSEEN_TASKS,
        "check_sample_weight_equivalence_on_dense_data": _UNSEEN_TASKS,
    }


@parametrize_with_checks(
    [
        SharedBottomNet(task_types="classification", device="cpu"),
        SharedBottomNet(task_types="regression", device="cpu"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# -- an independent dense reference ---------------------------------------------------------------
def _dense_influence(est, X_val, y_val):
    """Row and task scores from the dense Gauss-Newton matrix over all parameters.

    Written without the featurizer, the projector or the arrow engine: full
    Jacobians by ``jacrev``, loss Hessians in the output by ``hessian``;
    damped as ``est.influence_damping`` says.
    """
    damping = est.influence_damping
    net = est.models_[0]
    names = [n for n, p in net.named_parameters() if p.requires_grad]
    params = tuple(p.detach() for n, p in net.named_parameters() if p.requires_grad)
    n_classes = len(est.classes_)

    def terms(data):
        t = est._tensors(data)
        x, task, y, kind = t["x"], t["task"], t["y"], t["kind"]

        def out(*ps):
            return functional_call(net, dict(zip(names, ps)), (x, task))

        def losses(*ps):
            return row_losses(out(*ps), y, kind, n_classes)

        J = torch.cat([j.flatten(2) for j in jacrev(out, argnums=tuple(range(len(params))))(*params)], 2)
        G = torch.cat([g.flatten(1) for g in jacrev(losses, argnums=tuple(range(len(params))))(*params)], 1)
        eta = out(*params).detach()
        lam = vmap(hessian(lambda e, yy, kk: row_losses(e[None], yy[None], kk[None], n_classes)[0]))(eta, y, kind)
        return J.numpy(), G.numpy(), lam.numpy(), t["task"].numpy()

    train = est._train_data
    J, G, lam, task = terms(train)
    s = train["scale"]
    K, D = len(est.tasks_), J.shape[2]
    H = np.einsum("n,nci,ncd,ndj->ij", s, J, lam, J)
    if damping is None:
        damping = est.weight_decay
    elif damping == "auto":
        damping = est.weight_decay + 0.1 * np.trace(H) / D
    H += damping * np.eye(D)
    mean = np.zeros((K, D))
    np.add.at(mean, task, s[:, None] * G)
    U = s[:, None] * (G - mean[task])
    _, Gv, _, vtask = terms(est._check_val(X_val, y_val))
    V = np.zeros((K, D))
    np.add.at(V, vtask, Gv / np.bincount(vtask, minlength=K)[vtask][:, None])
    HinvV = np.linalg.solve(H, V.T)
    rows = np.zeros((est._n_fit_rows, K))
    rows[train["rows"]] = U @ HinvV
    return rows, mean @ HinvV


class _TwiceTanh(nn.Module):
    """One linear layer applied twice: the factored path must fall back."""

    def __init__(self, width):
        super().__init__()
        self.inner = nn.Linear(width, width)

    def forward(self, x):
        return torch.tanh(self.inner(torch.tanh(self.inner(x))))


class _Scaled(nn.Module):
    """A parameter outside any nn.Linear: the generic vmap(grad) path."""

    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, 4)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return torch.tanh(self.linear(x)) * self.scale


def _with_fixed_weights(module_class, *args):
    """A user module built at import time with the same initial weights in every run
    (the estimator copies a user module as given; its random_state does not re-draw it)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return module_class(*args)


@pytest.mark.parametrize(
    "kind, params",
    [
        ("regression", {}),
        ("binary", {}),
        ("multiclass", {}),
        ("mixed", {}),
        ("regression", {"module": _with_fixed_weights(_TwiceTanh, 3), "hidden_layer_sizes": ()}),
        ("binary", {"module": _with_fixed_weights(_Scaled, 3), "hidden_layer_sizes": (2,)}),
    ],
)
def test_influence_equals_dense_gauss_newton_solve(kind, params):
    if kind == "regression":
        X, y = make_multitask_regression(n_tasks=3, n_samples=24, n_features=3, random_state=0)
    else:
        X, y = make_multitask_classification(n_tasks=3, n_samples=24, n_features=3, random_state=0)
        if kind == "multiclass":
            y = y + (X[:, 0] > 0.5)  # classes 0, 1, 2
        if kind == "mixed":
            y = np.where(X[:, -1] == 0, X[:, 0] + 0.1 * y, y).astype(float)
    X, y, Xv, yv = _split(X, y, 12)
    types = {0: "regression", 1: "classification", 2: "classification"} if kind == "mixed" else None
    est = _exact(task_types=types, **params).fit(X, y)
    rows, tasks = _dense_influence(est, Xv, yv)
    np.testing.assert_allclose(est.influence(Xv, yv), rows, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.task_relatedness(Xv, yv), tasks, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("damping", [0.3, None])
def test_influence_damping_equals_dense_solve_with_that_damping(damping):
    X, y = make_multitask_classification(n_tasks=3, n_samples=24, n_features=3, random_state=0)
    X, y, Xv, yv = _split(X, y, 12)
    est = _exact().fit(X, y)
    before = est.influence(Xv, yv)  # the default, "auto"
    rows, tasks = _dense_influence(est.set_params(influence_damping=damping), Xv, yv)
    np.testing.assert_allclose(est.influence(Xv, yv), rows, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.task_relatedness(Xv, yv), tasks, rtol=1e-9, atol=1e-12)
    assert not np.allclose(rows, before)  # the setting applies without a refit
    np.testing.assert_array_equal(est.set_params(influence_damping="auto").influence(Xv, yv), before)


def test_gradient_norm_is_that_of_the_objective_and_warns_once_per_fit_far_from_a_stationary_point():
    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(3,), max_epochs=5, n_models=2, influence_batch_size=7,
                          dtype="float64", random_state=0, device="cpu").fit(X, y)
    data = est._tensors(est._train_data)
    for net, norm in zip(est.models_, est.gradient_norm_):
        value = sum(0.5 * est.weight_decay * (p * p).sum() for p in net.parameters())
        value = value + (data["scale"] * row_losses(net(data["x"], data["task"]), data["y"], data["kind"], 2)).sum()
        grads = torch.autograd.grad(value, list(net.parameters()))
        np.testing.assert_allclose(norm, np.sqrt(sum(float((g * g).sum()) for g in grads)), rtol=1e-10)
    with pytest.warns(UserWarning, match="2 of 2 networks are far from a stationary point"):
        est.influence()
    with warnings.catch_warnings():  # once per fit: not again for the tasks
        warnings.filterwarnings("error", message=".*stationary")
        est.task_relatedness()
    with pytest.warns(UserWarning, match="far from a stationary point"):
        est.fit(X, y).task_relatedness()  # a new fit warns again
    converged = _exact().fit(X, y)
    assert converged.gradient_norm_[0] < 1e-4 and converged.converged_.all()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*stationary")
        converged.influence()
    assert not est.converged_.any()  # 5 epochs, the loss still falling


@pytest.mark.parametrize("target", ["regression", "classification"])
def test_lbfgs_stopped_at_the_kinks_of_relu_warns_and_says_to_train_a_smooth_network(target):
    # L-BFGS ends below 1e-7 of the initial gradient norm on tanh, and stops at a few % on relu
    # (its line search ends at a kink), where the test for stochastic solvers (10 %) passed
    make = make_multitask_regression if target == "regression" else make_multitask_classification
    X, y = make(n_tasks=4, n_samples=50, n_features=5, random_state=1)
    relu = _exact(hidden_layer_sizes=(6,), activation="relu", weight_decay=0.01, max_epochs=1000).fit(X, y)
    assert relu.converged_.all()  # L-BFGS's own criterion: the loss stopped changing
    with pytest.warns(UserWarning, match="at the kinks of relu: for influence train a smooth network"):
        relu.influence()
    smooth = _exact(hidden_layer_sizes=(6,), weight_decay=0.01, max_epochs=1000).fit(X, y)
    assert smooth.gradient_norm_[0] < 1e-6 * smooth._initial_gradient_norm[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*stationary")
        smooth.influence()


def test_influence_warns_when_training_stopped_while_improving_even_with_a_small_gradient():
    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_epochs=15"):
        stopped = _exact(max_epochs=15).fit(X, y)  # L-BFGS cut short
    assert not stopped.converged_[0]
    assert stopped.gradient_norm_[0] < 0.01 * stopped._initial_gradient_norm[0]  # the gradient test passes
    with pytest.warns(UserWarning, match="1 stopped at max_epochs while the loss was still improving"):
        stopped.influence()


def test_fast_and_generic_paths_agree_under_projection():
    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=5, random_state=1)
    est = _exact(hidden_layer_sizes=(6, 5)).fit(X, y)
    net, data = est.models_[0], est._tensors(est._train_data)
    kw = dict(n_tasks=3, n_classes=2, weight_decay=0.05, projection_dim=17, seed=3, batch_size=11)
    fast = MemberInfluence(net, data, fast=None, **kw)
    slow = MemberInfluence(net, data, fast=False, **kw)
    assert fast.featurizer.fast and not slow.featurizer.fast
    assert fast.projector.dim <= 17
    cot = torch.randn(len(data["x"]), 2, 1, dtype=torch.float64)
    for a, b in zip(fast.featurizer(data["x"], data["task"], cot), slow.featurizer(data["x"], data["task"], cot)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    v_t, v_b = fast.task_gradients(data, data["scale"])
    fast_scores = fast.row_scores(fast.operators(v_t, v_b))["scores"]
    slow_scores = slow.row_scores(slow.operators(v_t, v_b))["scores"]
    np.testing.assert_allclose(fast_scores.numpy(), slow_scores.numpy(), rtol=1e-8, atol=1e-12)


def test_generic_path_chunks_rows_to_bound_per_row_gradient_memory(monkeypatch):
    from skmtl.network import _influence

    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=4, random_state=0)
    est = _exact(hidden_layer_sizes=(5,)).fit(X, y)
    net, data = est.models_[0], est._tensors(est._train_data)
    member = MemberInfluence(net, data, fast=False, n_tasks=2, n_classes=0, weight_decay=0.05,
                             projection_dim=9, seed=0, batch_size=20)
    cot = torch.randn(len(data["x"]), 2, 1, dtype=torch.float64)
    whole = member.featurizer(data["x"], data["task"], cot)[1]
    n_params = sum(p.numel() for p in net.bottom.parameters())
    monkeypatch.setattr(_influence, "PER_ROW_GRADIENT_BYTES", 3 * n_params * 8)  # 3 rows a chunk
    calls = []
    project = member.projector.project
    monkeypatch.setattr(member.projector, "project", lambda grads: calls.append(len(grads[0])) or project(grads))
    chunked = member.featurizer(data["x"], data["task"], cot)[1]
    assert calls == ([3] * 6 + [2]) * 2  # 20 rows, 2 cotangents
    np.testing.assert_allclose(chunked.numpy(), whole.numpy(), rtol=1e-12, atol=1e-14)


def test_projection_is_the_kronecker_product_and_preserves_gram_in_expectation():
    proj = GradientProjector([(40, 30), (40,)], 120, seed=0, device="cpu", dtype=torch.float64)
    (p_out, p_in), (b_out, b_in) = proj.factors
    assert b_in is None  # a bias is a column: nothing to compress on its second axis
    draw = torch.Generator().manual_seed(0)
    delta = torch.randn(5, 40, dtype=torch.float64, generator=draw)
    inputs = torch.randn(5, 30, dtype=torch.float64, generator=draw)
    outer = delta[:, :, None] * inputs[:, None, :]
    dense = outer.reshape(5, -1) @ torch.kron(p_out, p_in).T
    np.testing.assert_allclose(proj.project_outer(0, delta, inputs).numpy(), dense.numpy(), rtol=1e-10)
    np.testing.assert_allclose(proj.project([outer, delta])[:, : dense.shape[1]].numpy(), dense.numpy(), rtol=1e-10)
    gram = proj.gram()
    np.testing.assert_allclose(gram[: dense.shape[1], : dense.shape[1]], torch.kron(p_out @ p_out.T, p_in @ p_in.T).numpy())
    assert abs(np.mean(np.diag(gram)) - 1.0) < 0.15  # E[P P^T] = I
    assert GradientProjector([(4, 3)], None, seed=0, device="cpu", dtype=torch.float64).factors == [(None, None)]


def test_projected_scores_approach_exact_ones():
    X, y = make_multitask_regression(n_tasks=3, n_samples=40, n_features=6, random_state=2)
    est = _exact(hidden_layer_sizes=(16,), weight_decay=0.1).fit(X, y)
    exact = est.influence()
    corr = [pearsonr(est.set_params(projection_dim=d).influence().ravel(), exact.ravel())[0] for d in (8, 64)]
    assert corr[0] < corr[1] and corr[1] > 0.9, corr  # 0.83 and 0.93 measured (128 parameters)


def test_batching_does_not_change_scores():
    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=4, random_state=0)
    est = _exact(projection_dim=10).fit(X, y)
    whole = est.influence(X, y)
    np.testing.assert_allclose(est.set_params(influence_batch_size=7).influence(X, y), whole, rtol=1e-9, atol=1e-13)


# -- agreement with retraining ---------------------------------------------------------------------
def test_influence_tracks_warm_started_leave_one_out_refits():
    X, y = make_multitask_regression(n_tasks=3, n_samples=60, n_features=3, random_state=0)
    X, y, Xv, yv = _split(X, y, 30)
    full = _exact(hidden_layer_sizes=(4,), activation="logistic", weight_decay=0.2).fit(X, y)
    estimate = full.influence(Xv, yv)
    base = task_losses(full, Xv, yv)
    rows = np.arange(0, len(y), 6)
    actual = []
    for i in rows:
        keep = np.setdiff1d(np.arange(len(y)), [i])
        refit = copy.deepcopy(full).set_params(warm_start=True).fit(X[keep], y[keep])
        actual.append(task_losses(refit, Xv, yv) - base)
    r = pearsonr(estimate[rows].ravel(), np.ravel(actual))[0]
    # 0.99 on this data set; over 8 data sets 0.88 +- 0.16, and weaker with less curvature
    # from the penalty (tanh, weight_decay=0.05): benchmarks/bench_network.py --part loo
    assert r > 0.95, r


@pytest.mark.parametrize("linear, target", [(MultiTaskRidge, "regression"), (MultiTaskLogistic, "classification")])
def test_linear_special_case_matches_linear_estimators(linear, target):
    # identity bottom + linear heads = independent ridge/logistic models, i.e. the
    # soft-sharing model with the shared vector pinned at 0 (shared_alpha -> inf)
    make = make_multitask_regression if target == "regression" else make_multitask_classification
    X, y = make(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    # damped by the penalty alone, as the linear models' exact Hessian is
    net = _exact(hidden_layer_sizes=(), weight_decay=0.2, tol=1e-12, influence_damping=None).fit(X, y)
    lin = linear(alpha=0.1, shared_alpha=1e8).fit(X, y)
    np.testing.assert_allclose(net.models_[0].head_weight.detach()[:, 0].numpy(), lin.coef_, atol=1e-6)
    scores, parts = net.influence(X, y, return_components=True)
    lin_scores, lin_parts = lin.influence(X, y, return_components=True)
    np.testing.assert_allclose(scores, lin_scores, atol=1e-7)
    np.testing.assert_allclose(parts["direct"], lin_parts["direct"], atol=1e-7)
    if target == "classification":
        np.testing.assert_allclose(net.predict_proba(X), lin.predict_proba(X), atol=1e-6)


def test_components_split_own_head_and_bottom_paths():
    X, y = make_multitask_regression(n_tasks=3, n_samples=15, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, projection_dim=8, random_state=0,
                          device="cpu", dtype="float64").fit(X, y)
    total, parts = est.influence(X, y, return_components=True)
    np.testing.assert_allclose(parts["direct"] + parts["shared"], total)
    not_own = X[:, -1][:, None] != est.tasks_[None, :]
    assert np.all(parts["direct"][not_own] == 0)
    assert np.abs(parts["shared"][not_own]).max() > 0


# -- TRAK options -------------------------------------------------------------------------------
def test_ensemble_averages_members_and_soft_threshold_shrinks():
    X, y = make_multitask_classification(n_tasks=2, n_samples=30, n_features=4, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(8,), n_models=2, max_epochs=30, projection_dim=16,
                          random_state=0, device="cpu", dtype="float64").fit(X, y)
    assert len(est.models_) == 2
    val = est._val
    ops, _ = est._operators(val)
    mean = sum(m.row_scores(operators)["scores"].numpy() for m, _, operators in ops) / 2
    np.testing.assert_allclose(est.influence(), mean, rtol=1e-10)
    est.set_params(soft_threshold=0.5)
    sparse = est.influence()
    cut = np.quantile(np.abs(mean), 0.5, axis=0)
    np.testing.assert_allclose(sparse, np.sign(mean) * np.maximum(np.abs(mean) - cut, 0))
    assert np.mean(sparse == 0) >= 0.5


def test_fitted_influence_follows_settings_read_at_influence_time():
    X, y = make_multitask_regression(n_tasks=2, n_samples=15, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, projection_dim=8, random_state=0,
                          device="cpu", dtype="float64").fit(X, y)
    dense = est.influence_
    est.set_params(soft_threshold=0.5)
    np.testing.assert_array_equal(est.influence_, est.influence())
    assert np.mean(est.influence_ == 0) > np.mean(dense == 0)
    est.set_params(soft_threshold=0.0)
    assert est.influence_ is dense  # back to the first setting: the cached array


def test_only_the_influence_settings_apply_after_fit():
    # the rule of skmtl/network/_scoring.py: fit freezes every parameter but the three settings
    X, y = make_multitask_regression(n_tasks=2, n_samples=15, n_features=3, random_state=0)
    params = dict(hidden_layer_sizes=(6,), max_epochs=5, projection_dim=4, random_state=0,
                  device="cpu", dtype="float64")
    est = SharedBottomNet(**params).fit(X, y)
    before = est.influence(X, y)
    est.set_params(random_state=1, weight_decay=1.0, hidden_layer_sizes=(3,), dtype="float32")
    np.testing.assert_array_equal(est.influence(X, y), before)
    est.set_params(projection_dim=12)
    fresh = SharedBottomNet(**{**params, "projection_dim": 12}).fit(X, y)
    np.testing.assert_array_equal(est.influence(X, y), fresh.influence(X, y))
    assert not np.allclose(fresh.influence(X, y), before)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_fit_leaves_the_callers_random_state_alone(device):
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    cpu_before = torch.get_rng_state()
    cuda_before = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    SharedBottomNet(hidden_layer_sizes=(4,), dropout=0.5, max_epochs=2, random_state=0,
                    device=device).fit(X, y)
    assert torch.equal(torch.get_rng_state(), cpu_before)
    for before, after in zip(cuda_before, torch.cuda.get_rng_state_all() if cuda_before else []):
        assert torch.equal(before, after)


# -- fitting behaviour ------------------------------------------------------------------------------
def test_zero_weight_removes_row_exactly_with_minibatches():
    X, y = make_multitask_regression(n_tasks=2, n_samples=25, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(8,), batch_size=8, max_epochs=15, dropout=0.2,
                          random_state=0, device="cpu", dtype="float64", projection_dim=12)
    w = np.ones(len(y))
    w[[3, 30]] = 0
    weighted = clone(est).fit(X, y, sample_weight=w)
    keep = w > 0
    removed = clone(est).fit(X[keep], y[keep])
    np.testing.assert_array_equal(weighted.predict(X), removed.predict(X))
    scores = weighted.influence(X, y)
    assert np.all(scores[[3, 30]] == 0)
    np.testing.assert_allclose(scores[keep], removed.influence(X, y), rtol=1e-9)


def test_the_training_data_as_validation_is_weighted_as_in_fit():
    """task_relatedness_ on the training data weighs rows as fit does: weights of 2
    equal repeated rows (until the thirty-ninth session every row counted once)."""
    est = SharedBottomNet(hidden_layer_sizes=(3,), activation="tanh", solver="lbfgs", max_epochs=300,
                          tol=1e-10, weight_decay=0.05, dtype="float64", projection_dim=None,
                          random_state=0, device="cpu")
    X, y = make_multitask_regression(n_tasks=3, n_samples=15, n_features=3, random_state=0)
    w = np.random.RandomState(0).randint(1, 3, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    weighted, repeated = clone(est).fit(X, y, sample_weight=w), clone(est).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.task_relatedness_, repeated.task_relatedness_, rtol=1e-5, atol=1e-8)


def test_cpu_fit_is_deterministic_and_pickles():
    X, y = make_multitask_classification(n_tasks=2, n_samples=30, n_features=4, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(8,), dropout=0.3, max_epochs=10, random_state=7, device="cpu")
    a, b = clone(est).fit(X, y), clone(est).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.influence_, b.influence_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(c.influence(X, y), a.influence(X, y))
    fresh = clone(est).fit(X, y)
    assert len(pickle.dumps(a)) == len(pickle.dumps(fresh))  # the influence cache is not saved


def test_a_model_pickled_before_fits_recorded_their_solver_runs_influence():
    """Models pickled before the forty-second session lack the solver and relu
    flags influence's stationarity check reads: the settings stand in for them."""
    X, y = make_multitask_regression(n_tasks=2, n_samples=20, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), solver="lbfgs", max_epochs=50, random_state=0,
                          device="cpu", dtype="float64").fit(X, y)
    state = est.__getstate__()
    del state["_fitted_solver"], state["_relu_bottom"]
    old = SharedBottomNet.__new__(SharedBottomNet)
    old.__setstate__(state)
    assert (old._fitted_solver, old._relu_bottom) == ("lbfgs", True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # relu after L-BFGS: the stationarity warning, as for est
        np.testing.assert_array_equal(old.influence(X, y), est.influence(X, y))


@pytest.mark.skipif(CUDA, reason="simulates a machine without a GPU")
def test_model_fitted_on_a_gpu_loads_on_the_cpu_with_a_warning():
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cpu").fit(X, y)
    expected = est.predict(X)
    est.device_ = "cuda"  # as if fitted on a GPU: loading must not move anything to CUDA
    with pytest.warns(UserWarning, match="fitted on 'cuda' and no CUDA GPU is available here"):
        loaded = pickle.loads(pickle.dumps(est))
    assert loaded.device_ == "cpu"
    np.testing.assert_array_equal(loaded.predict(X), expected)


def test_early_stopping_holds_out_rows_and_keeps_best_weights():
    X, y = make_multitask_regression(n_tasks=2, n_samples=50, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                          max_epochs=300, n_iter_no_change=5, learning_rate=0.01,
                          random_state=0, device="cpu", dtype="float64").fit(X, y)
    curve = est.validation_loss_curve_[0]
    assert len(curve) == est.n_iter_ < 300
    held = np.setdiff1d(np.arange(len(y)), est._train_data["rows"])
    assert len(held) == 20 and set(X[held, -1]) == {0, 1}  # stratified by task
    t = est._tensors({"x": X[held, :-1], "y": y[held], "task": X[held, -1].astype(int),
                      "kind": np.zeros(20, int), "scale": np.full(20, 0.1)})
    with torch.no_grad():
        eta = est.models_[0](t["x"], t["task"])
        best = (row_losses(eta, t["y"], t["kind"], 0) * t["scale"]).sum().item()
    assert best == pytest.approx(min(curve))
    assert np.all(est.influence_[held] == 0)


def test_mixed_tasks_predict_score_and_proba():
    X, y = make_multitask_classification(n_tasks=2, n_samples=30, n_features=3, random_state=0)
    y = np.where(X[:, -1] == 0, X[:, 0] * 2.5, y).astype(object)
    y[X[:, -1] == 1] = np.where(y[X[:, -1] == 1] == 1, "yes", "no")
    est = SharedBottomNet(hidden_layer_sizes=(8,), max_epochs=20, random_state=0, device="cpu").fit(X, y)
    assert list(est.task_types_) == ["regression", "classification"]
    assert list(est.classes_) == ["no", "yes"]
    pred = est.predict(X)
    assert pred.dtype == object and set(pred[X[:, -1] == 1]) <= {"no", "yes"}
    proba = est.predict_proba(X)
    assert np.isnan(proba[X[:, -1] == 0]).all() and np.allclose(proba[X[:, -1] == 1].sum(1), 1)
    assert -10 < est.score(X, y) <= 1
    assert est.influence_.shape == (60, 2) and est.task_relatedness_.shape == (2, 2)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_proba_of_the_ensemble_is_exact_where_probabilities_underflow(n_classes):
    X, y = make_multitask_classification(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    y = y + (n_classes == 3) * (X[:, 0] > 0.5)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, n_models=2, random_state=0,
                          dtype="float64", device="cpu").fit(X, y)
    for net, logit in zip(est.models_, (800.0, 900.0)):  # the members disagree, both far out
        with torch.no_grad():
            net.head_weight.zero_()
            net.head_bias.zero_()
            net.head_bias[:, -1] = logit  # the last output: class 1 (binary) or class 2
    log_proba = est.predict_log_proba(X)
    # the members' mean probability of class 0 is (e^-800 + e^-900) / 2 (or, with three
    # classes, that of 1 / (2 + e^logit)); both underflow to 0 in float64
    expected = np.logaddexp(-800.0, -900.0) - np.log(2) if n_classes == 2 else (
        np.logaddexp(-np.logaddexp(np.log(2), 800.0), -np.logaddexp(np.log(2), 900.0)) - np.log(2))
    np.testing.assert_allclose(log_proba[:, 0], expected, rtol=1e-12)
    assert np.all(est.predict_proba(X)[:, 0] == 0)
    np.testing.assert_allclose(task_losses(est, X, np.zeros(len(X), dtype=int)), -expected, rtol=1e-12)


def test_fitted_classification_net_is_a_classifier_for_scorers():
    from sklearn.base import is_classifier, is_regressor
    from sklearn.metrics import get_scorer, roc_auc_score

    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, random_state=0, device="cpu")
    assert not is_classifier(est)  # task_types=None: not known before fit
    est.fit(X, y)
    assert is_classifier(est) and not is_regressor(est)
    scores = est.decision_function(X)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(scores, np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6)
    np.testing.assert_array_equal(est.classes_[(scores > 0).astype(int)], est.predict(X))
    assert get_scorer("roc_auc")(est, X, y) == pytest.approx(roc_auc_score(y, scores))
    regressor = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, device="cpu").fit(
        *make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0))
    assert is_regressor(regressor) and not hasattr(regressor, "decision_function")


def test_task_losses_and_loto_on_mixed_tasks():
    from skmtl.inspection import loto_effects

    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    y = np.where(X[:, -1] == 0, X[:, 0] * 2.5, y).astype(object)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, task_types={0: "regression"},
                          random_state=0, device="cpu")
    est.fit(X, y)
    value, proba = est._outputs(X)[0], est.predict_proba(X)
    reg, cls = X[:, -1] == 0, X[:, -1] != 0
    y_cls = y[cls].astype(int)
    expected = [
        np.mean((value[reg] - y[reg].astype(float)) ** 2),
        -np.mean(np.log(proba[cls & (X[:, -1] == 1), y_cls[X[cls, -1] == 1]])),
        -np.mean(np.log(proba[cls & (X[:, -1] == 2), y_cls[X[cls, -1] == 2]])),
    ]
    assert np.allclose(task_losses(est, X, y), expected)
    # without a task, the network has no head for it: that task's own loss is NaN
    effects = loto_effects(est, X, y, X, y)
    assert np.isnan(np.diag(effects)).all()
    assert np.isfinite(effects[~np.eye(3, dtype=bool)]).all()


def test_user_module_is_copied_and_frozen_parameters_stay():
    X, y = make_multitask_regression(n_tasks=2, n_samples=20, n_features=4, random_state=0)
    backbone = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 5))
    backbone[0].requires_grad_(False)
    before = copy.deepcopy(backbone.state_dict())
    est = SharedBottomNet(module=backbone, hidden_layer_sizes=(), max_epochs=20, random_state=0,
                          device="cpu").fit(X, y)
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(v, before[k])  # the user's module is untouched
    fitted = est.models_[0].bottom[0]
    torch.testing.assert_close(fitted[0].weight, before["0.weight"])  # frozen stays frozen
    assert not torch.equal(fitted[2].weight, before["2.weight"])
    assert est.set_params(projection_dim=None).influence().shape == (40, 2)
    assert est._member(0).projector.dim == 6 * 5 + 5  # only the trainable layer


def test_small_and_one_class_tasks_fit():
    X, y = make_multitask_classification(n_tasks=3, n_samples=10, n_features=3, random_state=0)
    X = np.vstack([X, [[0.1, 0.2, 0.3, 7], [0.3, 0.1, 0.2, 7]]])
    y = np.concatenate([y, [1, 1]])  # task 7: two rows, one class
    y[X[:, -1] == 0] = 0  # task 0: one class
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, random_state=0, device="cpu").fit(X, y)
    assert list(est.tasks_) == [0, 1, 2, 7]
    assert np.isfinite(est.influence_).all()


def test_inferring_both_kinds_from_numbers_warns_and_task_types_silences():
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=3, random_state=0)
    X[:2, -1], y[:2] = 7, [1.0, 3.0]  # a two-row regression task with whole-number targets
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cpu")
    with pytest.warns(UserWarning, match=r"tasks \[7\] have discrete numeric targets .* tasks \[0, 1, 2\]"):
        est.fit(X, y)
    assert list(est.task_types_) == ["regression"] * 3 + ["classification"]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="task_types inferred")
        est.set_params(task_types={7: "regression"}).fit(X, y)
    assert list(est.task_types_) == ["regression"] * 4


def test_gradient_cosine_on_the_bottoms_of_all_members():
    from skmtl.relatedness import cosine_affinity

    X, y = make_multitask_classification(n_tasks=3, n_samples=12, n_features=3, random_state=0)
    X_val, y_val = X[::2], y[::2]
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=20, n_models=2, influence_batch_size=7,
                          dtype="float64", random_state=0, device="cpu")
    A = cosine_affinity(est, X, y, X_val, y_val)
    fitted = clone(est).fit(X, y)  # the same fit as inside cosine_affinity

    def task_gradients(X_part, y_part, weight):
        out = []
        for k in range(3):
            rows = X_part[:, -1] == k
            grads = []
            for net in fitted.models_:
                x = torch.as_tensor(X_part[rows, :-1])
                eta = net(x, torch.full((rows.sum(),), k))
                loss = nn.functional.binary_cross_entropy_with_logits(
                    eta[:, 0], torch.as_tensor(y_part[rows], dtype=torch.float64), reduction="none")
                grads += [g.reshape(-1) for g in torch.autograd.grad((loss * weight[rows]).sum(),
                                                                      list(net.bottom.parameters()))]
            out.append(torch.cat(grads).numpy())
        return np.array(out)

    source = task_gradients(X, y, torch.ones(len(X)) / 12)
    target = task_gradients(X_val, y_val, torch.ones(len(X_val)) / 6)
    unit = lambda g: g / np.linalg.norm(g, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(A, unit(source) @ unit(target).T, rtol=1e-10)


# -- transference (TAG) and IT-MTL ------------------------------------------------------------------
def test_tag_first_order_matches_lookahead_for_small_steps():
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(8,), solver="sgd", learning_rate=1e-4, max_epochs=3,
                          batch_size=30, random_state=0, device="cpu", dtype="float64")
    look = clone(est).set_params(record_affinity="lookahead").fit(X, y).tag_affinity_
    first = clone(est).set_params(record_affinity="first_order").fit(X, y).tag_affinity_
    plain = clone(est).fit(X, y)
    assert look.shape == (3, 3) and np.all(np.diag(look) > 0)  # a task's own step helps it
    np.testing.assert_allclose(look, first, rtol=2e-2, atol=1e-8)
    # recording does not change training
    rec = clone(est).set_params(record_affinity="lookahead").fit(X, y)
    np.testing.assert_array_equal(rec.predict(X), plain.predict(X))


def test_lookahead_affinity_with_dropout_measures_the_step_only():
    # before and after the lookahead step see the same dropout masks: with a
    # vanishing step the affinity vanishes instead of measuring mask noise
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(16,), dropout=0.5, solver="sgd", learning_rate=1e-9,
                          max_epochs=2, batch_size=30, random_state=0, device="cpu", dtype="float64")
    look = est.set_params(record_affinity="lookahead").fit(X, y).tag_affinity_
    first = clone(est).set_params(record_affinity="first_order").fit(X, y).tag_affinity_
    assert np.abs(look).max() < 1e-6 and np.all(np.diag(look) > 0)  # a task's own step helps it
    assert np.abs(first).max() < 1e-6
    # and the masks of training itself are untouched: recording changes nothing
    plain = clone(est).set_params(record_affinity=None).fit(X, y)
    np.testing.assert_array_equal(est.predict(X), plain.predict(X))


def test_it_mtl_with_one_task_is_plain_training_and_changes_many_task_training():
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(8,), max_epochs=5, batch_size=10, learning_rate=0.01,
                          random_state=0, device="cpu", dtype="float64")
    one = X[:, -1] == 0
    plain = clone(est).fit(X[one], y[one])
    it = clone(est).set_params(it_mtl=True).fit(X[one], y[one])
    np.testing.assert_allclose(it.predict(X[one]), plain.predict(X[one]), rtol=1e-10)
    for method in ("lookahead", "first_order"):
        many = clone(est).set_params(it_mtl=True, record_affinity=method).fit(X, y)
        assert not np.allclose(many.predict(X), clone(est).fit(X, y).predict(X))



def test_lookahead_leaves_running_statistics_and_refit_drops_old_affinity():
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(), module=nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)),
                          solver="sgd", max_epochs=3, batch_size=10, random_state=0, device="cpu")
    plain = clone(est).fit(X, y)
    rec = clone(est).set_params(record_affinity="lookahead").fit(X, y)
    for a, b in zip(plain.models_[0].bottom.buffers(), rec.models_[0].bottom.buffers()):
        torch.testing.assert_close(a, b)
    assert not hasattr(rec.set_params(record_affinity=None).fit(X, y), "tag_affinity_")


def test_early_stopping_with_more_tasks_than_training_rows_and_score_length():
    X, y = make_multitask_regression(n_tasks=3, n_samples=2, n_features=2, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), early_stopping=True, validation_fraction=0.6,
                          max_epochs=2, random_state=0, device="cpu").fit(X, y)
    assert len(est._train_data["rows"]) == 2
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.score(X, y[:4])


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_module_on_another_device_is_moved_before_probing():
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(), module=nn.Linear(3, 4).to("cuda"), max_epochs=2,
                          random_state=0, device="cpu").fit(X, y)
    assert next(est.models_[0].parameters()).device.type == "cpu"

# -- errors leave a fitted model unchanged ------------------------------------------------------------
class _Image(nn.Module):
    def forward(self, x):
        return x.reshape(len(x), 1, -1)


@pytest.mark.parametrize(
    "params, data, match, error",
    [
        ({"module": _Image()}, None, r"\(n, width\) for the task heads; it returned \(2, 1, 3\)", ValueError),
        ({"module": nn.Linear(5, 2)}, None, "module failed on a batch of shape", ValueError),
        ({}, "one_class", r"one class \(1\) ", ValueError),
        ({"solver": "sgd", "learning_rate": 10.0}, None, "became (inf|nan) at epoch [0-9]+", FloatingPointError),
        ({"solver": "lbfgs", "record_affinity": "lookahead"}, None, "use solver='adam' or 'sgd'", ValueError),
        ({"hidden_layer_sizes": (3, -1)}, None, "positive integers", ValueError),
        ({"task_types": {9: "regression", 0: "ordinal"}}, None, r"got \{0: 'ordinal'\}", ValueError),
        ({"warm_start": True, "n_models": 2}, None, "cannot continue", ValueError),
        ({"warm_start": True, "hidden_layer_sizes": (5,)}, None, "the network's layers differ", ValueError),
        ({"warm_start": True}, "another_feature", r"the network's layers differ \(the number of features",
         ValueError),
        ({"solver": "lbfgs"}, "huge_targets", "became inf at iteration 1", FloatingPointError),
        ({"task_types": "regression"}, "text_targets", "must be numbers", ValueError),
        ({}, "no_task_labels", "No row of X has both a task label", ValueError),
        ({"early_stopping": True, "validation_fraction": 0.99}, None, "early_stopping needs more rows",
         ValueError),
        ({"hidden_layer_sizes": (), "record_affinity": "first_order"}, None,
         "need a bottom with trainable parameters", ValueError),
    ]
    + ([] if CUDA else [({"device": "cuda"}, None, "no CUDA GPU", ValueError)]),
)
def test_bad_input_raises_and_keeps_fitted_model(params, data, match, error):
    X, y = make_multitask_regression(n_tasks=2, n_samples=20, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=50, random_state=0, device="cpu").fit(X, y)
    before = est.predict(X)
    state = {k: v for k, v in vars(est).items() if k.endswith("_")}
    if data == "one_class":
        y = np.ones(len(y), dtype=int)
    elif data == "huge_targets":  # finite, but the squared error overflows
        y = y * 1e200
    elif data == "text_targets":
        y = np.array(["a", "b"] * (len(y) // 2), dtype=object)
    X_bad = X.copy()
    if data == "no_task_labels":
        X_bad[:, -1] = np.nan
    elif data == "another_feature":
        X_bad = np.column_stack([X[:, :-1], X[:, 0], X[:, -1]])
    with warnings.catch_warnings(), pytest.raises(error, match=match):
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflowing cast to float32
        est.set_params(**params).fit(X_bad, y)
    np.testing.assert_array_equal(est.predict(X), before)
    assert all(vars(est)[k] is v for k, v in state.items())


@pytest.mark.parametrize("task_types", ["classification", "regression"])
def test_nan_targets_are_named_before_any_cast_warns(task_types):
    X, y = make_multitask_classification(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, n_iter_no_change=50, random_state=0,
                          device="cpu", task_types=task_types)
    y_nan = y.astype(float)
    y_nan[3] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one message, no RuntimeWarning of a cast before it
        with pytest.raises(ValueError, match="Input y contains NaN"):
            est.fit(X, y_nan)
    assert not hasattr(est, "models_")


def test_prediction_and_influence_errors():
    X, y = make_multitask_classification(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, random_state=0, device="cpu").fit(X, y)
    unseen = X.copy()
    unseen[0, -1] = 5
    with pytest.raises(ValueError, match=r"tasks not seen in fit: \[5\].*refit with rows of those tasks"):
        est.predict(unseen)
    with pytest.raises(ValueError, match="Invalid X_val .*X has 3 features, but SharedBottomNet is expecting 4"):
        est.influence(X[:, 1:], y)
    unseen[0, -1] = np.nan
    with pytest.raises(ValueError, match="missing task label"):
        est.predict(unseen)
    with pytest.raises(ValueError, match="only method='mtif'"):
        est.influence(X, y, method="exact")
    with pytest.raises(ValueError, match=r"classes \[7\] not seen in fit"):
        est.influence(X, np.where(np.arange(len(y)) == 0, 7, y))
    with pytest.raises(ValueError, match="both X_val and y_val"):
        est.task_relatedness(X)
    with pytest.raises(ValueError, match="X_val has 20 rows but y_val has 19"):
        est.influence(X, y[:-1])
    with pytest.raises(ValueError, match="Input y_val contains NaN"):  # not "classes [nan] not seen in fit"
        est.influence(X, np.where(np.arange(len(y)) == 0, np.nan, y))
    with pytest.warns(UserWarning, match="1 validation rows belong to tasks not seen in fit"):
        with_unseen = est.influence(np.vstack([X, unseen[1:2] + [0, 0, 0, 5]]), np.append(y, y[1]))
    np.testing.assert_allclose(with_unseen, est.influence(X, y))
    regressor = SharedBottomNet(task_types="regression", max_epochs=2, device="cpu").fit(X, y)
    assert not hasattr(regressor, "predict_proba")


def test_influence_and_relatedness_share_one_validation_pass(monkeypatch):
    X, y = make_multitask_regression(n_tasks=3, n_samples=15, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=5, projection_dim=8, random_state=0,
                          device="cpu", dtype="float64").fit(X, y)
    passes = []
    real = MemberInfluence.task_gradients
    monkeypatch.setattr(MemberInfluence, "task_gradients",
                        lambda self, *a: passes.append(1) or real(self, *a))
    infl, rel = est.influence_, est.task_relatedness_
    assert len(passes) == 1
    est.set_params(soft_threshold=0.5)
    assert est.influence_.shape == infl.shape
    assert len(passes) == 1  # the threshold acts on the scores, not on the operators
    np.testing.assert_array_equal(est.set_params(soft_threshold=0.0).influence(), infl)
    est.set_params(projection_dim=6)
    assert not np.allclose(est.influence_, infl)
    assert len(passes) == 2
    Xv, yv = X[::2], y[::2]
    given = est.influence(Xv, yv)
    np.testing.assert_array_equal(est.task_relatedness(Xv.copy(), yv.copy()), est.task_relatedness(Xv, yv))
    assert len(passes) == 3  # the same validation data given again: cached
    np.testing.assert_array_equal(est.influence(Xv, yv), given)
    est.task_relatedness(Xv, yv + 1.0)
    assert len(passes) == 4
    est.set_params(projection_dim=8)
    assert est.task_relatedness_ is rel  # the fitted attribute of that setting is kept
    np.testing.assert_allclose(est.task_relatedness(), rel, rtol=1e-12)  # operators recomputed
    assert len(passes) == 5
    est.fit(X[3:], y[3:])  # a refit clears every cache
    assert est.influence_.shape == (len(X) - 3, 3)
    assert len(passes) == 6


# -- devices ----------------------------------------------------------------------------------------
def test_auto_device_follows_torch():
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, random_state=0).fit(X, y)
    assert est.device_ == ("cuda" if CUDA else "cpu")
    assert next(est.models_[0].parameters()).device.type == est.device_


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_model_fitted_on_the_gpu_loads_where_cuda_is_hidden(tmp_path):
    X, y = make_multitask_regression(n_tasks=2, n_samples=10, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=2, random_state=0, device="cuda").fit(X, y)
    assert est.influence_.shape == (20, 2)  # fills the GPU-resident cache, which is not saved
    path = tmp_path / "net.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    script = (
        "import pickle, sys, warnings, numpy as np; warnings.simplefilter('ignore'); "
        f"est = pickle.loads(open({str(path)!r}, 'rb').read()); "
        f"print(est.device_, *est.predict(np.load({str(tmp_path / 'X.npy')!r})))"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    device, *predictions = out.stdout.split()
    assert device == "cpu"
    np.testing.assert_allclose(np.array(predictions, dtype=float), est.predict(X), rtol=1e-5)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", ["regression", "multiclass", "no bottom"])
def test_cuda_matches_cpu(kind):
    if kind == "multiclass":
        X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
        y = y + (X[:, 0] > 0.5)
    else:
        X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    # "no bottom": linear heads on the features, an empty shared block on the GPU
    sizes = () if kind == "no bottom" else (5, 4)
    cpu = _exact(projection_dim=8, hidden_layer_sizes=sizes).fit(X, y)
    gpu = copy.deepcopy(cpu)  # the same weights, moved: every influence step runs on the GPU
    gpu.models_ = [net.to("cuda") for net in gpu.models_]
    gpu.device_, gpu._cache = "cuda", {}
    assert gpu._member(0).featurizer.fast and gpu._member(0).data["x"].is_cuda
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gpu.influence(X, y), cpu.influence(X, y), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(gpu.task_relatedness(), cpu.task_relatedness(), rtol=1e-7, atol=1e-12)
    if kind == "no bottom":
        return  # TAG and IT-MTL need shared parameters
    fitted = clone(cpu).set_params(device="cuda", solver="adam", record_affinity="lookahead",
                                   it_mtl=True, max_epochs=3, batch_size=16).fit(X, y)
    assert next(fitted.models_[0].parameters()).is_cuda
    assert np.isfinite(fitted.tag_affinity_).any() and np.isfinite(fitted.influence_).all()


@pytest.mark.parametrize("n_values, kind", [(21, "regression"), (20, "classification")])
def test_whole_numbers_are_classes_up_to_twenty_values(n_values, kind):
    # as infer_target_kind and the command line read them: more than 20 distinct whole
    # numbers (over the tasks that hold them) are a measurement, counts or grams
    X, _ = make_multitask_regression(n_tasks=3, n_samples=42, random_state=0)
    y = np.arange(len(X)) % n_values
    net = SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=1, device="cpu", random_state=0).fit(X, y)
    assert set(net.task_types_) == {kind}
    assert infer_target_kind(y)[0] == kind
    if kind == "classification":
        assert len(net.classes_) == n_values


def test_validation_rows_in_other_units_than_the_fit_are_named():
    X, y = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    est = SharedBottomNet(hidden_layer_sizes=(3,), max_epochs=5, dtype="float64", random_state=0,
                          device="cpu").fit(X, y)
    raw = X.copy()
    raw[:, 0] = 100 + 10 * raw[:, 0]
    with pytest.warns(UserWarning, match=r"X_val's column 0 is centred at .*SharedBottomNet was fitted on"):
        est.task_relatedness(raw, y)
