"""Grad-TAE for SharedBottomNet: the first-order expansion of its outputs against dense references."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.func import hessian  # noqa: E402

from skmtl.datasets import make_multitask_classification, make_multitask_regression  # noqa: E402
from skmtl.network import SharedBottomNet  # noqa: E402
from skmtl.network._expansion import OutputLoss  # noqa: E402
from skmtl.network._influence import CLASSIFICATION, REGRESSION, row_losses  # noqa: E402
from skmtl.relatedness import gradient_affinity, task_subset_losses  # noqa: E402
from skmtl.relatedness._adapters import adapter_for  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _net(**params):
    base = dict(hidden_layer_sizes=(3,), activation="tanh", max_epochs=30, dtype="float64",
                influence_batch_size=7, random_state=0, device="cpu")
    return SharedBottomNet(**{**base, **params})


def _moved(est, step):
    """Copies of the members, each trainable parameter moved by its slice of ``step``
    (members side by side, parameters in the order of ``named_parameters``)."""
    nets, offset = [], 0
    for net in est.models_:
        net = copy.deepcopy(net)
        with torch.no_grad():
            for p in net.parameters():
                if p.requires_grad:
                    p += torch.as_tensor(step[offset:offset + p.numel()]).reshape(p.shape)
                    offset += p.numel()
        nets.append(net)
    assert offset == len(step)
    return nets


def _mean_output(nets, X):
    x, task = torch.as_tensor(X[:, :-1]), torch.as_tensor(X[:, -1]).long()
    with torch.no_grad():
        return sum(net(x, task) for net in nets).numpy() / len(nets)


@pytest.mark.parametrize("kind", ["regression", "mixed multiclass"])
def test_output_gradients_are_the_jacobian_of_the_ensemble_mean_output(kind):
    if kind == "regression":
        X, y = make_multitask_regression(n_tasks=3, n_samples=8, n_features=3, random_state=0)
        est = _net(n_models=2).fit(X, y)
    else:
        X, y = make_multitask_classification(n_tasks=3, n_samples=8, n_features=3, random_state=0)
        y = np.where(X[:, -1] == 2, X[:, 0], y + (X[:, 1] > 1))  # classes 0, 1, 2 and one regression task
        est = _net(n_models=2, task_types={0: "classification", 1: "classification", 2: "regression"})
        est.fit(X, y)
    adapter = adapter_for(est, needs=("output_gradients", "loss"))
    row_task, eta, G = adapter.output_gradients(adapter.data(X, y))
    n_params = sum(p.numel() for p in est.models_[0].parameters())
    assert G.shape == (len(X), est._n_out, 2 * n_params)
    np.testing.assert_array_equal(row_task, X[:, -1].astype(int))
    np.testing.assert_allclose(eta, _mean_output(est.models_, X), rtol=1e-12)
    # central differences of the real ensemble along random directions
    rng = np.random.default_rng(0)
    for _ in range(3):
        v, eps = rng.standard_normal(G.shape[-1]), 1e-5
        diff = (_mean_output(_moved(est, eps * v), X) - _mean_output(_moved(est, -eps * v), X)) / (2 * eps)
        np.testing.assert_allclose(G @ v, diff, rtol=1e-6, atol=1e-8)
    # a row of task k does not see the other tasks' heads
    head = [name for name, _ in est.models_[0].named_parameters()].index("head_weight")
    offsets = np.cumsum([0] + [p.numel() for p in est.models_[0].parameters()])
    block = G[:, :, offsets[head]:offsets[head + 1]].reshape(len(X), est._n_out, 3, -1)
    others = np.arange(3)[None, :] != row_task[:, None]
    assert np.all(block[others[:, None, :].repeat(est._n_out, axis=1)] == 0)


def test_output_loss_is_the_row_loss_with_its_derivatives():
    rng = np.random.default_rng(0)
    eta = rng.standard_normal((6, 3))
    kind = np.array([REGRESSION, CLASSIFICATION] * 3)
    target = np.where(kind == REGRESSION, rng.standard_normal(6), rng.integers(3, size=6))
    Y = np.column_stack([target, kind]).astype(float)
    loss = OutputLoss(n_classes=3)

    def row(e, i):
        return row_losses(e[None], torch.as_tensor(target[i:i + 1]), torch.as_tensor(kind[i:i + 1]), 3)[0]

    eta_t = torch.as_tensor(eta)
    np.testing.assert_allclose(loss.loss(eta, Y), [row(eta_t[i], i).item() for i in range(6)], rtol=1e-12)
    grads = [torch.func.grad(row)(eta_t[i], i).numpy() for i in range(6)]
    np.testing.assert_allclose(loss.gradient(eta, Y), grads, rtol=1e-10, atol=1e-12)
    hessians = [hessian(row)(eta_t[i], i).numpy() for i in range(6)]
    np.testing.assert_allclose(loss.hessian(eta, Y), hessians, rtol=1e-10, atol=1e-12)


def test_subset_losses_follow_the_real_network_for_small_steps():
    """With a strong ridge the fitted step is a small gradient step on the subset's
    objective: the predicted losses are those of the real network moved by it."""
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=3, random_state=0)
    est = _net().fit(X, y)  # the same fit as inside task_subset_losses
    net = est.models_[0]
    subset = np.array([True, False, True])
    x, task = torch.as_tensor(X[:, :-1]), torch.as_tensor(X[:, -1]).long()
    y_t = torch.as_tensor(y)
    kind = torch.full_like(task, REGRESSION)

    def task_means(module):
        per_row = row_losses(module(x, task), y_t, kind, 0)
        return torch.stack([per_row[task == k].mean() for k in range(3)])

    params = [p for p in net.parameters() if p.requires_grad]
    grad = torch.autograd.grad(task_means(net)[torch.as_tensor(subset)].sum(), params)
    grad = torch.cat([g.reshape(-1) for g in grad]).numpy()
    with torch.no_grad():
        full = task_means(net).numpy()
    errors = []
    for ridge in (1e2, 1e3):
        predicted = task_subset_losses(est, X, y, subsets=[subset], method="gradient", ridge=ridge).losses[0]
        with torch.no_grad():  # minimizer of the expansion ~ -gradient / (2 ridge) for a strong ridge
            actual = task_means(_moved(est, -grad / (2 * ridge))[0]).numpy()
        assert np.isnan(predicted[1]) and np.all(actual[subset] < full[subset])
        change = actual[subset] - full[subset]
        errors.append(np.max(np.abs(predicted[subset] - actual[subset]) / np.abs(change)))
    assert errors[0] < 0.05 and errors[1] < errors[0] / 5  # the error shrinks with the step


def test_fine_tuned_subset_losses_of_an_ensemble_never_exceed_the_full_fit():
    """On the training data the expansion's fit starts from the full model (w = 0),
    so the subset's summed task losses can only go down."""
    X, y = make_multitask_classification(n_tasks=3, n_samples=10, n_features=3, random_state=0)
    est = _net(n_models=2).fit(X, y)
    adapter = adapter_for(est)
    _, eta, _ = adapter.output_gradients(adapter.train_data())
    per_row = adapter.loss.loss(eta, adapter.train_data()[1])
    full = np.array([per_row[X[:, -1] == k].mean() for k in range(3)])
    res = task_subset_losses(est, X, y, n_subsets=5, method="gradient", random_state=0)
    for subset, losses in zip(res.subsets, res.losses):
        assert losses[subset].sum() < full[subset].sum()
    assert gradient_affinity(est, X, y, n_subsets=5, random_state=0).shape == (3, 3)
