"""Task weighting and gradient combination: the step's objective as a plug-in.

``SharedBottomNet(task_weighting=...)`` picks one strategy per fitted member.
A strategy sees the step's per-task losses ``L_k`` (the data part of the
objective split by task) and does the step's backward pass:

* loss weightings (:class:`LossWeighting`) differentiate one scalar
  ``combine(L)``, the same for the shared bottom and the heads;
* gradient combinations (:class:`GradientWeighting`) take the tasks'
  gradients ``g_k`` of ``L_k`` on the shared (bottom) parameters, set the
  bottom's gradient to ``combine(L, G)`` and give each head the gradient of
  ``head_weight_k * L_k``.

The weight decay penalty is added unweighted in both. Strategies are
callbacks of the training loop (:class:`~._training.Callback`), so those
that look at whole epochs (DWA, STCH) see their ends. Every ``combine`` works
on plain tensors and is tested against the published rule on fixed inputs.
"""

import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from ._training import Callback, task_membership

_EPS = 1e-8


class TaskWeighting(Callback, metaclass=ABCMeta):
    """A task weighting strategy for ``n_tasks`` tasks.

    ``defaults`` maps the strategy's hyperparameters to their default values
    and ``constraints`` each to its valid values (scikit-learn's parameter
    constraints);
    ``seed`` seeds its random draws (RLW's weights, PCGrad's task order).
    Only the tasks present in a step take part in it: ``tasks`` always
    lists their indices (in ``0..n_tasks-1``) in the order of ``losses``.
    """

    defaults = {}
    constraints = {}

    def __init__(self, n_tasks, seed=0, **params):
        self.n_tasks = n_tasks
        self.rng = np.random.RandomState(seed)
        for name, value in {**self.defaults, **params}.items():
            setattr(self, name, value)

    def parameters(self):
        """Tensors the optimizer trains along with the network (UW, GradNorm)."""
        return []

    @abstractmethod
    def backward(self, net, batch, parts, penalty, *, retain_graph):
        """Differentiate the step; return the equal-weight objective
        ``sum(parts) + penalty`` (the loss curve's value) detached."""


class LossWeighting(TaskWeighting):
    """A strategy that differentiates one scalar of the task losses."""

    @abstractmethod
    def combine(self, losses, tasks):
        """The scalar to differentiate, from the step's task losses (a tensor)."""

    def observe(self, net, losses, tasks):
        """Look at the step's task losses (with their graph) before ``combine``."""

    def backward(self, net, batch, parts, penalty, *, retain_graph):
        tasks, membership = task_membership(batch["task"], parts.dtype)
        losses = membership @ parts
        self.observe(net, losses, tasks)
        (self.combine(losses, tasks) + penalty).backward(retain_graph=retain_graph)
        return (parts.sum() + penalty).detach()


class GradientWeighting(TaskWeighting):
    """A strategy that combines the tasks' gradients on the shared parameters."""

    @abstractmethod
    def combine(self, losses, grads, tasks):
        """The shared gradient ``(d,)`` and the heads' loss weights ``(T,)``
        from the task losses ``(T,)`` and their gradients ``grads`` ``(T, d)``
        (detached tensors)."""

    def backward(self, net, batch, parts, penalty, *, retain_graph):
        shared = shared_parameters(net)
        others = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("bottom.")]
        tasks, membership = task_membership(batch["task"], parts.dtype)
        losses = membership @ parts
        grads = task_gradients(losses, shared)
        direction, head_weights = self.combine(losses.detach(), grads, tasks)
        torch.autograd.backward(
            (head_weights * losses).sum() + penalty, inputs=others, retain_graph=retain_graph
        )
        start = 0
        for p in shared:
            p.grad = direction[start:start + p.numel()].view_as(p) + self.weight_decay * p.detach()
            start += p.numel()
        return (parts.sum() + penalty).detach()


def shared_parameters(net):
    shared = [p for p in net.bottom.parameters() if p.requires_grad]
    if not shared:
        raise ValueError(
            "This task_weighting combines the tasks' gradients on the shared bottom, which "
            "has no trainable parameters: give hidden_layer_sizes or a trainable module, or "
            "use a loss weighting ('ew', 'uw', 'rlw', 'dwa', 'gls', 'stch')."
        )
    return shared


def task_gradients(losses, shared):
    """The gradients ``(T, d)`` of each task loss on the flattened ``shared``
    parameters, in one batched backward pass (the graph is kept)."""
    eye = torch.eye(len(losses), dtype=losses.dtype, device=losses.device)
    grads = torch.autograd.grad(losses, shared, grad_outputs=eye, retain_graph=True,
                                is_grads_batched=True, allow_unused=True)
    return torch.cat([
        (torch.zeros((len(losses), p.numel()), dtype=p.dtype, device=p.device) if g is None
         else g.reshape(len(losses), -1))
        for g, p in zip(grads, shared)
    ], dim=1)


class EW(TaskWeighting):
    """Equal weighting: the objective ``sum_k L_k`` itself."""

    def backward(self, net, batch, parts, penalty, *, retain_graph):
        value = parts.sum() + penalty
        value.backward(retain_graph=retain_graph)
        return value.detach()


class UW(LossWeighting):
    """Uncertainty weighting (Kendall et al., 2018, Eq. 7):
    ``sum_k exp(-s_k) / 2 * L_k + s_k / 2`` with learned log-variances
    ``s_k = log sigma_k^2``, starting at 0."""

    def __init__(self, n_tasks, seed=0, *, device, dtype, **params):
        super().__init__(n_tasks, seed, **params)
        self.log_var = torch.zeros(n_tasks, device=device, dtype=dtype, requires_grad=True)

    def parameters(self):
        return [self.log_var]

    def combine(self, losses, tasks):
        s = self.log_var[tasks]
        return (0.5 * torch.exp(-s) * losses + 0.5 * s).sum()


class RLW(LossWeighting):
    """Random loss weighting (Lin et al., 2022): at each step the weights are
    ``softmax(z)`` of a standard normal draw ``z``, a point of the simplex."""

    def weights(self, n):
        return torch.softmax(torch.as_tensor(self.rng.standard_normal(n)), dim=0)

    def combine(self, losses, tasks):
        return (self.weights(len(tasks)).to(losses) * losses).sum()


class DWA(LossWeighting):
    """Dynamic weight average (Liu et al., 2019, Eq. 7): weights
    ``T softmax(r / temperature)`` of the loss ratios ``r_k = L_k(t-1) /
    L_k(t-2)`` of the last two epochs (epoch means); 1 for the first two."""

    defaults = {"temperature": 2.0}
    constraints = {"temperature": [Interval(numbers.Real, 0, None, closed="neither")]}

    def __init__(self, n_tasks, seed=0, **params):
        super().__init__(n_tasks, seed, **params)
        self.history = []  # epoch mean loss per task
        self.sums = np.zeros(n_tasks)
        self.counts = np.zeros(n_tasks)

    def task_weights(self):
        if len(self.history) < 2:
            return np.ones(self.n_tasks)
        ratio = self.history[-1] / self.history[-2]
        return self.n_tasks * np.exp(ratio / self.temperature) / np.exp(ratio / self.temperature).sum()

    def combine(self, losses, tasks):
        self.sums[tasks] += losses.detach().cpu().numpy()
        self.counts[tasks] += 1
        return (torch.as_tensor(self.task_weights()[tasks]).to(losses) * losses).sum()

    def on_epoch_end(self, net, loss):
        last = self.history[-1] if self.history else np.ones(self.n_tasks)
        seen = self.counts > 0
        self.history.append(np.where(seen, self.sums / np.maximum(self.counts, 1), last))
        self.sums[:], self.counts[:] = 0.0, 0
        return False


class GLS(LossWeighting):
    """Geometric loss strategy (Chennupati et al., 2019): the geometric mean
    ``(prod_k L_k)^(1/T)``."""

    def combine(self, losses, tasks):
        return torch.exp(torch.log(losses).mean())


class STCH(LossWeighting):
    """Smooth Tchebycheff scalarization (Lin et al., 2024) of the log losses
    against a nadir point: ``T mu log sum_k exp(log(L_k / z_k) / mu)``, with
    ``z_k`` task ``k``'s mean loss over the last warm-up epoch; the warm-up
    epochs (at least one) minimize ``sum_k log L_k``."""

    defaults = {"mu": 1.0, "warmup_epochs": 1}
    constraints = {"mu": [Interval(numbers.Real, 0, None, closed="neither")],
                   "warmup_epochs": [Interval(numbers.Integral, 1, None, closed="left")]}

    def __init__(self, n_tasks, seed=0, **params):
        super().__init__(n_tasks, seed, **params)
        self.epoch = 0
        self.sums, self.counts = np.zeros(n_tasks), np.zeros(n_tasks)
        self.nadir = None

    def combine(self, losses, tasks):
        if self.nadir is None:
            self.sums[tasks] += losses.detach().cpu().numpy()
            self.counts[tasks] += 1
            return torch.log(losses + _EPS).sum()
        scaled = torch.log(losses / torch.as_tensor(self.nadir[tasks]).to(losses) + _EPS)
        return len(tasks) * self.mu * torch.logsumexp(scaled / self.mu, dim=0)

    def on_epoch_end(self, net, loss):
        self.epoch += 1
        if self.nadir is None and self.epoch >= self.warmup_epochs:
            self.nadir = np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), 1.0)
        self.sums[:], self.counts[:] = 0.0, 0
        return False


class ExcessMTL(LossWeighting):
    """Excess risk weighting (He et al., 2024): each task's excess risk is
    estimated as ``g_k^T diag(h_k)^-1 g_k`` (``h_k`` the root of the running
    sum of its squared gradients, AdaGrad's diagonal), divided by its value
    at the task's first step; the loss weights follow the exponentiated
    update ``w_k <- w_k exp(step_size * excess_k)``, renormalized to sum to
    ``T``."""

    defaults = {"step_size": 1e-2}
    constraints = {"step_size": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, n_tasks, seed=0, **params):
        super().__init__(n_tasks, seed, **params)
        self.w = np.ones(n_tasks)
        self.grad_sq = None
        self.initial = np.full(n_tasks, np.nan)

    def update(self, grads, tasks):
        """The new weights of all tasks from the step's gradients ``(T, d)``."""
        if self.grad_sq is None:
            self.grad_sq = torch.zeros(self.n_tasks, grads.shape[1], dtype=grads.dtype, device=grads.device)
        self.grad_sq[tasks] += grads**2
        excess = ((grads**2) / torch.sqrt(self.grad_sq[tasks] + 1e-7)).sum(dim=1).cpu().numpy()
        first = np.isnan(self.initial[tasks])
        self.initial[np.asarray(tasks)[first]] = excess[first]
        ratio = np.where(first, 0.0, excess / np.maximum(self.initial[tasks], _EPS))
        self.w[tasks] *= np.exp(self.step_size * ratio)
        self.w *= self.n_tasks / self.w.sum()
        return self.w

    def observe(self, net, losses, tasks):
        self.update(task_gradients(losses, shared_parameters(net)), tasks)

    def combine(self, losses, tasks):
        return (torch.as_tensor(self.w[tasks]).to(losses) * losses).sum()


class GradNorm(GradientWeighting):
    """GradNorm (Chen et al., 2018): loss weights ``w = T softmax(theta)``
    trained by the optimizer on ``sum_k |w_k ||g_k|| - G r_k^alpha|``, with
    ``G`` the mean of ``w_k ||g_k||``, ``r_k = L~_k / mean(L~)`` and ``L~_k``
    the loss over its value at the task's first step (target held constant);
    the network moves along ``sum_k w_k g_k`` and the heads along
    ``w_k L_k``."""

    defaults = {"alpha": 1.5}
    constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, n_tasks, seed=0, *, device, dtype, **params):
        super().__init__(n_tasks, seed, **params)
        self.theta = torch.zeros(n_tasks, device=device, dtype=dtype, requires_grad=True)
        self.initial = torch.full((n_tasks,), float("nan"), device=device, dtype=dtype)

    def parameters(self):
        return [self.theta]

    def combine(self, losses, grads, tasks):
        first = torch.isnan(self.initial[tasks])
        self.initial[tasks] = torch.where(first, losses, self.initial[tasks])
        with torch.enable_grad():
            w = self.n_tasks * torch.softmax(self.theta, dim=0)[tasks]
            norms = w * grads.norm(dim=1)
            ratio = losses / self.initial[tasks]
            target = (norms.mean() * (ratio / ratio.mean()) ** self.alpha).detach()
            (self.theta.grad,) = torch.autograd.grad((norms - target).abs().sum(), self.theta)
        w = w.detach()
        return w @ grads, w


class PCGrad(GradientWeighting):
    """Gradient surgery (Yu et al., 2020, Algorithm 1): each task's gradient is
    projected, against the others in random order, onto the normal plane of
    every gradient it conflicts with (negative inner product); the shared
    gradient is their sum."""

    def combine(self, losses, grads, tasks):
        out = grads.clone()
        for i in range(len(grads)):
            for j in self.rng.permutation(len(grads)):
                dot = out[i] @ grads[j]
                if j != i and dot < 0:
                    out[i] -= dot / (grads[j] @ grads[j]) * grads[j]
        return out.sum(dim=0), torch.ones_like(losses)


class CAGrad(GradientWeighting):
    """Conflict-averse gradient descent (Liu et al., 2021, Eq. 5): with ``g0``
    the mean gradient and ``w`` on the simplex minimizing ``g_w . g0 + c
    ||g0|| ||g_w||`` (``g_w = sum_k w_k g_k``), the shared gradient is
    ``(g0 + c ||g0|| g_w / ||g_w||) / (1 + c^2)``."""

    defaults = {"c": 0.5}
    constraints = {"c": [Interval(numbers.Real, 0, None, closed="left")]}

    def combine(self, losses, grads, tasks):
        n = len(grads)
        gram = (grads @ grads.T).double().cpu().numpy()
        g0_norm = np.sqrt(gram.mean() + _EPS)
        radius = self.c * g0_norm
        mean = np.full(n, 1.0 / n)

        def objective(w):
            return w @ gram @ mean + radius * np.sqrt(w @ gram @ w + _EPS)

        w = minimize(
            objective, mean, bounds=[(0, 1)] * n,
            constraints={"type": "eq", "fun": lambda w: 1 - w.sum()},
        ).x
        gw = torch.as_tensor(w).to(grads) @ grads
        direction = grads.mean(dim=0) + radius / (gw.norm() + _EPS) * gw
        return direction / (1 + self.c**2), torch.ones_like(losses)


class IMTL(GradientWeighting):
    """Impartial MTL, gradient balance (IMTL-G, Liu et al., 2021b, Eq. 9): the
    combination ``sum_k a_k g_k`` (``sum_k a_k = 1``) whose projections on
    every unit gradient ``u_k`` are equal, in closed form
    ``a_{2:T} = g_1 U^T (D U^T)^-1`` with rows ``D_k = g_1 - g_k`` and
    ``U_k = u_1 - u_k``."""

    def combine(self, losses, grads, tasks):
        if len(grads) == 1:
            return grads[0], torch.ones_like(losses)
        unit = grads / (grads.norm(dim=1, keepdim=True) + _EPS)
        D, U = grads[:1] - grads[1:], unit[:1] - unit[1:]
        rest = grads[0] @ U.T @ torch.linalg.pinv(D @ U.T)
        alpha = torch.cat([1 - rest.sum().reshape(1), rest])
        return alpha @ grads, torch.ones_like(losses)


def min_norm_weights(gram, max_iter=250, tol=1e-5):
    """The point of the simplex minimizing ``w^T gram w``: Frank-Wolfe with
    exact line search (Sener and Koltun, 2018, Algorithm 2)."""
    n = len(gram)
    w = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        t = int(np.argmin(gram @ w))
        # exact line search between the current point (v1) and vertex t (v2)
        v1v1, v1v2, v2v2 = w @ gram @ w, w @ gram[:, t], gram[t, t]
        if v1v2 >= v1v1:
            gamma = 1.0
        elif v1v2 >= v2v2:
            gamma = 0.0
        else:
            gamma = (v2v2 - v1v2) / (v1v1 + v2v2 - 2 * v1v2)
        step = gamma * w - w
        step[t] += 1 - gamma
        w = w + step
        if np.abs(step).sum() < tol:
            break
    return w


class MGDA(GradientWeighting):
    """Multiple-gradient descent (Sener and Koltun, 2018): the min-norm point of
    the convex hull of the task gradients, found by Frank-Wolfe."""

    def combine(self, losses, grads, tasks):
        w = min_norm_weights((grads @ grads.T).double().cpu().numpy())
        return torch.as_tensor(w).to(grads) @ grads, torch.ones_like(losses)


class DBMTL(GradientWeighting):
    """Dual-balancing MTL (Lin et al., 2023): the losses are balanced by
    taking ``log L_k`` (the heads descend ``sum_k log L_k``) and the gradients
    by magnitude: with ``h_k`` the exponential moving average (factor
    ``beta / t^beta_sigma`` at step ``t``) of task ``k``'s gradient of
    ``log L_k``, the shared gradient is ``sum_k max_i ||h_i|| / ||h_k|| h_k``."""

    defaults = {"beta": 0.9, "beta_sigma": 0.5}
    constraints = {"beta": [Interval(numbers.Real, 0, 1, closed="both")],
                   "beta_sigma": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, n_tasks, seed=0, **params):
        super().__init__(n_tasks, seed, **params)
        self.step, self.buffer = 0, None

    def combine(self, losses, grads, tasks):
        self.step += 1
        log_grads = grads / (losses[:, None] + _EPS)
        if self.buffer is None:
            self.buffer = torch.zeros(self.n_tasks, grads.shape[1], dtype=grads.dtype, device=grads.device)
        factor = self.beta / self.step**self.beta_sigma
        self.buffer[tasks] = log_grads + factor * (self.buffer[tasks] - log_grads)
        h = self.buffer[tasks]
        norms = h.norm(dim=1)
        return (norms.max() / (norms + _EPS)) @ h, 1.0 / (losses + _EPS)


WEIGHTINGS = {
    "ew": EW, "uw": UW, "rlw": RLW, "dwa": DWA, "gls": GLS, "gradnorm": GradNorm,
    "pcgrad": PCGrad, "cagrad": CAGrad, "imtl": IMTL, "mgda": MGDA, "db_mtl": DBMTL,
    "stch": STCH, "excess_mtl": ExcessMTL,
}


def check_weighting_params(name, params):
    """The hyperparameters of strategy ``name``: its defaults updated by the
    dict ``params``, whose keys must be among them and values valid."""
    defaults = WEIGHTINGS[name].defaults
    params = {} if params is None else dict(params)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        accepted = ", ".join(defaults) if defaults else "none"
        raise ValueError(
            f"task_weighting_params has keys {unknown} that task_weighting={name!r} does not "
            f"take; it accepts: {accepted}."
        )
    validate_parameter_constraints(WEIGHTINGS[name].constraints, params,
                                   caller_name=f"task_weighting_params of task_weighting={name!r}")
    return {**defaults, **params}


def make_weighting(name, params, *, n_tasks, seed, weight_decay, device, dtype):
    """Strategy ``name`` for one member, on the network's device and dtype."""
    cls = WEIGHTINGS[name]
    options = check_weighting_params(name, params)
    if cls in (UW, GradNorm):
        options.update(device=device, dtype=dtype)
    strategy = cls(n_tasks, seed, **options)
    strategy.weight_decay = weight_decay
    return strategy
