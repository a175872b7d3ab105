"""Influence time: the settings read then, and the scores of a fitted SharedBottomNet.

The one rule
------------
``fit`` reads every parameter and freezes what influence needs in fitted
attributes (the networks, the rows and their weights, ``weight_decay`` as
the Hessian's default damping, the projection seeds drawn from
``random_state``), except the four :data:`INFLUENCE_SETTINGS`:
``projection_dim``, ``soft_threshold``, ``influence_batch_size`` and
``influence_damping`` are read by every influence
call (``influence``, ``influence_chunked``, ``influence_total``,
``task_relatedness``, their fitted attributes, and the gradients of
``skmtl.relatedness``), validated there, and key the caches. So
``set_params`` of one of them after ``fit`` changes the next call without a
refit; of any other parameter it changes nothing until the next ``fit``.
(``verbose`` only shows progress.)
"""

import numbers
import warnings

import numpy as np
import torch
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from ..base import EstimatorAdapter
from ._expansion import OutputLoss, output_jacobians
from ._influence import MemberInfluence
from ._training import Objective, task_membership, trainable

INFLUENCE_SETTINGS = ("projection_dim", "soft_threshold", "influence_batch_size", "influence_damping")


#: influence warns when a member's ``gradient_norm_`` exceeds this share of its value at the
#: start of fit: stochastic solvers rarely remove more than 90 % of it, while full-batch
#: L-BFGS on a smooth network ends below 1e-7 of it in float64, and stops at 4-12 % where
#: relu's kinks end its line searches (``benchmarks/bench_network.py --part loo``)
STATIONARY_RTOL = {"adam": 0.1, "sgd": 0.1, "lbfgs": 0.01}


def gradient_norms(est, nets):
    """Norm of the gradient of the fit's objective at the weights of each of ``nets``
    (in evaluation mode), accumulated over batches of the fitted rows."""
    objective = Objective(len(est.classes_), est._penalty)
    data = est._tensors(est._train_data)
    norms = []
    for net in nets:
        training = net.training
        net.eval()
        params = trainable(net)  # never empty: the heads always train
        total = list(torch.autograd.grad(objective.penalty(net), params))
        for start in range(0, len(data["x"]), est.influence_batch_size):
            batch = {k: v[start:start + est.influence_batch_size] for k, v in data.items()}
            part = objective.terms(net(batch["x"], batch["task"]), batch).sum()
            grads = torch.autograd.grad(part, params, allow_unused=True)
            total = [t if g is None else t + g for t, g in zip(total, grads)]
        norms.append(float(torch.sqrt(sum((t.double() ** 2).sum() for t in total))))
        net.train(training)
    return np.array(norms)


def member_seeds(random_state, n_models):
    """Seeds of the members' projections (fixed by ``random_state`` when an int)."""
    base = random_state if isinstance(random_state, numbers.Integral) else 0
    return [(int(base) * 1_000_003 + index) % (2**31) for index in range(n_models)]


class NetInfluenceMixin:
    """``influence`` and ``task_relatedness`` of SharedBottomNet, with the
    engine's hooks (:class:`~skmtl.base.InfluenceMixin`); see the module's rule."""

    def _influence_settings(self):
        return tuple(getattr(self, name) for name in INFLUENCE_SETTINGS)

    def _check_influence_call(self, method):
        """Fitted, a known method, and valid settings read at influence time
        (``set_params`` after ``fit`` does not validate them)."""
        check_is_fitted(self)
        if method != "mtif":
            raise ValueError(
                f"method={method!r} is not available for SharedBottomNet; networks support "
                "only method='mtif'."
            )
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in INFLUENCE_SETTINGS},
            dict(zip(INFLUENCE_SETTINGS, self._influence_settings())),
            caller_name=type(self).__name__,
        )

    def _check_stationary(self):
        """Warn, once per fit, when a member is far from a stationary point
        (``gradient_norm_``, ``converged_``)."""
        if ("stationary checked",) in self._cache:
            return
        self._cache[("stationary checked",)] = True
        rtol = STATIONARY_RTOL[self._fitted_solver]
        far = self.gradient_norm_ > rtol * self._initial_gradient_norm
        stopped = ~self.converged_
        reasons = []
        if stopped.any():
            reasons.append(f"{stopped.sum()} stopped at max_epochs while the loss was still improving "
                           "(converged_)")
        if far.any():
            reasons.append(f"{far.sum()} kept more than {rtol:.0%} of the gradient norm they "
                           f"started from (gradient_norm_ up to {self.gradient_norm_.max():.3g})")
        if reasons:
            remedy = "Train longer (max_epochs, solver='lbfgs')"
            if self._fitted_solver == "lbfgs" and far.any() and self._relu_bottom:
                remedy = ("L-BFGS stops short of a stationary point at the kinks of relu: for influence "
                          "train a smooth network (activation='tanh' or 'logistic')")
            warnings.warn(
                f"{(far | stopped).sum()} of {len(far)} networks are far from a stationary point of their "
                f"objective: {'; '.join(reasons)}. Influence assumes a stationary point, so its scores "
                f"describe a local response of the trained weights rather than a refit. {remedy}, or "
                "see 'Trusting network influence' in the user guide.",
                UserWarning, stacklevel=3,
            )

    def get_influence_adapter(self):
        """Per-task losses and gradients on the shared bottom.

        The :class:`~skmtl.influence.InfluenceAdapter` through which
        :mod:`skmtl.relatedness`, :mod:`skmtl.plotting` and
        :mod:`skmtl.selection` read the fitted network; its shared
        parameters are the trainable parameters of the bottoms of all
        ensemble members, side by side for the gradient cosine, and every
        trainable parameter (heads included) for Grad-TAE.

        Returns
        -------
        adapter : InfluenceAdapter
        """
        return _BottomGradients(self)

    def _member(self, index):
        key = ("member", index, self.projection_dim, self.influence_batch_size, self.influence_damping)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "member" or k[2:] == key[2:]}
            self._cache[key] = MemberInfluence(
                self.models_[index], self._train_tensors(), n_tasks=len(self.tasks_),
                n_classes=len(self.classes_), weight_decay=self._penalty,
                damping=self.influence_damping, projection_dim=self.projection_dim, seed=self._projection_seeds[index],
                batch_size=self.influence_batch_size,
            )
        return self._cache[key]

    def _operators(self, val):
        """Per member: the score operators for the tasks' validation gradients.

        Cached per fitted model (``fit`` clears ``_cache``), setting and
        validation data: the data of ``fit`` and the last ``X_val``/``y_val``
        given, so ``influence`` and ``task_relatedness`` (and their fitted
        attributes) share one pass over the validation rows.
        """
        settings = (self.projection_dim, self.influence_batch_size, self.influence_damping)
        source = "fit" if val is self._val else "given"
        key = ("operators", source, settings)
        hit = self._cache.get(key)
        if hit is not None and (source == "fit" or _same_data(hit[0], val)):
            return hit[1]
        self._cache = {k: v for k, v in self._cache.items() if k[0] != "operators" or k[2] == settings}
        self._cache[key] = (val, self._compute_operators(val))
        return self._cache[key][1]

    def _compute_operators(self, val):
        counts = np.bincount(val["task"], minlength=len(self.tasks_))
        scale = val["scale"]  # each row's weight over its task's total
        train = self._train_data
        val_t = self._train_tensors() if all(val[k] is train[k] for k in val) else self._tensors(val)
        out = []
        for index in tqdm(range(len(self.models_)), disable=not self.verbose, desc="MTIF"):
            member = self._member(index)
            v_t, v_b = member.task_gradients(val_t, torch.as_tensor(scale, device=self.device_))
            out.append((member, (v_t, v_b), member.operators(v_t, v_b)))
        return out, counts == 0

    def _check_streamable(self):
        if self.soft_threshold > 0:
            raise ValueError(
                f"soft_threshold={self.soft_threshold} cuts each task's scores at a quantile "
                "over all rows, so no block of rows can be scored alone. Stream with "
                "soft_threshold=0 (set_params), or call influence() for the whole matrix."
            )

    def _train_tensors(self):
        """One device copy of the fitted rows, shared by the members and the
        validation pass when the validation data is the training data."""
        if ("train",) not in self._cache:
            self._cache[("train",)] = self._tensors(self._train_data)
        return self._cache[("train",)]

    def _scorer(self, X_val, y_val, method):
        """Operators once per member; blocks of fit rows scored one member and batch
        at a time into one host block (see :class:`~skmtl.base.InfluenceMixin`)."""
        self._check_influence_call(method)
        self._check_stationary()
        ops, empty = self._operators(self._resolve_val(X_val, y_val))
        fitted = self._train_data["rows"]

        def averaged(start, stop, batches, operators, out):
            """Add the members' mean of ``batches(member, operator, lo, hi)``, pairs
            ``(slice, dict of tensors)``, into the host arrays ``out`` of rows
            ``start:stop`` (rows not fitted keep 0), a batch at a time on the device;
            returns the positions of the scored rows in the block: all of them."""
            # the fitted rows (sorted) among start:stop are positions lo:hi of the members' data
            lo, hi = np.searchsorted(fitted, [start, stop])
            rows = fitted[lo:hi] - start
            for (member, _, _), operator in zip(ops, operators):
                for sl, batch in batches(member, operator, lo, hi):
                    place = sl if len(rows) == stop - start else rows[sl]
                    for name, value in batch.items():
                        out[name][place] += value.div_(len(ops)).cpu().numpy()
            return np.arange(stop - start)

        def parts(start, stop, components=False):
            def batches(member, operators, lo, hi):
                return member.batch_scores(operators, lo, hi, components)

            names = ("scores", "direct", "shared") if components else ("scores",)
            out = {name: np.zeros((stop - start, len(self.tasks_))) for name in names}
            positions = averaged(start, stop, batches, [operators for _, _, operators in ops], out)
            return positions, out.pop("scores"), out or None

        def totals(task_weights):
            if self.soft_threshold > 0:
                return None
            operators = [member.hessian.total_operator(*grads, task_weights) for member, grads, _ in ops]

            def batches(member, operator, lo, hi):
                return ((sl, {"totals": value}) for sl, value in member.batch_totals(operator, lo, hi))

            def score(start, stop):
                out = {"totals": np.zeros(stop - start)}
                return averaged(start, stop, batches, operators, out), out["totals"]

            return score

        return parts, totals, empty

    def influence(self, X_val=None, y_val=None, *, method="mtif", return_components=False):
        """Effect of removing each training row on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            Validation data (with the task column); the data given to
            ``fit`` as ``X_val``/``y_val`` (or the training data) when
            omitted.
        method : {"mtif"}, default="mtif"
            First-order multitask influence function (the only method for
            networks).
        return_components : bool, default=False
            Also return a dict splitting the scores into ``"direct"``
            (through the row's own head alone: non-zero only in the row's
            task column) and ``"shared"`` (through the bottom: the only path
            between tasks), as the linear models do; not soft-thresholded.

        Returns
        -------
        influence : ndarray of shape (n_fit_rows, n_tasks)
            Entry ``[i, j]`` estimates ``loss_j(fit without row i) -
            loss_j(fit)``: positive means row ``i`` helps task ``j``. Rows
            follow the ``X`` given to ``fit``; rows that took no part (a
            missing task, weight 0, held out for early stopping) score 0.
            Columns follow ``tasks_``; a task without validation rows gets
            NaN. Averaged over the ``n_models`` members, then
            soft-thresholded when ``soft_threshold > 0``.
        components : dict of ndarray
            Only with ``return_components=True``: ``"direct"`` and
            ``"shared"``, each of the shape of ``influence``.

        Raises
        ------
        MemoryError
            Before allocating, when the result would exceed
            ``skmtl.get_config()["max_result_memory"]``: then stream it with
            :meth:`influence_chunked` or sum it per row with
            :meth:`influence_total` (both with ``soft_threshold=0``).
        """
        self._check_influence_call(method)
        scores, components = self._influence_matrix(
            X_val, y_val, method, return_components,
            finish=lambda scores: _soft_threshold(scores, self.soft_threshold),
        )
        return (scores, components) if return_components else scores

    def task_relatedness(self, X_val=None, y_val=None, *, method="mtif"):
        """Effect of removing each whole task on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        method : {"mtif"}, default="mtif"
            First-order multitask influence function (the only method for
            networks).

        Returns
        -------
        relatedness : ndarray of shape (n_tasks, n_tasks)
            Entry ``[k, j]`` estimates ``loss_j(fit without task k) -
            loss_j(fit)`` to first order: row = source task, column =
            target task, positive = task ``k`` helps task ``j``. The
            diagonal measures a task's effect on its own head, which a refit
            without the task would not keep: compare tasks off the diagonal.
        """
        self._check_influence_call(method)
        self._check_stationary()
        val = self._resolve_val(X_val, y_val)
        ops, empty = self._operators(val)
        n_tasks = len(self.tasks_)
        out = np.zeros((n_tasks, n_tasks))
        for member, _, operators in ops:
            task = torch.arange(n_tasks, device=member.mean_t.device)
            scores = member.hessian.scores(operators, task, member.mean_t, member.mean_b)
            out += scores.cpu().numpy() / len(ops)
        out[:, empty] = np.nan
        return out


class _BottomGradients(EstimatorAdapter):
    """Influence adapter of a fitted SharedBottomNet (see :class:`skmtl.influence.InfluenceAdapter`).

    Data are tuples ``(tensors, Y, row_task, weights)``: the rows as the
    network reads them, ``Y`` the ``(target, kind)`` pairs of
    :class:`~._expansion.OutputLoss`, each row's task index and its weight.
    For the gradient cosine (``task_terms``) the shared parameters are the
    trainable parameters of the bottoms of all ensemble members, side by
    side; for Grad-TAE (``output_gradients``, ``loss``) they are every
    trainable parameter, the task heads included (see
    :mod:`~._expansion`). TAG is recorded during training instead
    (``record_affinity``).
    """

    def __init__(self, est):
        super().__init__(est)
        self.est = est
        self.loss = OutputLoss(len(est.classes_))

    def _layout(self, rows, weights):
        Y = np.column_stack([rows["y"], rows["kind"]]).astype(np.float64)
        return self.est._tensors(rows), Y, np.asarray(rows["task"]), weights

    def train_data(self):
        rows = self.est._train_data  # scale: row weight / task total
        return self._layout(rows, np.asarray(rows["scale"], dtype=np.float64))

    def data(self, X, y):
        val = self.est._check_val(X, y)
        return self._layout(val, np.ones(len(val["task"])))

    def output_gradients(self, data):
        tensors, _, row_task, _ = data
        eta, G = output_jacobians(self.est.models_, tensors["x"], tensors["task"],
                                  self.est.influence_batch_size)
        return row_task, eta, G

    def output_targets(self, data):
        _, Y, _, weights = data
        return Y, weights

    def task_terms(self, data):
        """Each task's loss (mean over members; NaN without rows) and its gradient
        on the shared parameters, ``(n_tasks, n_shared)``, accumulated over batches."""
        n_tasks, est, data = len(self.tasks), self.est, data[0]
        objective = Objective(len(est.classes_), est._penalty)
        present = np.bincount(data["task"].cpu().numpy(), minlength=n_tasks) > 0
        losses, grads = np.zeros(n_tasks), []
        for net in est.models_:
            shared = trainable(net.bottom)
            member = torch.zeros((n_tasks, sum(p.numel() for p in shared)), dtype=torch.float64,
                                 device=est.device_)
            for start in range(0, len(data["x"]), est.influence_batch_size):
                batch = {k: v[start:start + est.influence_batch_size] for k, v in data.items()}
                parts = objective.terms(net(batch["x"], batch["task"]), batch)
                batch_tasks, membership = task_membership(batch["task"], parts.dtype)
                task_loss = membership @ parts
                for i, k in enumerate(batch_tasks):
                    losses[k] += task_loss[i].item() / len(est.models_)
                    if shared:
                        g = torch.autograd.grad(task_loss[i], shared, retain_graph=True, allow_unused=True)
                        member[k] += torch.cat([
                            (torch.zeros_like(p) if gp is None else gp).reshape(-1)
                            for gp, p in zip(g, shared)
                        ]).to(torch.float64)
            grads.append(member.cpu().numpy())
        losses[~present] = np.nan
        return losses, np.concatenate(grads, axis=1)


def _same_data(a, b):
    """Whether two validation dicts (``_check_val``'s layout) hold the same arrays."""
    return a.keys() == b.keys() and all(
        a[k] is b[k] or (np.shape(a[k]) == np.shape(b[k]) and np.array_equal(a[k], b[k])) for k in a
    )


def _soft_threshold(scores, fraction):
    if fraction == 0:
        return scores
    cut = np.nanquantile(np.abs(scores), fraction, axis=0)
    return np.sign(scores) * np.maximum(np.abs(scores) - cut, 0.0)
