"""Multitask influence for shared-bottom networks, fed to the shared arrow engine.

Coordinates: each task's head is kept exact (its weights and bias, padded to
the widest head); the shared bottom is seen through a random projection
``P`` (TRAK's trick). ``P`` is block-diagonal over the bottom's parameter
tensors and each block is a Kronecker product ``P_out (x) P_in`` of two small
Gaussian matrices (LoGra's factorization). For a linear layer the per-row
gradient of its weight is the outer product ``delta x^T`` of the layer's
output gradient and input, so its projection ``(P_out delta)(P_in x)^T`` is
formed without ever materializing the per-row gradient. Any other module
goes through ``torch.func.vmap(grad)`` and the same projection, so both paths
give the same numbers (the tests check it).

The curvature is the Gauss-Newton matrix ``sum_i s_i J_i^T Lambda_i J_i``
(``Lambda_i`` the Hessian of the row loss in the network output), positive
semi-definite by construction, plus ``weight_decay`` times ``P P^T`` (the
projection of the decay's identity). In projected coordinates it is exactly
the restriction of the full Gauss-Newton quadratic to the random subspace
spanned by ``P^T``; with no projection it is the full Gauss-Newton matrix.
Everything is accumulated over batches, and rows are scored a batch at a
time (:meth:`MemberInfluence.batch_scores`), so memory does not grow with
the number of rows beyond the rows themselves; the ``vmap`` path
materializes unprojected per-row gradients for as many rows of a batch as
fit in ``PER_ROW_GRADIENT_BYTES`` at a time. The blocks are
accumulated in float64 on the network's device and stay there:
:class:`~skmtl.influence.ArrowHessian` factorizes torch tensors where they
live (a GPU when the network is on one), and its score operators are
tensors on that device, so nothing goes through the host but the final
scores.
"""

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from ..influence import ArrowHessian

REGRESSION, CLASSIFICATION = 0, 1
# Most memory the generic (vmap) path spends on unprojected per-row gradients at
# once: a batch of a large backbone's rows is split into chunks of rows below it.
PER_ROW_GRADIENT_BYTES = 2**30


# -- losses on the network output -------------------------------------------------------
def row_losses(eta, y, kind, n_classes):
    """Per-row loss: squared error (regression rows), log-loss (classification rows).

    ``eta`` is ``(n, n_out)``; regression rows and binary classification use
    its first column (binary: the log-odds of ``classes_[1]``), multiclass
    rows all ``n_classes`` columns. ``y`` holds the target (regression) or
    the class index (classification) as floats.
    """
    first = eta[:, 0]
    regression = (first - y) ** 2
    is_class = kind == CLASSIFICATION
    if n_classes == 2:
        target = torch.where(is_class, y, torch.zeros_like(y))
        classif = nn.functional.binary_cross_entropy_with_logits(first, target, reduction="none")
    elif n_classes > 2:
        target = torch.where(is_class, y, torch.zeros_like(y)).long()
        classif = nn.functional.cross_entropy(eta[:, :n_classes], target, reduction="none")
    else:
        return regression
    return torch.where(is_class, classif, regression)


def output_terms(eta, y, kind, n_classes):
    """Gradient of each row's loss in the output and a Gauss-Newton factor.

    Returns ``(gradient, factor)`` of shapes ``(n, n_out)`` and
    ``(n, n_out, n_out)`` with ``factor @ factor^T`` the Hessian of the row
    loss in the output: ``2`` for squared error, ``p (1 - p)`` for the
    logistic loss, ``diag(p) - p p^T = A A^T`` with ``A = diag(sqrt p) - p
    sqrt(p)^T`` for the softmax loss. Rows of both kinds are computed with
    ``torch.where`` over whole columns: no boolean indexing, so no host
    synchronization on a GPU.
    """
    n, n_out = eta.shape
    reg = kind == REGRESSION
    gradient = torch.zeros_like(eta)
    factor = torch.zeros((n, n_out, n_out), dtype=eta.dtype, device=eta.device)
    gradient[:, 0] = torch.where(reg, 2.0 * (eta[:, 0] - y), 0.0)
    factor[:, 0, 0] = torch.where(reg, eta.new_full((n,), np.sqrt(2.0)), 0.0)  # in eta's dtype
    if n_classes == 2:
        p = torch.sigmoid(eta[:, 0])
        gradient[:, 0] = torch.where(reg, gradient[:, 0], p - y)
        factor[:, 0, 0] = torch.where(reg, factor[:, 0, 0], torch.sqrt(p * (1.0 - p)))
    elif n_classes > 2:
        cls = ~reg
        p = torch.softmax(eta[:, :n_classes], dim=1)
        onehot = nn.functional.one_hot(torch.where(cls, y, 0.0).long(), n_classes).to(eta.dtype)
        gradient[:, :n_classes] = torch.where(cls[:, None], p - onehot, gradient[:, :n_classes])
        root = torch.sqrt(p)
        softmax_factor = torch.diag_embed(root) - p[:, :, None] * root[:, None, :]
        factor[:, :n_classes, :n_classes] = torch.where(
            cls[:, None, None], softmax_factor, factor[:, :n_classes, :n_classes]
        )
    return gradient, factor


# -- projection ------------------------------------------------------------------------------
def _as_matrix_shape(shape):
    """A parameter tensor seen as a matrix: (first axis, everything else)."""
    if len(shape) == 0:
        return 1, 1
    return shape[0], int(np.prod(shape[1:], dtype=np.int64))


class GradientProjector:
    """Block-diagonal Kronecker-factored Gaussian projection of bottom gradients.

    Each parameter tensor, seen as an ``(a, b)`` matrix, gets a share of
    ``projection_dim`` proportional to its size, split as ``p_out x p_in``;
    its block is ``P_out (x) P_in`` with entries ``N(0, 1/a)`` and ``N(0,
    1/b)``, so that ``E[P P^T] = I``. A factor whose share covers its whole
    axis is the identity, and ``projection_dim=None`` (or one at least the
    number of parameters) gives the identity: exact gradients.

    Parameters
    ----------
    shapes : list of tuple
        Shapes of the bottom's trainable parameter tensors.
    projection_dim : int or None
    seed : int
    device, dtype : torch device and dtype of the projected gradients.

    Examples
    --------
    >>> import torch
    >>> from skmtl.network._influence import GradientProjector
    >>> proj = GradientProjector([(30, 20), (30,)], 64, seed=0, device="cpu", dtype=torch.float64)
    >>> proj.dim <= 64
    True
    >>> grads = [torch.ones(5, 30, 20, dtype=torch.float64), torch.ones(5, 30, dtype=torch.float64)]
    >>> proj.project(grads).shape == (5, proj.dim)
    True
    """

    def __init__(self, shapes, projection_dim, *, seed, device, dtype):
        self.device = device
        self.matrix_shapes = [_as_matrix_shape(tuple(s)) for s in shapes]
        sizes = np.array([a * b for a, b in self.matrix_shapes], dtype=np.int64)
        total = int(sizes.sum())
        generator = torch.Generator().manual_seed(int(seed))
        self.factors = []
        for (a, b), size in zip(self.matrix_shapes, sizes):
            if projection_dim is None or projection_dim >= total:
                p_out, p_in = a, b
            else:
                budget = max(1, int(projection_dim * size // total))
                p_out = int(np.clip(round(np.sqrt(budget * a / b)), 1, a))
                p_in = int(np.clip(budget // p_out, 1, b))
                p_out = int(np.clip(budget // p_in, 1, a))
            self.factors.append(
                (_gaussian(p_out, a, generator, device, dtype), _gaussian(p_in, b, generator, device, dtype))
            )
        self.block_dims = [
            (a if po is None else po.shape[0]) * (b if pi is None else pi.shape[0])
            for (a, b), (po, pi) in zip(self.matrix_shapes, self.factors)
        ]
        self.dim = int(sum(self.block_dims))

    def project(self, grads):
        """Project per-row gradients, one ``(n, *shape)`` tensor per parameter."""
        blocks = []
        for g, (a, b), (p_out, p_in) in zip(grads, self.matrix_shapes, self.factors):
            g = g.reshape(len(g), a, b)
            if p_out is not None:
                g = torch.einsum("oa,nab->nob", p_out, g)
            if p_in is not None:
                g = g @ p_in.T
            blocks.append(g.reshape(len(g), -1))
        return torch.cat(blocks, dim=1)

    def project_outer(self, index, delta, inputs):
        """Projection of the per-row outer products ``delta_n inputs_n^T``
        (tensor ``index`` seen as a matrix), without forming them."""
        p_out, p_in = self.factors[index]
        if p_out is not None:
            delta = delta @ p_out.T
        if p_in is not None:
            inputs = inputs @ p_in.T
        return (delta[:, :, None] * inputs[:, None, :]).reshape(len(delta), -1)

    def gram(self):
        """``P P^T`` (block-diagonal, Kronecker blocks), float64 on the projection's device."""
        f64 = torch.float64
        out = torch.zeros((self.dim, self.dim), dtype=f64, device=self.device)
        start = 0
        for (a, b), (p_out, p_in), size in zip(self.matrix_shapes, self.factors, self.block_dims):
            # in float64 from the factors as used (even where float32 products run in TF32)
            left = _identity(a, self.device) if p_out is None else p_out.to(f64) @ p_out.to(f64).T
            right = _identity(b, self.device) if p_in is None else p_in.to(f64) @ p_in.to(f64).T
            out[start:start + size, start:start + size] = torch.kron(left, right)
            start += size
        return out


def _gaussian(rows, cols, generator, device, dtype):
    if rows >= cols:
        return None  # identity: nothing to compress on this axis
    mat = torch.randn(rows, cols, generator=generator, dtype=torch.float64) / np.sqrt(cols)
    return mat.to(device=device, dtype=dtype)


def _identity(n, device):
    return torch.eye(n, dtype=torch.float64, device=device)


# -- per-row gradients ----------------------------------------------------------------------
class Featurizer:
    """Per-row gradients of ``<cotangent, output>`` in (head, projected bottom) coordinates.

    ``fast=None`` picks the factored path when every trainable bottom
    parameter belongs to an ``nn.Linear`` fed 2-D inputs, else
    ``torch.func.vmap(grad)``; ``fast=False`` forces the latter (tests).
    """

    def __init__(self, net, projector, fast=None):
        self.net = net
        self.projector = projector
        self.params = {n: p for n, p in net.bottom.named_parameters() if p.requires_grad}
        self.buffers = dict(net.bottom.named_buffers())
        index = {id(p): i for i, p in enumerate(self.params.values())}
        self.linears = []  # (module, weight index, bias index or None)
        covered = set()
        for module in net.bottom.modules():
            if isinstance(module, nn.Linear) and module.weight.requires_grad:
                bias = module.bias if module.bias is not None and module.bias.requires_grad else None
                self.linears.append((module, index[id(module.weight)], None if bias is None else index[id(bias)]))
                covered.update({id(module.weight)} | ({id(bias)} if bias is not None else set()))
        factorable = covered == set(index)
        self.fast = factorable if fast is None else (fast and factorable)

    def head_dim(self):
        n_out, width = self.net.head_weight.shape[1:]
        return n_out * (width + 1)

    def __call__(self, x, task, cotangents):
        """``cotangents`` ``(n, m, n_out)`` -> head ``(n, m, d_head)``, bottom ``(n, m, dim)``."""
        if self.projector.dim == 0:  # a bottom without trainable parameters
            with torch.no_grad():
                z = self.net.bottom(x)
            bottom = x.new_zeros(cotangents.shape[:2] + (0,))
        elif self.fast:
            z, bottom = self._fast(x, task, cotangents)
        else:
            with torch.no_grad():
                z = self.net.bottom(x)
            bottom = self._generic(x, task, cotangents)
        heads = torch.cat(
            [(cotangents[:, :, :, None] * z[:, None, None, :]).flatten(2), cotangents], dim=2
        )
        return heads, bottom

    def _to_features(self, task, cotangents):
        # a row's output is W_k z + b_k, so an output cotangent c pulls back to W_k^T c
        return torch.einsum("nmc,nch->nmh", cotangents, self.net.head_weight.detach()[task])

    def _fast(self, x, task, cotangents):
        records = []
        hooks = [
            module.register_forward_hook(lambda mod, inp, out: records.append((mod, inp[0], out)))
            for module, _, _ in self.linears
        ]
        try:
            with torch.enable_grad():
                z = self.net.bottom(x)
        finally:
            for hook in hooks:
                hook.remove()
        seen = [mod for mod, _, _ in records]
        if sorted(map(id, seen)) != sorted(id(m) for m, _, _ in self.linears) or any(
            inp.ndim != 2 for _, inp, _ in records
        ):
            # a layer used twice or on batched sequences: the outer-product form does not hold
            self.fast = False
            return z.detach(), self._generic(x, task, cotangents)
        where = {id(m): (w, b) for m, w, b in self.linears}
        feature_cot = self._to_features(task, cotangents)
        n, n_cot = cotangents.shape[:2]
        out = torch.empty((n, n_cot, self.projector.dim), dtype=x.dtype, device=x.device)
        offsets = np.concatenate([[0], np.cumsum(self.projector.block_dims)])
        for m in range(n_cot):
            deltas = torch.autograd.grad(
                z, [o for _, _, o in records], grad_outputs=feature_cot[:, m], retain_graph=m < n_cot - 1
            )
            for (mod, inp, _), delta in zip(records, deltas):
                w_idx, b_idx = where[id(mod)]
                out[:, m, offsets[w_idx]:offsets[w_idx + 1]] = self.projector.project_outer(
                    w_idx, delta, inp.detach()
                )
                if b_idx is not None:
                    ones = torch.ones((n, 1), dtype=x.dtype, device=x.device)
                    out[:, m, offsets[b_idx]:offsets[b_idx + 1]] = self.projector.project_outer(
                        b_idx, delta, ones
                    )
        return z.detach(), out

    def _generic(self, x, task, cotangents):
        feature_cot = self._to_features(task, cotangents)
        params = {k: v.detach() for k, v in self.params.items()}
        bottom, buffers = self.net.bottom, self.buffers

        def pulled_back(p, row, cot):
            z = functional_call(bottom, (p, buffers), (row[None],))[0]
            return (z * cot).sum()

        per_row = vmap(grad(pulled_back), in_dims=(None, 0, 0))
        n_params = sum(p.numel() for p in params.values())
        chunk = max(1, PER_ROW_GRADIENT_BYTES // (n_params * x.element_size()))
        out = []
        for m in range(cotangents.shape[1]):
            projected = []
            for start in range(0, len(x), chunk):
                rows = slice(start, start + chunk)
                grads = per_row(params, x[rows], feature_cot[rows, m])
                projected.append(self.projector.project([grads[k] for k in self.params]))
            out.append(torch.cat(projected))
        return torch.stack(out, dim=1)


# -- accumulation over batches and the arrow solve ----------------------------------------------
class MemberInfluence:
    """Influence of one trained network: Gauss-Newton blocks, arrow solve, scores.

    The blocks, the factorization (``hessian``, an
    :class:`~skmtl.influence.ArrowHessian` on float64 tensors) and the score
    operators all live on the device of ``data``.

    Parameters
    ----------
    net : the trained multi-head module (``bottom``, ``head_weight``, ``head_bias``)
    data : dict of tensors ``x, y, task, kind, scale`` for the fitted rows
        (``scale`` = the row's weight over its task's total weight).
    n_tasks, n_classes : int
    weight_decay : float
    damping : float, "auto" or None
        The identity's coefficient added to the Gauss-Newton matrix: None
        for ``weight_decay``; ``"auto"`` for ``weight_decay`` plus 0.1 times
        the matrix's mean eigenvalue (trace over dimension).
    projection_dim : int or None
    seed : int
    batch_size : int
    fast : bool or None
    """

    def __init__(self, net, data, *, n_tasks, n_classes, weight_decay, projection_dim, seed,
                 batch_size, damping=None, fast=None):
        self.net, self.data = net, data
        self.n_tasks, self.n_classes = n_tasks, n_classes
        self.batch_size = batch_size
        x = data["x"]
        shapes = [p.shape for p in net.bottom.parameters() if p.requires_grad]
        self.projector = GradientProjector(shapes, projection_dim, seed=seed, device=x.device, dtype=x.dtype)
        self.featurizer = Featurizer(net, self.projector, fast=fast)
        self._accumulate(weight_decay, damping)

    def _batches(self, data, start=0, stop=None):
        """``(positions relative to start, batch)`` over the rows ``start:stop`` of ``data``."""
        stop = len(data["x"]) if stop is None else stop
        for first in range(start, stop, self.batch_size):
            sl = slice(first, min(first + self.batch_size, stop))
            yield slice(sl.start - start, sl.stop - start), {k: v[sl] for k, v in data.items()}

    def _row_gradients(self, batch, with_factors):
        with torch.no_grad():
            eta = self.net(batch["x"], batch["task"])
        gradient, factor = output_terms(eta, batch["y"], batch["kind"], self.n_classes)
        cot = gradient[:, None] if not with_factors else torch.cat(
            [gradient[:, None], factor.transpose(1, 2)], dim=1
        )
        heads, bottom = self.featurizer(batch["x"], batch["task"], cot)
        return heads, bottom

    def _accumulate(self, weight_decay, damping):
        """Per-task mean gradients and Gauss-Newton blocks over the fitted rows.

        Rows are visited sorted by task, so each batch holds a few runs of
        one task, known on the host from the task counts: the per-task
        blocks take one slice per run, with no boolean indexing (no host
        synchronization per task on a GPU) and a fixed summation order.
        """
        d_t, p, K = self.featurizer.head_dim(), self.projector.dim, self.n_tasks
        dev, f64 = self.data["x"].device, torch.float64
        mean_t = torch.zeros((K, d_t), dtype=f64, device=dev)
        mean_b = torch.zeros((K, p), dtype=f64, device=dev)
        h_tt = torch.zeros((K, d_t, d_t), dtype=f64, device=dev)
        h_tb = torch.zeros((K, d_t, p), dtype=f64, device=dev)
        h_bb = torch.zeros((p, p), dtype=f64, device=dev)
        task = self.data["task"]
        order = torch.argsort(task, stable=True)
        ends = np.cumsum(torch.bincount(task, minlength=K).cpu().numpy())
        starts = ends - np.diff(ends, prepend=0)
        n = len(task)
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            batch = {key: value[order[start:stop]] for key, value in self.data.items()}
            heads, bottom = self._row_gradients(batch, with_factors=True)
            s = batch["scale"].to(f64)
            heads, bottom = heads.to(f64), bottom.to(f64)
            root = torch.sqrt(s)[:, None, None]
            fh, fb = (heads[:, 1:] * root), (bottom[:, 1:] * root)
            grad_t, grad_b = s[:, None] * heads[:, 0], s[:, None] * bottom[:, 0]
            fb_flat = fb.reshape(fb.shape[0] * fb.shape[1], p)
            h_bb += fb_flat.T @ fb_flat
            for k in np.flatnonzero((starts < stop) & (ends > start)):
                run = slice(max(starts[k], start) - start, min(ends[k], stop) - start)
                a = fh[run].reshape(-1, d_t)
                b = fb[run].reshape(len(a), p)
                h_tt[k] += a.T @ a
                h_tb[k] += a.T @ b
                mean_t[k] += grad_t[run].sum(dim=0)
                mean_b[k] += grad_b[run].sum(dim=0)
        self.mean_t, self.mean_b = mean_t, mean_b
        # float64 tensors on the device: the arrow engine factorizes them where they are
        if damping is None:
            damping = weight_decay
        elif damping == "auto":
            mean_eigenvalue = (h_tt.diagonal(dim1=1, dim2=2).sum() + h_bb.trace()) / (K * d_t + p)
            damping = weight_decay + 0.1 * mean_eigenvalue.item()
        self.damping = damping
        h_tt += damping * _identity(d_t, dev)
        h_bb += damping * self.projector.gram()
        self.hessian = ArrowHessian(h_tt, h_tb, h_bb)

    def task_gradients(self, data, scale):
        """Sum over rows of ``scale * gradient`` per task: ``(K, d_t)``, ``(K, p)``."""
        d_t, p, K = self.featurizer.head_dim(), self.projector.dim, self.n_tasks
        dev = data["x"].device
        out_t = torch.zeros((K, d_t), dtype=torch.float64, device=dev)
        out_b = torch.zeros((K, p), dtype=torch.float64, device=dev)
        for sl, batch in self._batches(data):
            heads, bottom = self._row_gradients(batch, with_factors=False)
            s = scale[sl].to(torch.float64)[:, None]
            out_t.index_add_(0, batch["task"], s * heads[:, 0].to(torch.float64))
            out_b.index_add_(0, batch["task"], s * bottom[:, 0].to(torch.float64))
        return out_t, out_b

    def operators(self, val_t, val_b):
        """The engine's score operators (:meth:`ArrowHessian.score_operators`)
        for validation gradients ``(K, d_t)``, ``(K, p)``: float64 tensors on the device."""
        return self.hessian.score_operators(val_t, val_b)

    def _perturbations(self, start, stop):
        """``(positions relative to start, task, u_t, u_b)`` per batch: the centred
        row perturbations of the fitted rows ``start:stop``."""
        for sl, batch in self._batches(self.data, start, stop):
            heads, bottom = self._row_gradients(batch, with_factors=False)
            task = batch["task"]
            s = batch["scale"].to(torch.float64)[:, None]
            u_t = s * (heads[:, 0].to(torch.float64) - self.mean_t[task])
            u_b = s * (bottom[:, 0].to(torch.float64) - self.mean_b[task])
            yield sl, task, u_t, u_b

    def batch_scores(self, operators, start=0, stop=None, components=False):
        """``(positions relative to start, scores)`` per batch of the fitted rows
        ``start:stop`` (all by default): ``scores`` a dict of tensors on the device,
        ``"scores"``, and ``"direct"`` and ``"shared"`` when ``components``; so a
        caller holds no more than a batch of one member's scores on the device."""
        for sl, task, u_t, u_b in self._perturbations(start, stop):
            scored = self.hessian.scores(operators, task, u_t, u_b, return_components=components)
            yield sl, dict(scores=scored[0], **scored[1]) if components else {"scores": scored}

    def row_scores(self, operators, start=0, stop=None, components=False):
        """:meth:`batch_scores` as one dict of ``(stop - start, K)`` tensors on the device."""
        stop = len(self.data["x"]) if stop is None else stop
        names = ("scores", "direct", "shared") if components else ("scores",)
        dev = self.data["x"].device
        shape = (stop - start, self.n_tasks)
        out = {name: torch.zeros(shape, dtype=torch.float64, device=dev) for name in names}
        for sl, batch in self.batch_scores(operators, start, stop, components):
            for name in names:
                out[name][sl] = batch[name]
        return out

    def batch_totals(self, operator, start, stop):
        """``(positions relative to start, totals)`` per batch of the fitted rows
        ``start:stop``: total scores against
        :meth:`~skmtl.influence.ArrowHessian.total_operator`, on the device."""
        for sl, task, u_t, u_b in self._perturbations(start, stop):
            yield sl, self.hessian.total_scores(operator, task, u_t, u_b)
