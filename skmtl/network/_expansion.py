"""The network's outputs to first order in its parameters, for Grad-TAE.

Grad-TAE (:func:`skmtl.relatedness.gradient_affinity`) estimates the model
fine-tuned on a subset of tasks from the model trained on all of them by
``eta(x; theta + w) ~ eta(x; theta) + J(x) w``, with ``J`` the Jacobian of the
output in the trainable parameters. For a shared-bottom network ``theta`` is
the bottom and every task's head: a row of task ``k`` has a zero Jacobian in
the other tasks' heads, so fitting ``w`` on a subset moves the bottom and the
heads of the subset's tasks only, as fine-tuning the network on the subset
would. An ensemble is expanded as the mean of its members' outputs.
"""

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

from ._influence import output_terms, row_losses


def output_jacobians(nets, x, task, batch_size):
    """Mean output of ``nets`` and its Jacobian in all their trainable parameters.

    Parameters
    ----------
    nets : list of MultiHeadNet
    x, task : tensors of the rows' features and task indices.
    batch_size : int
        Rows per vectorized Jacobian.

    Returns
    -------
    eta : ndarray of shape (n, n_out)
    G : ndarray of shape (n, n_out, n_params)
        Float64; the members' parameters side by side, each scaled by
        ``1 / len(nets)``; per member the trainable parameters in the order
        of ``named_parameters``.
    """
    etas, jacobians = [], []
    for net in nets:
        params = {name: p.detach() for name, p in net.named_parameters() if p.requires_grad}

        def output(p, row, k, net=net):
            return functional_call(net, p, (row[None], k[None]))[0]

        jacobian = vmap(jacrev(output), in_dims=(None, 0, 0))
        member_eta, member_G = [], []
        for start in range(0, len(x), batch_size):
            xb, kb = x[start:start + batch_size], task[start:start + batch_size]
            with torch.no_grad():
                member_eta.append(net(xb, kb).to(torch.float64).cpu())
            parts = jacobian(params, xb, kb)
            member_G.append(torch.cat(
                [parts[name].reshape(len(xb), parts[name].shape[1], -1) for name in params], dim=2,
            ).to(torch.float64).cpu())
        etas.append(torch.cat(member_eta))
        jacobians.append(torch.cat(member_G))
    scale = 1.0 / len(nets)
    eta = scale * sum(etas)
    return eta.numpy(), (scale * torch.cat(jacobians, dim=2)).numpy()


class OutputLoss:
    """The network's row loss on its output, in the layout of the relatedness protocol.

    ``eta`` is ``(n, n_out)``; ``Y`` is ``(n, 2)``: each row's target as
    encoded for fit (value or class index) and its loss kind (regression or
    classification), so one model may mix both kinds.
    """

    def __init__(self, n_classes):
        self.n_classes = n_classes

    def _tensors(self, eta, Y):
        eta = torch.as_tensor(np.asarray(eta, dtype=np.float64))
        Y = torch.as_tensor(np.asarray(Y, dtype=np.float64))
        return eta, Y[:, 0], Y[:, 1].long()

    def loss(self, eta, Y):
        eta, y, kind = self._tensors(eta, Y)
        return row_losses(eta, y, kind, self.n_classes).numpy()

    def gradient(self, eta, Y):
        return output_terms(*self._tensors(eta, Y), self.n_classes)[0].numpy()

    def hessian(self, eta, Y):
        factor = output_terms(*self._tensors(eta, Y), self.n_classes)[1]
        return (factor @ factor.transpose(1, 2)).numpy()
