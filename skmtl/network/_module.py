"""The module builder: a shared bottom and one linear head per task.

What ``SharedBottomNet.fit`` builds for each ensemble member (skorch calls
this step ``initialize_module``): the bottom (a copy of the user's
``module``, then the hidden layers), the task heads, the device and seeding,
and the weights a warm start continues from.
"""

import contextlib
import copy
import numbers

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}


class MultiHeadNet(nn.Module):
    """A shared bottom and one linear head per task (heads padded to ``n_out``)."""

    def __init__(self, bottom, width, n_tasks, n_out):
        super().__init__()
        self.bottom = bottom
        bound = 1.0 / np.sqrt(max(width, 1))
        self.head_weight = nn.Parameter(torch.empty(n_tasks, n_out, width).uniform_(-bound, bound))
        self.head_bias = nn.Parameter(torch.empty(n_tasks, n_out).uniform_(-bound, bound))

    def heads(self, z, task):
        return torch.einsum("nh,nch->nc", z, self.head_weight[task]) + self.head_bias[task]

    def forward(self, x, task):
        return self.heads(self.bottom(x), task)


def build_module(n_features, n_tasks, n_out, *, hidden_layer_sizes, activation, dropout, module,
                 dtype, device):
    """A :class:`MultiHeadNet` on ``device`` in ``dtype``, initialized from torch's
    generator (seed it with :func:`seeded`)."""
    layers = []
    width = n_features
    if module is not None:
        module = copy.deepcopy(module).to(device=device, dtype=dtype)
        width = _module_width(module, n_features, dtype, device)
        layers.append(module)
    for size in check_layer_sizes(hidden_layer_sizes):
        layers += [nn.Linear(width, size, dtype=dtype), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    net = MultiHeadNet(nn.Sequential(*layers), width, n_tasks, n_out)
    return net.to(device=device, dtype=dtype)


def load_previous(net, previous, current, member):
    """Copy the weights of member ``member`` of the previous fit into ``net``.

    ``previous`` holds the earlier fit's ``models``, ``tasks``, ``types`` and
    ``classes``; ``current`` the last three of this fit.
    """
    same = all(np.array_equal(previous[key], current[key]) for key in ("tasks", "types", "classes"))
    problem = None if same and member < len(previous["models"]) else \
        "tasks, task types, classes or n_models differ"
    if problem is None:
        weights = previous["models"][member].state_dict()
        shapes = {name: tuple(value.shape) for name, value in net.state_dict().items()}
        if shapes != {name: tuple(value.shape) for name, value in weights.items()}:
            problem = ("the network's layers differ (the number of features, hidden_layer_sizes or "
                       "module changed)")
    if problem is not None:
        raise ValueError(
            f"warm_start=True cannot continue from the previous fit: {problem}. Refit "
            "with warm_start=False."
        )
    net.load_state_dict(weights)


def check_layer_sizes(sizes):
    sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must hold positive integers, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


@contextlib.contextmanager
def seeded(seed, device):
    """Seed torch's generator on ``device`` (and the CPU's) inside the block,
    restoring the caller's generator states afterwards."""
    device = torch.device(device)
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def resolve_device(device):
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but torch sees no CUDA GPU "
            "(torch.cuda.is_available() is False). Use device='auto' to fall back "
            "to the CPU, or install a CUDA build of torch."
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _module_width(module, n_features, dtype, device):
    """Output width of a user bottom, read off a forward pass on two rows."""
    probe = torch.zeros((2, n_features), dtype=dtype, device=device)
    try:
        with torch.no_grad():
            was_training = module.training
            out = module.eval()(probe)
            module.train(was_training)
    except Exception as exc:
        raise ValueError(
            f"module failed on a batch of shape (2, {n_features}) (the features of X "
            f"without the task column): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"module must map (n, {n_features}) to (n, width) for the task heads; it "
            f"returned {shape} for n=2. End it with torch.nn.Flatten() or a linear layer."
        )
    return int(out.shape[1])
