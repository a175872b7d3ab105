"""TAG's inter-task affinity and the IT-MTL update, as a callback of the training loop.

``SharedBottomNet(record_affinity=...)`` records the transference of Fifty
et al. (2021, Eq. 1; heads held fixed, with a plain SGD step) on every
mini-batch step; ``it_mtl=True`` updates the shared
parameters with their Algorithm 1. Both act between the step's backward pass
and the optimizer step (:meth:`~._training.Callback.on_grad_computed`).
"""

import warnings

import numpy as np
import torch

from ._training import Callback, task_membership


class TaskTransference(Callback):
    """TAG's inter-task affinity on each mini-batch step, and the IT-MTL update.

    Parameters
    ----------
    net : MultiHeadNet being trained.
    objective : the fit's :class:`~._training.Objective`.
    n_tasks : int
    record_affinity : {"lookahead", "first_order"} or None
    it_mtl : bool
    learning_rate : float
        The step ``lr`` of the lookahead ``shared - lr * g``.
    """

    needs_graph = True

    def __init__(self, net, objective, n_tasks, *, record_affinity, it_mtl, learning_rate):
        self.net, self.objective = net, objective
        self.shared = {n: p for n, p in net.bottom.named_parameters() if p.requires_grad}
        if not self.shared:
            raise ValueError(
                "record_affinity and it_mtl need a bottom with trainable parameters; "
                "hidden_layer_sizes is empty and no trainable module was given."
            )
        self.record, self.it_mtl = record_affinity, it_mtl
        self.method = record_affinity or "lookahead"
        self.lr = learning_rate
        self.sums = np.zeros((n_tasks, n_tasks))
        self.counts = np.zeros((n_tasks, n_tasks))

    def _lookahead(self, batch, shifts, membership, factor):
        """Task objective terms of the batch before and after each shift of the
        shared parameters: ``(after (n_shifts, T), before (T,))``.

        Every pass, the unshifted one included, draws the same dropout masks
        (the random state is reset before each and restored afterwards), so
        a ratio of after to before measures the shift alone.
        """
        names = list(self.shared)
        # copies: a lookahead pass in train mode must not update running statistics
        buffers = {n: b.clone() for n, b in self.net.bottom.named_buffers()}
        device = batch["x"].device
        cuda = [device] if device.type == "cuda" else []
        out = []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            states = [torch.get_rng_state()] + [torch.cuda.get_rng_state(d) for d in cuda]
            for shift in [None, *shifts]:
                torch.set_rng_state(states[0])
                for d, state in zip(cuda, states[1:]):
                    torch.cuda.set_rng_state(state, d)
                params = self.shared if shift is None else {
                    n: self.shared[n] - s for n, s in zip(names, shift)
                }
                z = torch.func.functional_call(self.net.bottom, (params, buffers), (batch["x"],))
                parts = self.objective.terms(self.net.heads(z, batch["task"]), batch, factor)
                out.append(membership @ parts)
        return torch.stack(out[1:]), out[0]

    def on_grad_computed(self, net, batch, parts, factor):
        """Record the step's affinity when asked; with IT-MTL, replace the shared
        parameters' gradients by the chosen candidate's."""
        present, membership = task_membership(batch["task"], parts.dtype)
        losses = membership @ parts
        shared = list(self.shared.values())
        grads = [
            torch.autograd.grad(losses[i], shared, retain_graph=True, allow_unused=True)
            for i in range(len(present))
        ]
        grads = [[torch.zeros_like(p) if g is None else g for g, p in zip(gs, shared)] for gs in grads]
        flat = torch.stack([torch.cat([g.reshape(-1) for g in gs]) for gs in grads])  # (T, d)
        base = losses.detach()
        if self.record:
            z = self._affinity(batch, grads, flat, base, membership, factor)
            idx = np.array(present)
            ok = np.isfinite(z)
            self.sums[np.ix_(idx, idx)] += np.where(ok, z, 0.0)
            self.counts[np.ix_(idx, idx)] += ok
        if self.it_mtl:
            # the joint gradient, or one task's gradient scaled to the same total
            # task weight (as if every present task were that one)
            n_present = len(present)
            total = [sum(per_task) for per_task in zip(*grads)]
            candidates = [total] + [[n_present * g for g in gs] for gs in grads]
            cand_flat = torch.cat([flat.sum(dim=0, keepdim=True), n_present * flat])
            if self.method == "first_order":
                direction = (flat / base[:, None]).sum(dim=0)  # gradient of the log-product loss
                scores = (cand_flat @ direction).cpu().numpy()
            else:
                after, before = self._lookahead(
                    batch, [[self.lr * g for g in c] for c in candidates], membership, factor
                )
                scores = (1.0 - after / before).sum(dim=1).cpu().numpy()
            chosen = candidates[int(np.nanargmax(scores))]
            for p, g in zip(shared, chosen):
                p.grad = g + self.objective.weight_decay * p.detach()

    def _affinity(self, batch, grads, flat, base, membership, factor):
        if self.method == "first_order":
            z = self.lr * (flat @ flat.T) / base[None, :]
        else:
            after, before = self._lookahead(
                batch, [[self.lr * g for g in gs] for gs in grads], membership, factor
            )
            z = 1.0 - after / before[None, :]
        return z.detach().cpu().numpy()

    def affinity(self):
        """Mean transference of task ``i`` (row) on task ``j`` (column) over the
        steps holding both; NaN for pairs never in one batch."""
        out = np.full_like(self.sums, np.nan)
        np.divide(self.sums, self.counts, out=out, where=self.counts > 0)
        return out


def mean_affinity(per_member):
    """The members' mean of :meth:`TaskTransference.affinity`, NaN-aware."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pairs never in one batch
        return np.nanmean(np.stack(per_member), axis=0)
