"""Cross-check: LibMTL 1.1.5 on the HAR split of ``bench_weighting.py`` (20 % flips).

LibMTL is never a dependency of skmtl; this script runs a patched copy of
its only PyPI release (without letting pip touch torch):

    pip download LibMTL==1.1.5 --no-deps -d /tmp/libmtl
    python -m zipfile -e /tmp/libmtl/LibMTL-1.1.5-py3-none-any.whl /tmp/libmtl/src
    cd /tmp/libmtl/src/LibMTL
    sed -i 's/^from . import model/#from . import model/' __init__.py   # needs torchvision
    sed -i "s/torch.device('cuda:0')/torch.device('cpu')/" trainer.py   # hard-coded GPU
    sed -i 's/data, label = loader\\[1\\].next()/data, label = next(loader[1])/' trainer.py

    python benchmarks/libmtl_har.py --libmtl /tmp/libmtl/src --weighting EW --seeds 20
    python benchmarks/libmtl_har.py --libmtl /tmp/libmtl/src --weighting EW --seeds 20 --heads 1

Its network is the one of the comparison (a shared ``Linear(69, 64)`` +
ReLU, one ``Linear(64, 2)`` softmax head per volunteer, or with ``--heads 1``
one ``Linear(64, 1)`` logistic head as in ``SharedBottomNet``), adam at 1e-3 with
weight decay 1e-4, ``--per-task`` rows of every volunteer per step (LibMTL's
multi-input loaders; 20 matches ``SharedBottomNet(batch_size=200,
batch_sampling="task_balanced")``), 36 epochs; the test accuracy is read
after the last epoch.
"""

import argparse
import contextlib
import io
import sys
import warnings

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bench_weighting import cell, prepare


def loaders(X, y, tasks, batch_size, shuffle):
    return {str(t): DataLoader(TensorDataset(torch.tensor(X[X[:, -1] == t, :-1], dtype=torch.float32),
                                             torch.tensor(y[X[:, -1] == t], dtype=torch.long)),
                               batch_size=batch_size, shuffle=shuffle)
            for t in tasks}


def run(seed, weighting, per_task, epochs, heads):
    from LibMTL import Trainer
    from LibMTL.architecture import HPS
    from LibMTL.loss import AbsLoss, CELoss
    from LibMTL.metrics import AccMetric

    class LogisticLoss(AbsLoss):  # one logit per row, the log-odds of class 1
        def __init__(self):
            super().__init__()
            self.loss_fn = nn.BCEWithLogitsLoss()

        def compute_loss(self, pred, gt):
            return self.loss_fn(pred[:, 0], gt.float())

    torch.manual_seed(seed)
    d = prepare("HAR, 20% flips", seed)
    tasks = np.unique(d["X"][:, -1]).astype(int)  # LibMTL's task names: strings of integers
    width = d["X"].shape[1] - 1

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(nn.Linear(width, 64), nn.ReLU())

        def forward(self, x):
            return self.layers(x)

    with contextlib.redirect_stdout(io.StringIO()):  # LibMTL prints its model and every epoch
        trainer = Trainer(
            task_dict={str(t): {"metrics": ["Acc"], "metrics_fn": AccMetric(), "loss_fn": CELoss() if heads == 2 else LogisticLoss(),
                                "weight": [1]} for t in tasks},
            weighting=weighting, architecture=HPS, encoder_class=Encoder,
            decoders=nn.ModuleDict({str(t): nn.Linear(64, heads) for t in tasks}), rep_grad=False,
            multi_input=True, optim_param={"optim": "adam", "lr": 1e-3, "weight_decay": 1e-4},
            scheduler_param=None, weight_args={}, arch_args={},
        )
        trainer.train(loaders(d["X"], d["y"], tasks, per_task, True),
                      loaders(d["X_test"], d["y_test"], tasks, len(d["y_test"]), False), epochs)
    trainer.model.eval()
    correct = 0
    with torch.no_grad():
        for t in tasks:
            rows = d["X_test"][:, -1] == t
            out = trainer.model(torch.tensor(d["X_test"][rows, :-1], dtype=torch.float32), str(t))[str(t)]
            predicted = out.argmax(1) if heads == 2 else (out[:, 0] > 0).long()
            correct += (predicted.numpy() == d["y_test"][rows]).sum()
    return 100 * correct / len(d["y_test"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--libmtl", required=True, help="folder holding the patched LibMTL package")
    parser.add_argument("--weighting", default="EW", help="a class of LibMTL.weighting")
    parser.add_argument("--per-task", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=36)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--heads", type=int, choices=(1, 2), default=2,
                        help="logits per task head: 2 (softmax, LibMTL's examples) or 1 (logistic)")
    args = parser.parse_args()
    sys.path.insert(0, args.libmtl)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    import LibMTL.weighting

    weighting = getattr(LibMTL.weighting, args.weighting)
    accs = [run(seed, weighting, args.per_task, args.epochs, args.heads) for seed in range(args.seeds)]
    print(f"LibMTL {args.weighting}, {args.heads}-logit heads, {args.per_task} rows per task, {args.epochs} epochs: "
          f"{cell(accs)} ({', '.join(f'{a:.2f}' for a in accs)})")


if __name__ == "__main__":
    main()
