"""Task weighting strategies of SharedBottomNet against their published update rules,
and task-balanced batches."""

import numpy as np
import pytest
import torch
from scipy.special import logsumexp, softmax
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skmtl.datasets import make_multitask_classification
from skmtl.model_selection import TaskStratifiedKFold
from skmtl.network import SharedBottomNet
from skmtl.network._training import TaskBalancedBatches, choose_batch_sampling
from skmtl.network._weighting import WEIGHTINGS, make_weighting, min_norm_weights


def strategy(name, n_tasks=2, seed=0, **params):
    return make_weighting(name, params, n_tasks=n_tasks, seed=seed, weight_decay=0.0,
                          device="cpu", dtype=torch.float64)


def t(values):
    return torch.as_tensor(np.asarray(values, dtype=float))


def direction(name, grads, losses=None, **params):
    grads = np.asarray(grads, dtype=float)
    losses = np.ones(len(grads)) if losses is None else losses
    out, heads = strategy(name, len(grads), **params).combine(t(losses), t(grads), list(range(len(grads))))
    return out.numpy(), heads.numpy()


# -- loss weightings ---------------------------------------------------------------


def test_uw_is_kendall_uncertainty_weighting():
    uw = strategy("uw", 3)
    s = np.array([0.5, -1.0, 0.0])
    with torch.no_grad():
        uw.log_var.copy_(t(s))
    losses = np.array([1.0, 2.0, 3.0])
    got = uw.combine(t(losses[[0, 2]]), [0, 2]).item()
    assert got == pytest.approx(sum(0.5 * np.exp(-s[k]) * losses[k] + 0.5 * s[k] for k in (0, 2)))
    assert uw.parameters() == [uw.log_var]


def test_rlw_weights_are_softmax_of_normal_draws_on_the_simplex():
    losses = np.array([1.0, 2.0, 5.0])
    rlw = strategy("rlw", 3, seed=7)
    rng = np.random.RandomState(7)
    for _ in range(5):
        w = softmax(rng.standard_normal(3))
        assert rlw.combine(t(losses), [0, 1, 2]).item() == pytest.approx(w @ losses)
    draws = np.stack([strategy("rlw", 3, seed=s).weights(3).numpy() for s in range(20)])
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    assert (draws > 0).all() and draws.std(axis=0).min() > 0.05


def test_dwa_weights_follow_the_loss_ratio_of_the_last_two_epochs():
    dwa = strategy("dwa", 2, temperature=2.0)
    losses = np.array([2.0, 3.0])
    for epoch in ([1.0, 2.0], [0.5, 1.5]):
        assert dwa.combine(t(epoch), [0, 1]).item() == pytest.approx(sum(epoch))  # weights 1
        dwa.on_epoch_end(None, 0.0)
    r = np.array([0.5 / 1.0, 1.5 / 2.0])
    w = 2 * np.exp(r / 2.0) / np.exp(r / 2.0).sum()
    assert dwa.combine(t(losses), [0, 1]).item() == pytest.approx(w @ losses)


def test_gls_is_the_geometric_mean():
    assert strategy("gls", 3).combine(t([1.0, 4.0, 16.0]), [0, 1, 2]).item() == pytest.approx(4.0)


def test_stch_is_a_smooth_max_of_log_losses_over_the_nadir():
    stch = strategy("stch", 3, mu=0.1, warmup_epochs=1)
    warm = np.array([[2.0, 1.0, 4.0], [2.0, 3.0, 4.0]])
    for losses in warm:
        assert stch.combine(t(losses), [0, 1, 2]).item() == pytest.approx(np.log(losses).sum())
    stch.on_epoch_end(None, 0.0)
    losses = np.array([1.0, 1.0, 3.0])
    x = np.log(losses / warm.mean(axis=0))
    got = stch.combine(t(losses), [0, 1, 2]).item()
    assert got == pytest.approx(3 * 0.1 * logsumexp(x / 0.1))
    assert 3 * x.max() <= got <= 3 * (x.max() + 0.1 * np.log(3))


def test_excess_mtl_exponentiated_update_of_adagrad_excess_risks():
    ex = strategy("excess_mtl", 2, step_size=0.5)
    g1, g2 = np.array([[1.0, 2.0], [0.5, 0.0]]), np.array([[2.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(ex.update(t(g1), [0, 1]), [1.0, 1.0])  # first step: the reference
    acc = g1**2 + g2**2
    excess = lambda g, a: ((g**2) / np.sqrt(a + 1e-7)).sum(axis=1)  # noqa: E731
    ratio = excess(g2, acc) / excess(g1, g1**2)
    w = np.exp(0.5 * ratio)
    np.testing.assert_allclose(ex.update(t(g2), [0, 1]), 2 * w / w.sum())
    assert ex.combine(t([1.0, 3.0]), [0, 1]).item() == pytest.approx(2 * w / w.sum() @ [1.0, 3.0])


# -- gradient combinations ---------------------------------------------------------


def test_pcgrad_projects_conflicting_gradients():
    d, heads = direction("pcgrad", [[1.0, 0.0], [-1.0, 1.0]])
    # g1 - (g1.g2 / |g2|^2) g2 = (.5, .5); g2 - (g2.g1 / |g1|^2) g1 = (0, 1)
    np.testing.assert_allclose(d, [0.5, 1.5])
    np.testing.assert_array_equal(heads, [1.0, 1.0])
    agreeing = [[1.0, 0.0], [1.0, 1.0]]
    np.testing.assert_allclose(direction("pcgrad", agreeing)[0], np.sum(agreeing, axis=0))


def test_mgda_two_tasks_is_the_closed_form_min_norm_point():
    g1, g2 = np.array([1.0, 0.2, 0.0]), np.array([-0.5, 1.0, 0.3])
    gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
    np.testing.assert_allclose(direction("mgda", [g1, g2])[0], gamma * g1 + (1 - gamma) * g2, atol=1e-6)


def test_mgda_min_norm_point_satisfies_the_optimality_conditions():
    grads = np.random.default_rng(0).normal(size=(4, 6))
    w = min_norm_weights(grads @ grads.T, max_iter=5000, tol=1e-12)
    d = w @ grads
    # min-norm point of the hull: d.g_k >= |d|^2 for every k, with equality where w_k > 0
    assert np.all(grads @ d >= d @ d - 1e-6)
    np.testing.assert_allclose((grads @ d)[w > 1e-4], d @ d, atol=1e-5)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()


def test_cagrad_matches_a_brute_force_search_over_the_simplex():
    grads = np.array([[1.0, 0.0], [-0.8, 0.6]])
    c = 0.5
    g0 = grads.mean(axis=0)
    radius = c * np.linalg.norm(g0)
    a = np.linspace(0, 1, 200001)
    gw = a[:, None] * grads[0] + (1 - a[:, None]) * grads[1]
    best = gw[np.argmin(gw @ g0 + radius * np.linalg.norm(gw, axis=1))]
    expected = (g0 + radius * best / np.linalg.norm(best)) / (1 + c**2)
    np.testing.assert_allclose(direction("cagrad", grads, c=c)[0], expected, atol=1e-4)
    np.testing.assert_allclose(direction("cagrad", grads, c=0.0)[0], g0, atol=1e-6)


def test_imtl_projections_on_every_unit_gradient_are_equal():
    grads = np.random.default_rng(1).normal(size=(3, 5))
    d = direction("imtl", grads)[0]
    units = grads / np.linalg.norm(grads, axis=1, keepdims=True)
    np.testing.assert_allclose(units @ d, (units @ d)[0], rtol=1e-6)
    alpha = np.linalg.lstsq(grads.T, d, rcond=None)[0]
    assert alpha.sum() == pytest.approx(1.0)
    # two tasks, closed form: the combination orthogonal to u1 - u2 on the line g2 + a (g1 - g2)
    g1, g2 = grads[:2]
    u = units[0] - units[1]
    a = -(g2 @ u) / ((g1 - g2) @ u)
    np.testing.assert_allclose(direction("imtl", grads[:2])[0], a * g1 + (1 - a) * g2, rtol=1e-6)


def test_db_mtl_balances_log_loss_gradients_by_magnitude():
    db = strategy("db_mtl", 2, beta=0.9, beta_sigma=0.5)
    losses = np.array([2.0, 0.5])
    grads1, grads2 = np.array([[2.0, 0.0], [0.0, 0.1]]), np.array([[1.0, 1.0], [0.1, 0.0]])
    h = np.zeros((2, 2))
    for step, grads in enumerate((grads1, grads2), start=1):
        log_grads = grads / losses[:, None]
        beta = 0.9 / step**0.5
        h = beta * h + (1 - beta) * log_grads
        norms = np.linalg.norm(h, axis=1)
        d, heads = db.combine(t(losses), t(grads), [0, 1])
        np.testing.assert_allclose(d.numpy(), (norms.max() / norms) @ h, rtol=1e-6)
        np.testing.assert_allclose(heads.numpy(), 1 / losses)  # heads descend log L_k


def test_gradnorm_weight_gradient_is_the_published_rule():
    gn = strategy("gradnorm", 3, alpha=1.5)
    grads = np.array([[1.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    first, now = np.array([2.0, 1.0, 1.0]), np.array([1.0, 0.9, 0.5])
    gn.combine(t(first), t(grads), [0, 1, 2])
    theta = np.array([0.2, -0.1, 0.0])
    with torch.no_grad():
        gn.theta.copy_(t(theta))
    d, heads = gn.combine(t(now), t(grads), [0, 1, 2])
    s = softmax(theta)
    w = 3 * s
    norms = np.linalg.norm(grads, axis=1)
    ratio = now / first
    target = (w * norms).mean() * (ratio / ratio.mean()) ** 1.5
    dw = np.sign(w * norms - target) * norms  # d/dw_k of sum |w_k |g_k| - target_k|
    np.testing.assert_allclose(gn.theta.grad.numpy(), 3 * (np.diag(s) - np.outer(s, s)) @ dw)
    np.testing.assert_allclose(heads.numpy(), w)
    np.testing.assert_allclose(d.numpy(), w @ grads)


# -- in SharedBottomNet -------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return make_multitask_classification(n_tasks=3, n_samples=12, n_features=3, random_state=0)


def tiny(**params):
    return SharedBottomNet(hidden_layer_sizes=(4,), max_epochs=3, batch_size=12, learning_rate=0.01,
                           n_iter_no_change=50, projection_dim=None, random_state=0, device="cpu",
                           **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_every_method_trains_with_finite_loss(name, data):
    X, y = data
    net = tiny(task_weighting=name, batch_sampling="task_balanced").fit(X, y)
    assert len(net.loss_curve_[0]) == 3 and np.isfinite(net.loss_curve_[0]).all()
    assert net.predict_proba(X).shape == (len(X), 2)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_influence_and_tag_recording_with_a_gradient_method(data):
    X, y = data
    net = tiny(task_weighting="pcgrad", record_affinity="first_order").fit(X, y)
    assert np.isfinite(net.tag_affinity_).all()
    influence = net.influence(X, y)
    assert influence.shape == (len(X), 3) and np.isfinite(influence).all()
    # the influence is that of the objective sum_k L_k at the trained weights
    ew = tiny(record_affinity="first_order").fit(X, y)
    ew.models_ = net.models_
    ew._cache = {}
    np.testing.assert_allclose(ew.influence(X, y), influence)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_task_weighting_is_searchable_and_validated(data):
    X, y = data
    grid = [{"task_weighting": ["ew"]},
            {"task_weighting": ["cagrad"], "task_weighting_params": [{"c": 0.2}, {"c": 0.8}]}]
    search = GridSearchCV(tiny(), grid, cv=TaskStratifiedKFold(2)).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.cv_results_["params"][2] == {"task_weighting": "cagrad", "task_weighting_params": {"c": 0.8}}
    assert clone(tiny(task_weighting_params={"c": 0.2})).task_weighting_params == {"c": 0.2}
    net = tiny().fit(X, y)
    before = net.predict_proba(X)
    with pytest.raises(ValueError, match="accepts: c"):
        net.set_params(task_weighting="cagrad", task_weighting_params={"alpha": 1}).fit(X, y)
    np.testing.assert_array_equal(net.predict_proba(X), before)
    bad_values = [("dwa", {"temperature": 0}), ("stch", {"warmup_epochs": 0.5}), ("cagrad", {"c": -1}),
                  ("db_mtl", {"beta": 2}), ("excess_mtl", {"step_size": "big"}), ("gradnorm", {"alpha": -1})]
    for name, params in bad_values:
        with pytest.raises(ValueError, match=f"'{next(iter(params))}' parameter of task_weighting_params"):
            net.set_params(task_weighting=name, task_weighting_params=params).fit(X, y)
        np.testing.assert_array_equal(net.predict_proba(X), before)
    with pytest.raises(ValueError, match="it_mtl=False"):
        tiny(task_weighting="mgda", it_mtl=True).fit(X, y)
    with pytest.raises(ValueError, match="no trainable parameters"):
        tiny(task_weighting="mgda").set_params(hidden_layer_sizes=()).fit(X, y)


def test_task_balanced_batches_cycle_small_tasks():
    task = torch.as_tensor(np.repeat([0, 1, 2], [10, 3, 5]))
    batches = TaskBalancedBatches(task, 6, np.random.RandomState(0), torch.float64)
    steps = list(batches())
    assert len(steps) == 5  # the largest task, 2 rows per step
    drawn = np.concatenate([idx.numpy() for idx, _, _ in steps])
    for idx, factor, share in steps:
        np.testing.assert_array_equal(np.bincount(task[idx].numpy(), minlength=3), [2, 2, 2])
        np.testing.assert_allclose(factor.numpy(), np.repeat([5.0, 1.5, 2.5], 2))
        assert share == pytest.approx(0.2)
    counts = np.bincount(drawn, minlength=18)
    np.testing.assert_array_equal(counts[:10], 1)  # the largest task: each row once
    assert counts[10:13].min() >= 3 and counts[13:].min() >= 2  # smaller tasks: cycled


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_task_balanced_equals_full_batch_when_a_step_holds_every_task_once(data):
    X, y = data  # 3 tasks of 12 rows: a balanced step of 36 rows is the whole data
    balanced = tiny(batch_sampling="task_balanced").set_params(batch_size=36).fit(X, y)
    uniform = tiny(batch_sampling="uniform").set_params(batch_size=36).fit(X, y)
    np.testing.assert_allclose(balanced.loss_curve_[0], uniform.loss_curve_[0], rtol=1e-5)
    np.testing.assert_allclose(balanced.predict_proba(X), uniform.predict_proba(X), rtol=1e-5)


def test_auto_sampling_balances_only_nearly_equal_tasks_a_step_can_hold():
    def sizes(*counts):
        return np.repeat(np.arange(len(counts)), counts)
    # the 1.5 that SharedBottomNet's docstring states
    assert choose_batch_sampling("auto", sizes(10, 12, 15), 30) == "task_balanced"
    assert choose_batch_sampling("auto", sizes(10, 12, 16), 30) == "uniform"
    assert choose_batch_sampling("auto", sizes(2, 3), 4) == "task_balanced"
    assert choose_batch_sampling("auto", sizes(2, 3), 200) == "uniform"  # a full batch stays one
    assert choose_batch_sampling("auto", sizes(*[5] * 8), 8) == "task_balanced"
    assert choose_batch_sampling("auto", sizes(*[5] * 8), 7) == "uniform"  # no step holds every task
    assert choose_batch_sampling("auto", sizes(*[5] * 8), 40) == "task_balanced"  # every row, once
    assert choose_batch_sampling("auto", sizes(*[5] * 8), 48) == "uniform"  # would draw rows twice
    for chosen in ("uniform", "task_balanced"):
        assert choose_batch_sampling(chosen, sizes(1, 100), 2) == chosen


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_sampling_trains_as_the_sampler_it_chooses(data):
    X, y = data  # 3 tasks of 12 rows
    ragged = np.flatnonzero((X[:, -1] != X[0, -1]) | (np.arange(len(y)) % 12 < 6))  # one task halved
    for rows, chosen in ((np.arange(len(y)), "task_balanced"), (ragged, "uniform")):
        auto = tiny().set_params(batch_size=6).fit(X[rows], y[rows])
        assert auto.batch_sampling_ == chosen
        same = tiny(batch_sampling=chosen).set_params(batch_size=6).fit(X[rows], y[rows])
        assert same.batch_sampling_ == chosen
        np.testing.assert_array_equal(auto.loss_curve_[0], same.loss_curve_[0])
        np.testing.assert_array_equal(auto.predict_proba(X), same.predict_proba(X))
        other = tiny(batch_sampling={"uniform": "task_balanced", "task_balanced": "uniform"}[chosen])
        assert not np.array_equal(other.set_params(batch_size=6).fit(X[rows], y[rows]).loss_curve_[0],
                                  auto.loss_curve_[0])
