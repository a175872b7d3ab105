"""Beyond first order: Newton steps from the full fit on the objective without
rows or tasks, the ``"newton"`` (and, for ridge, ``"exact"``) influence of the
soft-sharing linear models."""

import numpy as np
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from ..utils import task_groups

# 1 - leverage below this: a row (or a task) alone has data along a direction
_LEVERAGE_ONE = 1e-10


class RefitEffectsMixin:
    """Refit effects of removing rows or tasks, for :class:`MultiTaskLinearModel`."""

    def _val_fit(self, val):
        """The validation rows of positive weight, once per validation set: their
        positions, weights normalized within their task, linear predictors and
        losses at the fit, and per task the slice of them it holds (rows sorted
        by task). Every removal's loss change reads them: recomputed per removal
        and target task, a mask over every row made task relatedness quadratic
        in the tasks."""
        Z, Y, row_task, weights = val
        cached = self._cache.get("validation fit")
        if cached is not None and cached[0] is row_task:
            return cached[1]
        counted = np.flatnonzero((row_task >= 0) & (weights > 0))
        counted = counted[np.argsort(row_task[counted], kind="stable")]
        task = row_task[counted]
        totals = np.bincount(task, weights=weights[counted], minlength=len(self.tasks_))
        eta = linear_predictors(Z, self._theta, row_task, counted)
        bounds = np.searchsorted(task, np.arange(len(self.tasks_) + 1))
        fit = {
            "rows": counted, "share": weights[counted] / totals[task], "eta": eta,
            "loss": self.loss_.loss(eta, Y[counted]),
            "tasks": {k: slice(bounds[k], bounds[k + 1]) for k in range(len(self.tasks_))
                      if bounds[k + 1] > bounds[k]},
        }
        self._cache["validation fit"] = (row_task, fit)
        return fit

    def _val_loss_change(self, val, target, delta):
        """Change of task ``target``'s validation loss for coefficient changes
        ``delta`` of shape ``(m, n_out * d)``; one value per change."""
        fit = self._val_fit(val)
        if target not in fit["tasks"]:
            return np.full(len(delta), np.nan)
        own = fit["tasks"][target]
        rows = fit["rows"][own]
        Zj = val[0][rows]
        shift = np.swapaxes(delta.reshape((len(delta),) + self._theta.shape[1:]) @ Zj.T, 1, 2)
        return (self.loss_.loss(fit["eta"][own] + shift, val[1][rows]) - fit["loss"][own]) @ fit["share"][own]

    def _val_shared_pull(self, val):
        """Per counted validation row ``r`` of task ``j``, ``E_r coupling_j`` of
        shape ``(n_out, d_shared)``, ``E_r`` mapping task ``j``'s coefficients to
        the row's linear predictors: a shared step ``s`` moves the row's
        predictors by ``-E_r coupling_j s``. Once per validation set, the size
        of its features times the outputs."""
        cached = self._cache.get("validation pull")
        if cached is not None and cached[0] is val[2]:
            return cached[1]
        fit = self._val_fit(val)
        coupling = self._hessian().coupling_
        n_out, d = self._theta.shape[1:]
        n_shared = coupling.shape[-1]
        pull = np.empty((len(fit["rows"]), n_out, n_shared))
        for j, own in fit["tasks"].items():
            # (d, n_out * n_shared): the task's rows times it give every output's pull at once
            per_feature = coupling[j].reshape(n_out, d, n_shared).transpose(1, 0, 2).reshape(d, -1)
            pull[own] = (val[0][fit["rows"][own]] @ per_feature).reshape(-1, n_out, n_shared)
        self._cache["validation pull"] = (val[2], pull)
        return pull

    def _effects_from_steps(self, val, source, own, shared, empty, block_size=2**16):
        """Loss change of every target for steps (own block of ``source``, shared):
        the targets' rows moved by the shared steps in blocks of validation
        rows of about ``block_size`` changes each (a Python call per target made
        removing every row quadratic in the tasks), the source's by its own."""
        fit = self._val_fit(val)
        pull = self._val_shared_pull(val)
        Y, row_task = val[1], val[2]
        out = np.full((len(shared), len(self.tasks_)), np.nan)
        out[:, list(fit["tasks"])] = 0.0
        n_rows = max(1, block_size // max(1, len(shared) * pull.shape[1]))
        for start in range(0, len(fit["rows"]), n_rows):
            part = slice(start, start + n_rows)
            rows = fit["rows"][part]
            block = pull[part]
            shift = -np.swapaxes((block.reshape(-1, block.shape[-1]) @ shared.T).reshape(
                len(block), block.shape[1], len(shared)), 1, 2)
            moved = self.loss_.loss(fit["eta"][part][:, None] + shift, Y[rows][:, None])
            change = moved - fit["loss"][part][:, None]
            task = row_task[rows]  # sorted: each task's rows are consecutive
            firsts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
            out[:, task[firsts]] += np.add.reduceat(fit["share"][part][:, None] * change, firsts).T
        if source in fit["tasks"]:
            out[:, source] = self._val_loss_change(val, source, own)
        out[:, empty] = np.nan
        return out

    def _hessian_factors(self, eta, Y, Z):
        """``V`` with ``V V^T`` = each row's loss Hessian in the coefficients."""
        h = self.loss_.hessian(eta, Y)
        if h.shape[-1] == 1:
            root = np.sqrt(h)
        else:  # softmax curvature is only positive semi-definite
            lam, vec = np.linalg.eigh(h)
            root = vec * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]
        n_out = h.shape[-1]
        return np.einsum("mcr,md->mcdr", root, Z).reshape(len(Z), n_out * Z.shape[1], n_out)

    def _row_refit_effects(self, rows, k, u, scale, val, empty):
        """One Newton step per row on the objective without it.

        Without row ``i`` (normalized weight ``s``), task ``k``'s loss becomes
        ``c (L_k - s l_i)`` with ``c = 1 / (1 - s)``: the Hessian block is
        ``c D_k + 2 alpha I`` (shared by rows of equal weight) minus the row's
        rank-``C`` curvature, and the gradient changes by ``-c u_i``. A row
        weighing more than half of its task is the only one of its weight
        there; its task's terms without it are its mates', computed from them
        (rescaling as above subtracts nearly equal numbers as ``s`` nears 1).
        """
        self._hessian()  # factorized here once, not in every job
        self._lone_directions()
        groups = [(task, idx) for task in np.unique(k) for idx in
                  (np.flatnonzero((k == task) & (scale == w)) for w in np.unique(scale[k == task]))]
        # one job per task and row weight: joblib.parallel_config spreads them (e.g. over Dask)
        effects = self._with_progress(Parallel(return_as="generator")(
            delayed(self._refit_effects_in_task)(task, rows[idx], u[idx], scale[idx[0]], val, empty)
            for task, idx in groups
        ), len(groups), "refit rows of each task", leave=False)
        out = np.zeros((len(rows), len(self.tasks_)))
        for (_, idx), effect in zip(groups, effects):
            out[idx] = effect
        return out

    def _with_progress(self, jobs, total, desc, leave=True):
        """The results of ``jobs``, in order, counted by a tqdm bar where ``verbose``."""
        return tqdm(jobs, total=total, desc=desc, leave=leave, disable=not self.verbose)

    def _refit_effects_in_task(self, task, rows, u, weight, val, empty):
        """:meth:`_row_refit_effects` of rows of one task and one normalized weight."""
        H = self._hessian()
        two_alpha_eye = 2.0 * self._penalty[0] * np.eye(H.d_task)
        if weight > 0.5:
            # one row weighing most of its task (one row per group): the task's loss
            # without it is its mates' alone, taken from them directly. Rescaling the
            # task's terms by 1 / (1 - weight) and taking the row's off subtracts nearly
            # equal numbers (mates weighing 1e-11 of the row: 3e-5 off refits; 1e-13:
            # the wrong sign)
            mates = np.flatnonzero((self._row_task == task) & (self._weights > 0))
            mates = mates[mates != rows[0]]
            _, mates_grad, mates_hess = self._task_terms(
                self._Z[mates], self._Y[mates], np.zeros(len(mates), dtype=int), self._weights[mates],
                self._theta[[task]], 1)  # zeros where it has no mates: the pull alone
            base, c = mates_hess[0] + two_alpha_eye, 0.0
            factors = np.zeros((len(rows), H.d_task, 1))
            rhs = self._fitted_terms()[1][task] - mates_grad
        else:
            Zr = self._Z[rows]
            c = 1.0 / (1.0 - weight)
            base = c * (H.task_blocks[task] - two_alpha_eye) + two_alpha_eye
            eta = Zr @ self._theta[task].T
            factors = self._hessian_factors(eta, self._Y[rows], Zr)
            rhs = c * u
        scales = np.full(factors.shape[::2], c * weight)
        shared_rhs = None
        if weight > 0 and self._converged:
            # the step from the fit as it is, not from an exact optimum: the fit's gradient,
            # rounding where a row's curvature dwarfs the rest, is divided by what is left
            # once the row is gone (0.1 of the effects in units of 1e5, tests/test_numerics.py);
            # a fit cut short keeps the step from where it would have ended (its gradient
            # there is no rounding, and every row's effect would carry it)
            task_grad, shared_grad = self._cached("fit gradient", lambda: self._gradient(
                self._fitted_terms()[1], self._theta, self._beta))
            rhs = rhs - task_grad[task]
            shared_rhs = np.broadcast_to(-shared_grad, (len(rows), len(shared_grad)))
        lone = self._lone_directions()[rows]
        if lone.any():
            factors, scales, rhs = self._pin_lone_directions(task, lone, factors, scales, rhs)
        own, shared = H.low_rank_task_step(task, base, factors, scales, rhs, shared_rhs)
        return self._effects_from_steps(val, task, own, shared, empty)

    def _fitted_row_space(self):
        """The fitted rows, and the thin SVD ``U S Vt`` of their features restricted to their rank."""
        fitted = np.flatnonzero((self._row_task >= 0) & (self._weights > 0))
        Z = self._Z[fitted]
        U, S, Vt = np.linalg.svd(Z, full_matrices=False)
        rank = S > S[0] * max(Z.shape) * np.finfo(float).eps
        return fitted, U[:, rank], S[rank], Vt[rank]

    def _lone_directions(self):
        """Unit vector ``q_i`` along which fitted row ``i`` alone has data (zero if none).

        With more features than rows every row has one. Without the row no
        data holds ``q_i``, and the refit has no component along it (the
        penalties are isotropic); in the system of the removal, though, only
        ``shared_alpha`` pins that component down, which costs digits.
        """
        if "lone" not in self._cache:
            fitted, U, S, Vt = self._fitted_row_space()
            lone = np.flatnonzero(1.0 - np.einsum("nr,nr->n", U, U) < _LEVERAGE_ONE)
            q = (U[lone] / S) @ Vt  # (Z^T Z)^+ z_i: orthogonal to every other row
            out = np.zeros_like(self._Z)
            out[fitted[lone]] = q / np.linalg.norm(q, axis=1, keepdims=True)
            self._cache["lone"] = out
        return self._cache["lone"]

    def _task_lone_directions(self):
        """Per task, an orthonormal basis ``(d, r_k)`` of the directions along which
        only its rows have data (``r_k = 0`` where other tasks span all of its own).

        A direction ``x = V S^-1 b`` of the rows' span meets no row of the other
        tasks where ``U_{-k} b = 0``: since ``U`` has orthonormal columns, where
        ``b`` is a right singular vector of ``U_k`` of singular value 1.
        """
        if "task lone" not in self._cache:
            fitted, U, S, Vt = self._fitted_row_space()
            out = [np.zeros((Vt.shape[1], 0))] * len(self.tasks_)
            for k, rows in task_groups(self._row_task[fitted], len(self.tasks_)):
                _, sigma, Bt = np.linalg.svd(U[rows], full_matrices=False)
                alone = Bt[1.0 - sigma**2 < _LEVERAGE_ONE]
                if len(alone):
                    out[k] = np.linalg.qr(((alone / S) @ Vt).T)[0]
            self._cache["task lone"] = out
        return self._cache["task lone"]

    def _pin_task_directions(self, task, shared_rhs):
        """Add ``(lam / 2) |Q_k^T beta_c|^2`` per output to the objective without task ``k``.

        ``Q_k`` spans the directions only task ``k`` has data along: without
        it the refit has no component there, but the remaining tasks' blocks
        hold them only up to rounding (``eps`` times the blocks, large in large
        units), next to ``shared_alpha``. The pin gives them the coupling's
        curvature without moving the refit. Returns the right-hand side with
        the pin's gradient, and the added curvature (None where no pin).
        """
        lone = self._task_lone_directions()[task]
        if lone.shape[1] == 0:
            return shared_rhs, None
        lam = 2.0 * self._penalty[0]
        pins = np.kron(np.eye(self._theta.shape[1]), lone)  # per output, in the (output, feature) order
        curvature = lam * pins @ pins.T
        return shared_rhs - curvature @ self._beta.ravel(), curvature

    def _pin_lone_directions(self, task, lone, factors, scales, rhs):
        """Add ``(lam / 2) (q_i . theta_k)^2`` per output to the objective without row ``i``.

        It does not move the refit, which has no component along ``q_i``,
        but gives that direction curvature ``lam`` (the coupling's) in place
        of ``shared_alpha``: one more factor column of negative scale, and
        its gradient in the right-hand side.
        """
        lam = 2.0 * self._penalty[0]
        n_out, d = self._theta.shape[1:]
        pins = np.einsum("ce,mp->mcpe", np.eye(n_out), lone).reshape(len(lone), n_out * d, n_out)
        pin_scales = np.where(lone.any(axis=1)[:, None], -lam, 0.0) * np.ones(n_out)
        along = np.einsum("cp,mp->mc", self._theta[task], lone)
        rhs = rhs - lam * np.einsum("mc,mp->mcp", along, lone).reshape(len(lone), n_out * d)
        return np.concatenate([factors, pins], axis=2), np.concatenate([scales, pin_scales], axis=1), rhs

    def _task_refit_effects(self, shared_grad, val):
        empty = self._val_terms(val)[2]
        self._hessian()  # factorized here once, not in every job
        # one job per removed task: joblib.parallel_config spreads them (e.g. over Dask)
        return np.array(list(self._with_progress(Parallel(return_as="generator")(
            delayed(self._drop_task_effects)(k, shared_grad[k], val, empty)
            for k in range(len(self.tasks_))
        ), len(self.tasks_), "refit without each task")))

    def _drop_task_effects(self, k, shared_grad, val, empty):
        """Row ``k`` of the refit task relatedness: the effect of removing task ``k``."""
        H = self._hessian()
        n_tasks = len(self.tasks_)
        losses = self._fitted_terms()[0]
        step = H.drop_task_step(k, *self._pin_task_directions(k, shared_grad))
        # Removing a whole task is no small perturbation: where the loss is
        # nearly flat (near-separable classes) the full Newton step can
        # overshoot far. Where it does not decrease the objective without
        # the task enough (the rule of fit), one step is no estimate: the
        # Newton iterations go on from the damped step to the refit.
        moves = -np.einsum("ktb,b->kt", H.coupling_, step).reshape(self._theta.shape)

        def at(t):
            theta = self._theta + t * moves
            beta_t = self._beta + t * step.reshape(self._beta.shape)
            task_losses = self._task_losses(self._Z, self._Y, self._row_task, self._weights,
                                            theta, n_tasks)
            return self._objective(task_losses, theta, beta_t, dropped_task=k), theta, beta_t

        if self._refit_method == "exact":  # a quadratic's step is the refit itself
            t, theta, new_beta = 1.0, self._theta + moves, self._beta + step.reshape(self._beta.shape)
        else:
            value = self._objective(losses, self._theta, self._beta, dropped_task=k)
            t, _, theta, new_beta = _backtrack(at, value, shared_grad @ step)
        if t < 1.0:
            weights = np.where(self._row_task == k, 0.0, self._weights)
            theta, new_beta, _, _ = self._newton(
                self._Z, self._Y, self._row_task, weights, n_tasks, self._theta.shape[1],
                start=(theta, new_beta),
            )
        # the removed task is predicted by the new shared coefficients
        deltas = theta - self._theta
        deltas[k] = new_beta - self._theta[k]
        out = self._val_loss_change_per_task(val, deltas)
        out[empty] = np.nan
        return out

    def _val_loss_change_per_task(self, val, deltas, block_rows=65536):
        """Each task's validation loss change when its coefficients move by its
        own ``deltas[j]`` (shaped as the coefficients), in one pass over the
        validation rows by blocks: a call per task made removing every task
        quadratic in the tasks."""
        Z, Y, row_task, _ = val
        fit = self._val_fit(val)
        out = np.full(len(deltas), np.nan)
        out[list(fit["tasks"])] = 0.0
        for start in range(0, len(fit["rows"]), block_rows):
            part = slice(start, start + block_rows)
            rows = fit["rows"][part]
            task = row_task[rows]
            shift = linear_predictors(Z, deltas, row_task, rows)
            change = self.loss_.loss(fit["eta"][part] + shift, Y[rows]) - fit["loss"][part]
            out += np.bincount(task, weights=fit["share"][part] * change, minlength=len(deltas))
        return out


def _backtrack(evaluate, value, decrement):
    """Armijo backtracking along a Newton step.

    ``evaluate(t)`` returns a tuple whose first entry is the objective at step
    length ``t``; returns ``(t, *evaluate(t))`` for the first ``t`` in ``1,
    1/2, 1/4, ...`` that decreases the objective from ``value`` by at least
    ``1e-4 t decrement``.
    """
    t = 1.0
    while True:
        result = evaluate(t)
        if result[0] <= value - 1e-4 * t * decrement or t < 1e-10 or decrement <= 0:
            return (t, *result)
        t *= 0.5


def linear_predictors(Z, theta, row_task, rows=None, block_size=2**20):
    """Linear predictors ``(len(rows), n_out)`` of ``rows`` (every row when None),
    each by its task's coefficients ``theta[row_task[row]]``, in blocks of about
    ``block_size`` gathered coefficients (a copy of them per row otherwise)."""
    rows = np.arange(len(row_task)) if rows is None else rows
    out = np.empty((len(rows), theta.shape[1]))
    step = max(1, block_size // theta[0].size)
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        out[start:start + step] = np.einsum("rp,rcp->rc", Z[part], theta[row_task[part]])
    return out
