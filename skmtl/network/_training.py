"""The training loop: the objective, the solvers, early stopping and the callbacks.

The mini-batch loop knows no multitask method: whatever acts on its steps
(early stopping here, TAG / IT-MTL recording in ``_recording``, the task
weighting in ``_weighting``, which also does the step's backward pass) is a
:class:`Callback`, as in skorch, so the loop stays the same whichever are on.
The batches come from a sampler (:class:`UniformBatches`,
:class:`TaskBalancedBatches`).
"""

import copy
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ._influence import row_losses


class Objective:
    """The fit's objective ``sum_k L_k + weight_decay / 2 * ||params||^2``.

    ``L_k`` is the weighted mean loss of task ``k``: each row carries
    ``scale`` = its weight over its task's total weight.
    """

    def __init__(self, n_classes, weight_decay):
        self.n_classes = n_classes
        self.weight_decay = weight_decay

    def terms(self, eta, batch, factor=1.0):
        """Per-row weighted loss terms ``factor * s_i * l_i`` of outputs ``eta``."""
        losses = row_losses(eta, batch["y"], batch["kind"], self.n_classes)
        return losses * batch["scale"] * factor

    def parts(self, net, batch, n_total):
        """Per-row terms ``n_total / n_batch * s_i * l_i``: they sum to an unbiased
        estimate of the data part of the objective over ``n_total`` rows."""
        return self.terms(net(batch["x"], batch["task"]), batch, n_total / len(batch["x"]))

    def penalty(self, net):
        return 0.5 * self.weight_decay * sum((p * p).sum() for p in trainable(net))


def trainable(module):
    return [p for p in module.parameters() if p.requires_grad]


def task_membership(task, dtype):
    """The tasks present in ``task`` (a list) and the ``(n_present, n)`` 0/1 matrix
    of their rows: a product with it sums per task without boolean indexing (no
    host synchronization per task on a GPU) and in a fixed order."""
    present = torch.unique(task)
    return present.tolist(), (present[:, None] == task[None, :]).to(dtype)


class Callback:
    """A hook into :func:`fit_minibatch`; every method here does nothing."""

    #: whether :meth:`on_grad_computed` differentiates the step's graph again
    needs_graph = False

    def on_grad_computed(self, net, batch, parts, factor):
        """After the step's backward pass, before the optimizer step: ``parts``
        are the batch's per-row objective terms (graph kept when
        ``needs_graph``), ``factor`` the scale of :meth:`Objective.parts`.
        May overwrite the parameters' ``grad``."""

    def on_epoch_end(self, net, loss):
        """After each epoch with its training objective; return True to stop."""
        return False

    def on_train_end(self, net):
        """After the last epoch."""


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``tol`` for ``patience`` epochs.

    The monitored loss is the training objective, or with ``held`` (tensors of
    held-out rows) the held-out loss, recorded in ``curve``; then the weights
    of the best epoch are restored when training ends.
    """

    def __init__(self, objective, held=None, *, tol, patience):
        self.objective, self.held = objective, held
        self.tol, self.patience = tol, patience
        self.best, self.best_state, self.stalled = np.inf, None, 0
        self.curve = []

    def on_epoch_end(self, net, loss):
        if self.held is not None:
            with torch.no_grad():
                net.eval()
                loss = self.objective.parts(net, self.held, len(self.held["x"])).sum().item()
            self.curve.append(loss)
        if loss < self.best - self.tol:
            self.best, self.stalled = loss, 0
            if self.held is not None:
                self.best_state = copy.deepcopy(net.state_dict())
        else:
            self.stalled += 1
        return self.stalled >= self.patience

    def on_train_end(self, net):
        if self.best_state is not None:
            net.load_state_dict(self.best_state)


def make_optimizer(solver, params, learning_rate):
    """Adam, or SGD with Nesterov momentum 0.9."""
    if solver == "adam":
        return torch.optim.Adam(params, lr=learning_rate)
    return torch.optim.SGD(params, lr=learning_rate, momentum=0.9, nesterov=True)


def train(net, data, objective, *, solver, learning_rate, batch_size, max_epochs, tol,
          n_iter_no_change, seed, weighting, batch_sampling="uniform", held=None, callbacks=(),
          bar):
    """Train ``net`` on the tensors ``data`` with ``solver``.

    Adam and SGD run :func:`fit_minibatch` with the task ``weighting`` (a
    :class:`~._weighting.TaskWeighting`), ``callbacks`` and
    :class:`EarlyStopping` (on the tensors ``held`` when given), on batches
    drawn as ``batch_sampling`` says; L-BFGS runs :func:`fit_lbfgs` and takes
    none of them. Returns the iterations run, the training objective per
    iteration, the held-out loss per epoch and whether training stopped on its
    own criterion (rather than at ``max_epochs``).
    """
    if solver == "lbfgs":
        n_iter, curve, converged = fit_lbfgs(net, data, objective, max_iter=max_epochs, tol=tol, bar=bar)
        return n_iter, curve, [], converged
    stopping = EarlyStopping(objective, held, tol=tol, patience=n_iter_no_change)
    optimizer = make_optimizer(solver, trainable(net) + weighting.parameters(), learning_rate)
    order = np.random.RandomState(seed)
    if batch_sampling == "task_balanced":
        batches = TaskBalancedBatches(data["task"], batch_size, order, data["x"].dtype)
    else:
        batches = UniformBatches(len(data["x"]), batch_size, order, data["x"].device)
    n_iter, curve, converged = fit_minibatch(
        net, data, objective, optimizer, batches=batches, max_epochs=max_epochs,
        weighting=weighting, callbacks=[*callbacks, weighting, stopping], bar=bar,
    )
    return n_iter, curve, stopping.curve, converged


#: ``batch_sampling="auto"`` draws task-balanced batches while the largest
#: task holds at most this many times the rows of the smallest: up to there
#: they tie with uniform batches per step and lead per epoch; from about
#: twice on, cycling the small tasks fits their noise (doc/network.rst)
NEARLY_EQUAL_TASKS = 1.5


def choose_batch_sampling(batch_sampling, task, batch_size):
    """``batch_sampling``, with ``"auto"`` resolved for the training rows'
    task codes ``task``: ``"task_balanced"`` when no task has more than
    :data:`NEARLY_EQUAL_TASKS` times the rows of another and a step of
    ``batch_size`` rows holds at least one row of every task and at most all
    rows of the smallest (no row twice in a step: a full batch stays the
    exact gradient), else ``"uniform"``."""
    if batch_sampling != "auto":
        return batch_sampling
    sizes = np.unique(np.asarray(task), return_counts=True)[1]
    nearly_equal = sizes.max() <= NEARLY_EQUAL_TASKS * sizes.min()
    per_task = batch_size // len(sizes)
    return "task_balanced" if nearly_equal and 1 <= per_task <= sizes.min() else "uniform"


class UniformBatches:
    """Epochs of shuffled mini-batches of ``batch_size`` rows out of ``n``.

    Calling it yields one epoch's steps as ``(rows, factor, share)``: the
    rows, the factor that makes their objective terms an unbiased estimate of
    the whole objective (``n / len(rows)``), and the step's share of the epoch.
    """

    def __init__(self, n, batch_size, order, device):
        self.n, self.batch_size, self.order, self.device = n, batch_size, order, device

    def __call__(self):
        perm = torch.as_tensor(self.order.permutation(self.n), device=self.device)
        for start in range(0, self.n, self.batch_size):
            idx = perm[start:start + self.batch_size]
            yield idx, self.n / len(idx), len(idx) / self.n


class TaskBalancedBatches:
    """Mini-batches with the same number of rows of every task.

    Each step takes ``batch_size // n_tasks`` rows (at least one) of every
    task from its own shuffled queue, reshuffled whenever it runs out, so
    small tasks are cycled; an epoch is as many steps as the largest task
    needs to be seen once. Yields what :class:`UniformBatches` yields, with a
    per-row factor ``n_k / b`` (``n_k`` the task's rows, ``b`` its rows per
    step).
    """

    def __init__(self, task, batch_size, order, dtype):
        self.device, self.order = task.device, order
        self.rows = [np.flatnonzero(task.cpu().numpy() == k) for k in torch.unique(task).tolist()]
        self.per_task = max(1, batch_size // len(self.rows))
        self.n_steps = int(np.ceil(max(len(r) for r in self.rows) / self.per_task))
        self.queues = [np.array([], dtype=np.intp)] * len(self.rows)
        self.factor = torch.as_tensor(
            np.repeat([len(r) / self.per_task for r in self.rows], self.per_task),
            dtype=dtype, device=self.device,
        )

    def _take(self, k):
        taken = []
        need = self.per_task
        while need:
            if not len(self.queues[k]):
                self.queues[k] = self.rows[k][self.order.permutation(len(self.rows[k]))]
            taken.append(self.queues[k][:need])
            self.queues[k] = self.queues[k][need:]
            need -= len(taken[-1])
        return taken

    def __call__(self):
        for _ in range(self.n_steps):
            idx = np.concatenate([part for k in range(len(self.rows)) for part in self._take(k)])
            yield torch.as_tensor(idx, device=self.device), self.factor, 1 / self.n_steps


def fit_minibatch(net, data, objective, optimizer, *, batches, max_epochs, weighting, callbacks,
                  bar):
    """Train ``net`` on the tensors ``data`` by epochs of ``batches()``; each
    step's backward pass is the task ``weighting``'s.

    Returns the number of epochs run, the training objective of each and
    whether a callback stopped training before ``max_epochs``.
    """
    keep_graph = any(callback.needs_graph for callback in callbacks)
    curve = []
    for epoch in range(1, max_epochs + 1):
        net.train()
        total = torch.zeros((), dtype=torch.float64, device=data["x"].device)
        for idx, factor, share in batches():
            batch = {k: v[idx] for k, v in data.items()}
            optimizer.zero_grad()
            parts = objective.terms(net(batch["x"], batch["task"]), batch, factor)
            value = weighting.backward(net, batch, parts, objective.penalty(net), retain_graph=keep_graph)
            for callback in callbacks:
                callback.on_grad_computed(net, batch, parts, factor)
            optimizer.step()
            total += value.to(torch.float64) * share
        loss = total.item()
        if not np.isfinite(loss):
            raise divergence_error(loss, epoch, "epoch")
        curve.append(loss)
        bar.update(1)
        if any([callback.on_epoch_end(net, loss) for callback in callbacks]):  # every one sees it
            converged = True
            break
    else:
        converged = False
        warn_not_converged(max_epochs)
    for callback in callbacks:
        callback.on_train_end(net)
    return epoch, curve, converged


def fit_lbfgs(net, data, objective, *, max_iter, tol, bar):
    """Train ``net`` full batch with L-BFGS (strong Wolfe line search) until the
    gradient falls below ``tol``. Returns the iterations run, the objective
    at each evaluation and whether it stopped before ``max_iter``."""
    params = trainable(net)
    eps = torch.finfo(data["x"].dtype).eps
    optimizer = torch.optim.LBFGS(
        params, lr=1.0, max_iter=max_iter, max_eval=2 * max_iter,
        tolerance_grad=tol, tolerance_change=eps, history_size=50,
        line_search_fn="strong_wolfe",
    )
    n = len(data["x"])
    curve = []

    def closure():
        optimizer.zero_grad()
        value = objective.parts(net, data, n).sum() + objective.penalty(net)
        loss = value.item()
        if not np.isfinite(loss):
            raise divergence_error(loss, max(len(curve), 1), "iteration")
        value.backward()
        curve.append(loss)
        bar.update(1)
        return value

    net.train()
    optimizer.step(closure)
    n_iter = int(optimizer.state[params[0]]["n_iter"]) if params else 0
    converged = n_iter < max_iter
    if not converged:
        warn_not_converged(max_iter)
    return n_iter, curve, converged


def task_scale(rows, row_task, weights, n_tasks):
    """Each row's weight over its task's total weight (within ``rows``)."""
    task = row_task[rows]
    totals = np.bincount(task, weights=weights[rows], minlength=n_tasks)
    return weights[rows] / totals[task]


def holdout_split(rows, row_task, fraction, rng):
    """Rows for training and for early stopping, stratified by task when possible."""
    task = row_task[rows]
    counts = np.bincount(task)
    n_hold = int(np.ceil(fraction * len(rows)))
    if len(rows) < 2 or n_hold >= len(rows):
        raise ValueError(
            f"early_stopping needs more rows: {len(rows)} rows cannot be split with "
            f"validation_fraction={fraction}."
        )
    n_present = (counts > 0).sum()
    stratified = counts[counts > 0].min() >= 2 and min(n_hold, len(rows) - n_hold) >= n_present
    stratify = task if stratified else None
    train, hold = train_test_split(rows, test_size=n_hold, stratify=stratify, random_state=rng)
    return np.sort(train), np.sort(hold)


def divergence_error(value, step, unit):
    return FloatingPointError(
        f"The training loss became {value} at {unit} {step}; training stopped. The "
        "estimator keeps its previous state. Lower learning_rate, scale the features "
        "(e.g. StandardScaler) and regression targets, or raise weight_decay."
    )


def warn_not_converged(max_epochs):
    warnings.warn(
        f"SharedBottomNet stopped at max_epochs={max_epochs} before the loss stopped "
        "improving. Increase max_epochs or learning_rate.",
        ConvergenceWarning,
    )
