"""Block-arrow Hessian algebra shared by every skmtl model.

A multitask objective with task parameters ``theta_1 .. theta_K`` and shared
parameters ``beta`` has an arrow-shaped Hessian::

    H = [ H_11              H_1b ]
        [        ...        ...  ]
        [             H_KK  H_Kb ]
        [ H_b1  ...   H_bK  H_bb ]

This module inverts it through the Schur complement of the task blocks and
evaluates influence scores from per-row gradients. It knows nothing about the
model that produced the blocks: ridge, logistic regression and networks hand
it their blocks and gradients.

The algebra is written once. The few operations that differ between numpy
arrays and torch tensors (Cholesky factorizations and solves, einsum,
array creation) go through a small backend object chosen from the type of
the task blocks, so torch tensors are factorized where they live (e.g. on a
GPU) without a copy to the host.
"""

import warnings

import numpy as np
from sklearn.utils import gen_batches

from ._backends import _ops_for


class ArrowHessian:
    """Factorized block-arrow Hessian.

    Works on numpy arrays (float64, factorized with LAPACK on the host) or
    on torch tensors (float64 on the tensors' device, e.g. a GPU): the
    backend follows the type of ``task_blocks``, and every method returns
    the same type, with right-hand sides converted to it.

    Parameters
    ----------
    task_blocks : ndarray or torch.Tensor of shape (n_tasks, d_task, d_task)
        Symmetric positive definite diagonal blocks ``H_kk``. Tasks whose
        parameter vectors are shorter can be padded with an identity block and
        zero gradients: padding changes no score. A tensor selects the torch
        backend: every block is then converted to float64 on its device.
    cross_blocks : ndarray or torch.Tensor of shape (n_tasks, d_task, d_shared)
        Task/shared coupling blocks ``H_kb``.
    shared_block : ndarray or torch.Tensor of shape (d_shared, d_shared)
        The shared block ``H_bb``.
    task_shared_blocks : ndarray or torch.Tensor of shape (n_tasks, d_shared, d_shared) or (d_shared, d_shared), default=None
        Each task's contribution to ``H_bb``, or one block common to all tasks
        (needed only to drop a whole task with :meth:`drop_task_step`;
        converted to the backend of ``task_blocks`` there).

    Attributes
    ----------
    schur_ : ndarray or torch.Tensor of shape (d_shared, d_shared)
        ``S = H_bb - sum_k H_bk H_kk^{-1} H_kb``.
    coupling_ : ndarray or torch.Tensor of shape (n_tasks, d_task, d_shared)
        ``M_k = H_kk^{-1} H_kb``.

    Raises
    ------
    numpy.linalg.LinAlgError
        When a task block or the Schur complement is not positive definite
        (with either backend).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.influence import ArrowHessian
    >>> eye = np.eye(2)
    >>> H = ArrowHessian(np.stack([3 * eye, 3 * eye]), np.stack([-eye, -eye]), 2 * eye)
    >>> task_sol, shared_sol = H.solve(np.ones((2, 2)), np.zeros(2))
    >>> np.round(shared_sol, 6)
    array([0.5, 0.5])

    The same blocks as torch tensors are factorized on their device:

    >>> import torch
    >>> eye = torch.eye(2, dtype=torch.float64)
    >>> H = ArrowHessian(torch.stack([3 * eye, 3 * eye]), torch.stack([-eye, -eye]), 2 * eye)
    >>> task_sol, shared_sol = H.solve(torch.ones(2, 2), torch.zeros(2))
    >>> shared_sol
    tensor([0.5000, 0.5000], dtype=torch.float64)
    """

    def __init__(self, task_blocks, cross_blocks, shared_block, task_shared_blocks=None):
        self._ops = ops = _ops_for(task_blocks)
        self.task_blocks = ops.asarray(task_blocks)
        self.cross_blocks = ops.asarray(cross_blocks)
        self.shared_block = ops.asarray(shared_block)
        self.task_shared_blocks = (
            None if task_shared_blocks is None else ops.asarray(task_shared_blocks)
        )
        self.n_tasks, self.d_task, _ = self.task_blocks.shape
        self.d_shared = self.shared_block.shape[0]
        # The explicit inverses turn every later task solve into a matrix product.
        self._task_inv = ops.spd_inverses(self.task_blocks, "task block")
        self.coupling_ = self._task_inv @ self.cross_blocks
        # summed over slices of tasks: a tensordot of all of them copies broadcast
        # cross blocks (a common block for every task) to a full (n_tasks, ...) array
        self.schur_ = self.shared_block - sum(
            ops.tensordot(self.cross_blocks[s], self.coupling_[s], axes=([0, 1], [0, 1]))
            for s in gen_batches(self.n_tasks, 256)
        )
        self._schur_chol = ops.cholesky(self.schur_[None], "Schur complement")[0]

    # -- basic solves -----------------------------------------------------
    def task_solve(self, rhs):
        """Apply ``H_kk^{-1}`` to task ``k``'s right-hand side, for every task.

        Parameters
        ----------
        rhs : ndarray or torch.Tensor of shape (n_tasks, d_task) or (n_tasks, d_task, m)
            Row ``k`` is task ``k``'s right-hand side.

        Returns
        -------
        solution : ndarray or torch.Tensor of the shape of ``rhs``
        """
        rhs = self._ops.asarray(rhs)
        if rhs.ndim == 2:
            return self._ops.einsum("kts,ks->kt", self._task_inv, rhs)
        return self._task_inv @ rhs

    def schur_solve(self, rhs):
        """Apply the inverse Schur complement ``S^{-1}`` to ``rhs``.

        Parameters
        ----------
        rhs : ndarray or torch.Tensor of shape (d_shared,) or (d_shared, m)

        Returns
        -------
        solution : ndarray or torch.Tensor of the shape of ``rhs``
        """
        return self._ops.cho_solve(self._schur_chol, rhs)

    def solve(self, task_rhs, shared_rhs):
        """Solve ``H x = b`` with ``b = (task_rhs[0], ..., task_rhs[K-1], shared_rhs)``.

        Parameters
        ----------
        task_rhs : ndarray or torch.Tensor of shape (n_tasks, d_task)
            Task blocks of ``b``.
        shared_rhs : ndarray or torch.Tensor of shape (d_shared,)
            Shared block of ``b``.

        Returns
        -------
        task_solution : ndarray or torch.Tensor of shape (n_tasks, d_task)
        shared_solution : ndarray or torch.Tensor of shape (d_shared,)
        """
        ops = self._ops
        task_rhs = ops.asarray(task_rhs)
        y = self.task_solve(task_rhs)
        shared = self.schur_solve(ops.asarray(shared_rhs) - ops.einsum("ktb,kt->b", self.cross_blocks, y))
        task = y - ops.einsum("ktb,b->kt", self.coupling_, shared)
        return task, shared

    # -- influence scores ---------------------------------------------------
    def influence(
        self,
        row_tasks,
        row_task_grads,
        val_task_grads,
        row_shared_grads=None,
        val_shared_grads=None,
        return_components=False,
    ):
        """Scores ``v_j^T H^{-1} u_i`` for every perturbation ``i`` and target ``j``.

        Parameters
        ----------
        row_tasks : ndarray of shape (n,)
            Index of the task block each perturbation ``u_i`` lives in.
        row_task_grads : ndarray of shape (n, d_task)
            Task-block part of ``u_i``.
        val_task_grads : ndarray of shape (n_tasks, d_task)
            Task-block part of each target's validation gradient ``v_j``
            (``v_j`` lives in block ``j``).
        row_shared_grads : ndarray of shape (n, d_shared), default=None
            Shared-block part of ``u_i`` (zero for soft sharing).
        val_shared_grads : ndarray of shape (n_tasks, d_shared), default=None
            Shared-block part of ``v_j`` (zero for soft sharing).
        return_components : bool, default=False
            Also return the two paths: ``direct`` (through the row's own task
            block, non-zero only where ``j`` is the row's task) and ``shared``
            (through the shared parameters; the only path between tasks).

        Returns
        -------
        scores : ndarray or torch.Tensor of shape (n, n_tasks)
        components : dict, only when ``return_components``
        """
        operators = self.score_operators(val_task_grads, val_shared_grads)
        return self.scores(operators, row_tasks, row_task_grads, row_shared_grads, return_components)

    def scores(self, operators, row_tasks, row_task_grads, row_shared_grads=None,
               return_components=False):
        """Apply :meth:`score_operators` to perturbations: the per-row half of :meth:`influence`.

        Parameters
        ----------
        operators : tuple
            The return value of :meth:`score_operators`.
        row_tasks, row_task_grads : ndarray or torch.Tensor
            As in :meth:`influence`.
        row_shared_grads : ndarray or torch.Tensor, default=None
            As in :meth:`influence`.
        return_components : bool, default=False
            As in :meth:`influence`.

        Returns
        -------
        scores : ndarray or torch.Tensor of shape (n, n_tasks)
            Without components, the only ``(n, n_tasks)`` array allocated.
        components : dict, only when ``return_components``

        Examples
        --------
        Factorize and solve for the targets once, then score rows block by block:

        >>> import numpy as np
        >>> from skmtl.influence import ArrowHessian
        >>> eye = np.eye(2)
        >>> H = ArrowHessian(np.stack([3 * eye, 3 * eye]), np.stack([-eye, -eye]), 2 * eye)
        >>> v = np.array([[1.0, 0.0], [0.0, 1.0]])                  # one target per task
        >>> operators = H.score_operators(v)
        >>> tasks, u = np.array([0, 1, 1]), np.array([[1.0, 2.0], [0.5, 0.0], [0.0, 1.0]])
        >>> blocks = [H.scores(operators, tasks[s], u[s]) for s in (slice(0, 2), slice(2, 3))]
        >>> bool(np.allclose(np.vstack(blocks), H.influence(tasks, u, v)))
        True
        """
        ops = self._ops
        own, shared_to_target = operators
        row_tasks = ops.as_index(row_tasks)
        row_task_grads = ops.asarray(row_task_grads)
        # Through the shared block a row of task k pulls back to u_b - M_k^T u_t
        # (d_shared numbers), scored against all targets by one product; no
        # (d_task, n_tasks) operator per task, which would cost n_tasks^2 d_task.
        pulled = ops.zeros((len(row_tasks), self.d_shared))
        if row_shared_grads is not None:
            pulled = pulled + ops.asarray(row_shared_grads)
        for k, rows in ops.task_groups(row_tasks, self.n_tasks):
            pulled[rows] -= row_task_grads[rows] @ self.coupling_[k]
        shared = pulled @ shared_to_target
        own_column = (ops.arange(len(row_tasks)), row_tasks)
        direct = ops.einsum("nt,nt->n", own[row_tasks], row_task_grads)
        if not return_components:
            shared[own_column] += direct
            return shared
        direct_full = ops.zeros(shared.shape)
        direct_full[own_column] = direct
        return direct_full + shared, {"direct": direct_full, "shared": shared}

    def total_operator(self, val_task_grads, val_shared_grads=None, task_weights=None):
        """``H^{-1} v`` for the summed target ``v = sum_j w_j v_j``: one solve.

        A perturbation's total score ``sum_j w_j v_j^T H^{-1} u`` is then
        one dot product with it (:meth:`total_scores`), where the
        per-target scores cost ``n_tasks`` columns per row.

        Parameters
        ----------
        val_task_grads : ndarray or torch.Tensor of shape (n_tasks, d_task)
            As in :meth:`influence`.
        val_shared_grads : ndarray or torch.Tensor of shape (n_tasks, d_shared), default=None
            As in :meth:`influence`.
        task_weights : ndarray of shape (n_tasks,), default=None
            ``w_j``; all ones when omitted.

        Returns
        -------
        task_part : ndarray or torch.Tensor of shape (n_tasks, d_task)
        shared_part : ndarray or torch.Tensor of shape (d_shared,)

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl.influence import ArrowHessian
        >>> eye = np.eye(2)
        >>> H = ArrowHessian(np.stack([3 * eye, 3 * eye]), np.stack([-eye, -eye]), 2 * eye)
        >>> v = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> task_part, shared_part = H.total_operator(v, task_weights=[1.0, 0.5])
        >>> task_part.shape, shared_part.shape
        ((2, 2), (2,))
        """
        ops = self._ops
        w = ops.asarray(np.ones(self.n_tasks) if task_weights is None else task_weights)
        task_rhs = ops.asarray(val_task_grads) * w[:, None]
        shared_rhs = ops.zeros(self.d_shared)
        if val_shared_grads is not None:
            shared_rhs = shared_rhs + w @ ops.asarray(val_shared_grads)
        return self.solve(task_rhs, shared_rhs)

    def total_scores(self, operator, row_tasks, row_task_grads, row_shared_grads=None):
        """Total scores of perturbations against :meth:`total_operator`.

        Parameters
        ----------
        operator : tuple
            The return value of :meth:`total_operator`.
        row_tasks, row_task_grads : ndarray or torch.Tensor
            As in :meth:`influence`.
        row_shared_grads : ndarray or torch.Tensor, default=None
            As in :meth:`influence`.

        Returns
        -------
        total : ndarray or torch.Tensor of shape (n,)

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl.influence import ArrowHessian
        >>> eye = np.eye(2)
        >>> H = ArrowHessian(np.stack([3 * eye, 3 * eye]), np.stack([-eye, -eye]), 2 * eye)
        >>> v, w = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.5])
        >>> tasks, u = np.array([0, 1, 1]), np.array([[1.0, 2.0], [0.5, 0.0], [0.0, 1.0]])
        >>> total = H.total_scores(H.total_operator(v, task_weights=w), tasks, u)
        >>> bool(np.allclose(total, H.influence(tasks, u, v) @ w))
        True
        """
        ops = self._ops
        task_part, shared_part = operator
        row_task_grads = ops.asarray(row_task_grads)
        out = ops.einsum("nt,nt->n", row_task_grads, task_part[ops.as_index(row_tasks)])
        if row_shared_grads is not None:
            out = out + ops.asarray(row_shared_grads) @ shared_part
        return out

    def score_operators(self, val_task_grads, val_shared_grads=None):
        """Operators that score any perturbation against the targets ``v_j``.

        For a perturbation ``u`` in task block ``k`` (task part ``u_t``,
        shared part ``u_b``)::

            v_j^T H^{-1} u = [j == k] u_t @ own[k]                          (direct path)
                             + (u_b - u_t @ coupling_[k]) @ shared_to_target[:, j]   (shared path)

        so scoring any number of rows, on any device, takes matrix products
        only (:meth:`scores`), and the operators take ``n_tasks (d_task +
        d_shared)`` numbers. With the torch backend they are tensors on the
        blocks' device.

        Parameters
        ----------
        val_task_grads : ndarray of shape (n_tasks, d_task)
        val_shared_grads : ndarray of shape (n_tasks, d_shared), default=None
            As in :meth:`influence`.

        Returns
        -------
        own : ndarray of shape (n_tasks, d_task)
            ``H_kk^{-1} v_k``.
        shared_to_target : ndarray of shape (d_shared, n_tasks)
            ``S^{-1} c_j`` with ``c_j = v_jb - H_bj H_jj^{-1} v_j``.

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl.influence import ArrowHessian
        >>> eye = np.eye(2)
        >>> H = ArrowHessian(np.stack([3 * eye, 3 * eye]), np.stack([-eye, -eye]), 2 * eye)
        >>> own, shared_to_target = H.score_operators(np.ones((2, 2)))
        >>> u = np.array([[1.0, 0.0]])                       # a perturbation in block 0
        >>> scores = -(u @ H.coupling_[0]) @ shared_to_target
        >>> scores[:, 0] += u @ own[0]
        >>> bool(np.allclose(scores, H.influence([0], u, np.ones((2, 2)))))
        True
        """
        ops = self._ops
        own = self.task_solve(val_task_grads)
        c = -ops.einsum("jtb,jt->jb", self.cross_blocks, own)
        if val_shared_grads is not None:
            c = c + ops.asarray(val_shared_grads)
        return own, self.schur_solve(c.T).reshape(self.d_shared, len(c))

    def parameter_influence(self, task, task_grad, shared_grad=None):
        """Parameter response ``H^{-1} u`` to one perturbation (Proposition 1).

        Parameters
        ----------
        task : int
            The task block ``u`` lives in.
        task_grad : ndarray or torch.Tensor of shape (d_task,)
            Task-block part of ``u``.
        shared_grad : ndarray or torch.Tensor of shape (d_shared,), default=None
            Shared-block part of ``u`` (zero when omitted).

        Returns
        -------
        response : dict
            ``shared`` (shape ``(d_shared,)``, the shared influence),
            ``within`` (the response of the perturbed task's own parameters)
            and ``between`` (``(n_tasks, d_task)``, every task's response;
            row ``task`` equals ``within``).
        """
        ops = self._ops
        task_rhs = ops.zeros((self.n_tasks, self.d_task))
        task_rhs[task] = ops.asarray(task_grad)
        shared_rhs = ops.zeros(self.d_shared) if shared_grad is None else shared_grad
        tasks, shared = self.solve(task_rhs, shared_rhs)
        return {"shared": shared, "within": tasks[task], "between": tasks}

    # -- Newton steps on modified objectives ----------------------------------
    def low_rank_task_step(self, task, base_block, factors, scales, task_rhs, shared_rhs=None):
        """Newton steps on objectives that reweight rows of one task.

        System ``i`` is ``H`` with block ``task`` replaced by ``base_block -
        factors[i] @ diag(scales[i]) @ factors[i].T`` and right-hand side
        ``task_rhs[i]`` in that block (plus ``shared_rhs[i]`` in the shared
        block). Removing row ``i`` from a task whose loss is a weighted mean
        has exactly this form: the task's Hessian is rescaled (common to rows
        of equal weight) minus the row's own low-rank curvature.

        Each system is solved by block elimination: the modified task block
        by a rank-``r`` Woodbury update of one factorization of
        ``base_block``, inverted as it is where the update nears singular (a
        row that alone holds a direction of its task leaves it to the
        coupling, which a weak pull or large units make small next to the
        rest), then the modified Schur complement. That one is updated the
        same way where the update keeps its conditioning, and factorized
        afresh where removing the rows leaves a direction held only by a
        small shared penalty (more features than rows): there a Woodbury
        update would subtract nearly equal numbers.

        Parameters
        ----------
        task : int
        base_block : ndarray of shape (d_task, d_task)
        factors : ndarray of shape (m, d_task, r)
        scales : ndarray of shape (m,) or (m, r)
            One scale per system, or one per factor column (a negative
            scale adds curvature).
        task_rhs : ndarray of shape (m, d_task)
        shared_rhs : ndarray of shape (m, d_shared), default=None

        Returns
        -------
        own : ndarray of shape (m, d_task)
            Block ``task`` of each solution.
        shared : ndarray of shape (m, d_shared)
            Shared block of each solution; every other task ``j`` gets
            ``-coupling_[j] @ shared``.
        """
        ops = self._ops
        factors, task_rhs = ops.asarray(factors), ops.asarray(task_rhs)
        r = factors.shape[2]
        s = ops.asarray(scales)
        s = (s[:, None] if s.ndim == 1 else s) * ops.ones(r)  # (m, r)
        base_inv = ops.spd_inverses(ops.asarray(base_block)[None], "modified task block")[0]
        cross = self.cross_blocks[task]
        # Schur complement with block `task` replaced by base_block
        base_coupling = base_inv @ cross
        task_part, base_part = cross.T @ self.coupling_[task], cross.T @ base_coupling
        schur = self.schur_ + task_part - base_part
        schur_chol = ops.cholesky(schur[None], "Schur complement")[0]
        self._warn_if_cancelled(schur, schur_chol, (self.schur_, task_part, base_part),
                                f"Removing rows of task {task}")
        # (base - F S F^T)^-1 = base^-1 + U N U^T, U = base^-1 F, N = (I - S F^T U)^-1 S
        U = ops.einsum("ts,msr->mtr", base_inv, factors)
        small = ops.eye(r) - s[:, :, None] * ops.einsum("mtr,mtq->mrq", factors, U)
        N = ops.solve(small, ops.diag_embed(s))
        G = ops.einsum("tb,mtr->mbr", cross, U)
        # a row that alone holds a direction of its task leaves it to the pull toward the
        # shared vector: the update's small matrix nears singular and cancels digits, so
        # those systems' modified blocks are inverted as they are
        cancelled = ops.flatnonzero(ops.smallest_singular_values(small) < self._WOODBURY_MIN_PIVOT)
        direct_inv = None
        if len(cancelled):
            modified = ops.asarray(base_block)[None] - ops.einsum(
                "mtr,mr,msr->mts", factors[cancelled], s[cancelled], factors[cancelled])
            direct_inv = ops.spd_inverses(modified, "modified task block")
            size = ops.einsum("mts,mts->m", modified, modified) ** 0.5  # >= the largest singular value
            if (size > self._LOSES_DIGITS * ops.smallest_singular_values(modified)).any():
                warnings.warn(
                    "Some rows alone hold a direction of their task that only a weak pull toward "
                    "the shared coefficients keeps once they are removed, next to curvature over "
                    "1e10 times larger (features in large units, or a tiny alpha): their exact "
                    "removal effects lose digits. Standardize the features or raise alpha; "
                    "skmtl.inspection.loo_effects refits instead.", UserWarning)

        def task_block_solve(rhs):
            low_rank = ops.einsum("mrq,mq->mr", N, ops.einsum("msq,ms->mq", U, rhs))
            out = rhs @ base_inv + ops.einsum("mtr,mr->mt", U, low_rank)
            if direct_inv is not None:
                out[cancelled] = ops.einsum("mts,ms->mt", direct_inv, rhs[cancelled])
            return out

        # per system: Schur complement schur - G N G^T, right-hand side of the shared block
        own_rhs = task_block_solve(task_rhs)
        shared_b = -own_rhs @ cross
        if shared_rhs is not None:
            shared_b = shared_b + ops.asarray(shared_rhs)
        shared = self._updated_schur_solve(schur, schur_chol, G, N, shared_b)
        if direct_inv is not None:  # their Schur complements from the inverted blocks
            direct_schur = self.schur_ + task_part - ops.einsum(
                "tb,mts,sc->mbc", cross, direct_inv, cross)
            shared[cancelled] = ops.solve(direct_schur, shared_b[cancelled][..., None])[..., 0]
        # own block: (base - F S F^T)^-1 (task_rhs - cross @ shared)
        return own_rhs + task_block_solve(-shared @ cross.T), shared

    # A Woodbury update of the Schur complement whose small matrix (the
    # identity for no update) comes this close to singular cancels digits;
    # such systems are factorized instead.
    _WOODBURY_MIN_PIVOT = 1e-3
    # a modified task block this ill-conditioned costs the removal's solution its
    # digits (relative error about 2e-7 at 1e9, 2e-5 at 1e11: tests/test_numerics.py)
    _LOSES_DIGITS = 1e10

    def _warn_if_cancelled(self, schur, schur_chol, blocks, removing):
        """Warn where ``schur`` (lower Cholesky factor ``schur_chol``), the sum of
        ``blocks``, is over ``_LOSES_DIGITS`` times smaller than they are: the sum
        rounds to eps times its terms, which the solve divides by its smallest
        eigenvalue."""
        ops = self._ops
        terms = sum(ops.einsum("bc,bc->", block, block) ** 0.5 for block in blocks)
        if terms > self._LOSES_DIGITS * ops.smallest_eigenvalue_bound(schur, schur_chol):
            warnings.warn(
                f"{removing} leaves the shared block a Schur complement over 1e10 times smaller "
                "than the blocks it is summed from (features in large or tiny units, a tiny "
                "alpha or shared_alpha): its exact removal effects lose digits. Standardize the "
                "features; skmtl.inspection.loo_effects and loto_effects refit instead.",
                UserWarning)

    def _updated_schur_solve(self, schur, schur_chol, G, N, rhs):
        """Solve ``(schur - G_i N_i G_i^T) x_i = rhs_i`` for every system ``i``
        (``schur_chol``: the lower Cholesky factor of ``schur``)."""
        ops = self._ops
        m, d_shared, r = G.shape
        P = ops.cho_solve(schur_chol, G.swapaxes(0, 1).reshape(d_shared, m * r))
        P = P.reshape(d_shared, m, r).swapaxes(0, 1)
        base = ops.cho_solve(schur_chol, rhs.T).T
        # (schur - G N G^T)^-1 = schur^-1 + P (I - N G^T P)^-1 N P^T
        small = ops.eye(r) - N @ ops.einsum("mbr,mbq->mrq", G, P)
        coef = ops.solve(small, N @ ops.einsum("mbr,mb->mr", G, base)[..., None])[..., 0]
        shared = base + ops.einsum("mbr,mr->mb", P, coef)
        cancelled = ops.flatnonzero(ops.smallest_singular_values(small) < self._WOODBURY_MIN_PIVOT)
        if len(cancelled):
            direct = schur[None] - ops.einsum("mbr,mrq,mcq->mbc", G[cancelled], N[cancelled], G[cancelled])
            shared[cancelled] = ops.solve(direct, rhs[cancelled][..., None])[..., 0]
        return shared

    def drop_task_step(self, task, shared_rhs, added_shared_curvature=None):
        """Solve the system with task ``task``'s block row and column removed.

        Requires ``task_shared_blocks``.

        Parameters
        ----------
        task : int
            The task removed.
        shared_rhs : ndarray or torch.Tensor of shape (d_shared,) or (d_shared, m)
            The shared-block right-hand side.
        added_shared_curvature : ndarray or torch.Tensor of shape (d_shared, d_shared), default=None
            Curvature added to the shared block of the system without the
            task. A model pins with it directions that only the removed task
            held, where it knows the refit has no component: the blocks of
            the remaining tasks hold them only up to rounding, which a small
            shared penalty does not outweigh (the caller adds the term's
            gradient to ``shared_rhs``).

        Returns
        -------
        shared : ndarray or torch.Tensor of the shape of ``shared_rhs``
            The shared solution; every remaining task ``j`` gets
            ``-coupling_[j] @ shared``.
        """
        if self.task_shared_blocks is None:
            raise ValueError("drop_task_step needs task_shared_blocks.")
        ops = self._ops
        own = self.task_shared_blocks
        own = own if own.ndim == 2 else own[task]
        cross = self.cross_blocks[task]
        kept, added = self.schur_, cross.T @ self.coupling_[task]
        schur = kept + added - own
        if added_shared_curvature is not None:
            schur = schur + ops.asarray(added_shared_curvature)
        try:
            factor = ops.cholesky(schur[None], "Schur complement without the task")[0]
        except np.linalg.LinAlgError as exc:
            raise np.linalg.LinAlgError(
                f"{exc} Where one task alone spans directions of the features (more features "
                "than rows, in large units), removing it leaves them to the small shared "
                "penalty and rounding: standardize the features, or measure the removal with "
                "skmtl.inspection.loto_effects."
            ) from exc
        self._warn_if_cancelled(schur, factor, (kept, added, own), f"Removing task {task}")
        return ops.cho_solve(factor, ops.asarray(shared_rhs))
