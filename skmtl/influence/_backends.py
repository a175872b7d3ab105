"""Backends of :class:`~skmtl.influence.ArrowHessian`: the few array operations
that differ between numpy arrays and torch tensors (Cholesky factorizations
and solves, einsum, array creation), chosen from the type of the task blocks
so that torch tensors are factorized where they live (e.g. on a GPU)."""

import sys

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from ..utils import task_groups


def _not_positive_definite(what):
    return np.linalg.LinAlgError(
        f"The {what} of the Hessian is not positive definite. Increase the "
        "regularization (alpha, shared_alpha or weight_decay) or check for "
        "duplicated or constant features."
    )


class _NumpyOps:
    """Backend of :class:`ArrowHessian` for numpy arrays (float64, LAPACK)."""

    einsum = staticmethod(np.einsum)
    as_index = staticmethod(np.asarray)
    zeros = staticmethod(np.zeros)  # float64, as the torch backend's
    eye = staticmethod(np.eye)
    arange = staticmethod(np.arange)

    @staticmethod
    def asarray(a):
        return np.asarray(a, dtype=float)

    @staticmethod
    def tensordot(a, b, axes):
        return np.tensordot(a, b, axes=axes)

    @staticmethod
    def cholesky(blocks, what):
        """Lower Cholesky factors of a stack of SPD blocks."""
        try:
            return np.linalg.cholesky(blocks)
        except np.linalg.LinAlgError as exc:
            raise _not_positive_definite(what) from exc

    @staticmethod
    def spd_inverses(blocks, what):
        """Inverses of a stack of SPD blocks from their Cholesky factors (dpotri)."""
        inverses = _NumpyOps.cholesky(blocks, what)  # overwritten block by block: one stack in memory
        for k, factor in enumerate(inverses):
            inv, info = lapack.dpotri(factor, lower=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"Inverting the {what} failed (LAPACK info={info}).")
            inverses[k] = np.tril(inv) + np.tril(inv, -1).T
        return inverses

    @staticmethod
    def cho_solve(factor, rhs):
        """``A^{-1} rhs`` from the lower Cholesky factor of ``A``; ``rhs`` 1-D or 2-D."""
        return linalg.cho_solve((factor, True), rhs)

    @staticmethod
    def solve(a, b):
        """Batched general solve, ``b`` of shape ``(..., n, m)``."""
        return np.linalg.solve(a, b)

    @staticmethod
    def smallest_singular_values(a):
        return np.linalg.svd(a, compute_uv=False)[..., -1]

    @staticmethod
    def smallest_eigenvalue_bound(a, factor):
        """A lower bound, within a factor of the size, on the smallest eigenvalue of
        the SPD ``a`` from its lower Cholesky ``factor``: ``1 / ||a^-1||_1`` by
        LAPACK's condition estimate, in ``O(n^2)``."""
        norm = np.abs(a).sum(axis=0).max()
        rcond, _ = lapack.dpocon(factor, norm, uplo="L")
        return rcond * norm

    flatnonzero = staticmethod(np.flatnonzero)
    ones = staticmethod(np.ones)

    @staticmethod
    def diag_embed(a):
        """Diagonal matrices from the last axis of ``a``."""
        return a[..., :, None] * np.eye(a.shape[-1])

    task_groups = staticmethod(task_groups)


class _TorchOps:
    """Backend of :class:`ArrowHessian` for torch tensors: float64 on ``device``.

    Holds the device only (no module reference), so an engine pickles.
    """

    def __init__(self, device):
        self.device = device

    @staticmethod
    def einsum(*args):
        return _torch().einsum(*args)

    def asarray(self, a):
        torch = _torch()
        return torch.as_tensor(a, dtype=torch.float64, device=self.device)

    def as_index(self, a):
        torch = _torch()
        return torch.as_tensor(a, dtype=torch.long, device=self.device)

    def zeros(self, shape):
        torch = _torch()
        return torch.zeros(shape, dtype=torch.float64, device=self.device)

    def eye(self, n):
        torch = _torch()
        return torch.eye(n, dtype=torch.float64, device=self.device)

    def arange(self, n):
        return _torch().arange(n, device=self.device)

    @staticmethod
    def tensordot(a, b, axes):
        return _torch().tensordot(a, b, dims=axes)

    @staticmethod
    def cholesky(blocks, what):
        # cholesky_ex reports failures in `info` instead of raising its own error type
        factors, info = _torch().linalg.cholesky_ex(blocks)
        if bool((info != 0).any()):
            raise _not_positive_definite(what)
        return factors

    def spd_inverses(self, blocks, what):
        inverses = _torch().cholesky_inverse(self.cholesky(blocks, what))
        # exactly symmetric, as the numpy route: mirror the lower triangle
        return inverses.tril() + inverses.tril(-1).mT

    def cho_solve(self, factor, rhs):
        torch = _torch()
        rhs = self.asarray(rhs)
        if rhs.ndim == 1:
            return torch.cholesky_solve(rhs[:, None], factor)[:, 0]
        return torch.cholesky_solve(rhs, factor)

    @staticmethod
    def solve(a, b):
        torch = _torch()
        try:
            return torch.linalg.solve(a, b)
        except torch.linalg.LinAlgError as exc:  # the numpy backend's error type, as documented
            raise np.linalg.LinAlgError(str(exc)) from exc

    @staticmethod
    def smallest_singular_values(a):
        return _torch().linalg.svdvals(a)[..., -1]

    @staticmethod
    def smallest_eigenvalue_bound(a, factor):
        """The smallest eigenvalue of the SPD ``a`` (no condition estimate on the device)."""
        return _torch().linalg.eigvalsh(a)[..., 0]

    @staticmethod
    def flatnonzero(mask):
        return _torch().nonzero(mask).flatten()

    def ones(self, n):
        torch = _torch()
        return torch.ones(n, dtype=torch.float64, device=self.device)

    @staticmethod
    def diag_embed(a):
        return _torch().diag_embed(a)

    @staticmethod
    def task_groups(row_tasks, n_tasks):
        torch = _torch()
        order = torch.argsort(row_tasks, stable=True)
        counts = torch.bincount(row_tasks, minlength=n_tasks).tolist()  # one device sync
        start = 0
        for k, count in enumerate(counts):
            if count:
                yield k, order[start:start + count]
            start += count


def _torch():
    import torch

    return torch


def _ops_for(array):
    """The backend of ``array``: torch for a tensor (torch already imported), else numpy."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(array, torch.Tensor):
        return _TorchOps(array.device)
    return _NumpyOps
