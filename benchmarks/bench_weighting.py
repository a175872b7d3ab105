"""Drop rows, reweight tasks, or both? The MTIF paper's Table 2 with SharedBottomNet.

Two studies (issue 17):

``--study convergence``
    HAR (the first 10 volunteers as tasks, 20 % of the training labels
    flipped), one hidden layer of 64, adam at the default learning rate,
    batches of 200, no early stopping: test accuracy after 20, 36 and 50
    epochs with uniform and with task-balanced mini-batches, and with uniform
    batches for as many steps as the task-balanced run took (an epoch of
    task-balanced batches lasts until the largest task has been seen once).
    Again with volunteers thinned to unequal sizes (volunteer ``j`` keeps a
    share ``s ** (j / 9)`` of its training rows, ``s`` = 4/5, 2/3, 1/2, 1/4
    and 1/20; ``--variants`` picks some)
    and on digits pairs (see below).
``--study comparison``
    HAR with 10 % and 20 % flipped labels and digits pairs (task ``k``: digit
    ``k`` against digit ``k + 1 mod 10``, each digit's images split between
    its two tasks; 20 % flipped): every ``task_weighting`` of SharedBottomNet
    (36 epochs), the network refitted on the rows ``MTIFSelector(MultiTaskLogistic())``
    keeps, with clean validation (influence against it, ``step=0.05``, the
    removal ratio of ``RATIOS`` best on it) and without (the default
    ``"label-noise"``, ``removal_ratio="auto"``),
    that selection with the two best weightings, the oracle (flipped rows
    dropped) and the clean-label ceiling; test accuracy, mean and standard
    deviation over seeds, seeds won/tied/lost against EW, and wall times.

Per seed: a task-stratified split into training (75 %) and test parts; 15 %
of the training part is set aside as clean validation data, used only by the
selection "with clean validation"; the labels of the rest are flipped.
Features are standardized on the training part.

    python benchmarks/bench_weighting.py --study convergence
    python benchmarks/bench_weighting.py --study comparison
    python benchmarks/bench_weighting.py --quick      # smoke run, both studies
"""

import argparse
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from skmtl import MultiTaskLogistic
from skmtl.datasets import load_har
from skmtl.model_selection import task_train_test_split
from skmtl.network import SharedBottomNet
from skmtl.network._training import choose_batch_sampling
from skmtl.network._weighting import WEIGHTINGS
from skmtl.selection import MTIFSelector

SETTINGS = {"HAR, 10% flips": ("har", 0.1), "HAR, 20% flips": ("har", 0.2),
            "digits pairs, 20% flips": ("digits", 0.2)}
RATIOS = (0.05, 0.1, 0.2, 0.3)
NET = dict(hidden_layer_sizes=(64,), n_iter_no_change=1000, device="cpu")


def load(data):
    if data == "har":
        X, y = load_har(return_X_y=True)
        keep = np.isin(X[:, -1], np.sort(np.unique(X[:, -1]))[:10])
        return X[keep], y[keep]
    digits = load_digits()
    rows, task, target = [], [], []
    for k in range(10):  # task k: digit k (label 0) against digit k + 1 (label 1)
        for label, digit in enumerate((k, (k + 1) % 10)):
            of_digit = np.flatnonzero(digits.target == digit)
            half = of_digit[::2] if label == 0 else of_digit[1::2]  # each image in one task
            rows.append(half), task.append(np.full(len(half), k)), target.append(np.full(len(half), label))
    rows = np.concatenate(rows)
    return np.column_stack([digits.data[rows], np.concatenate(task)]), np.concatenate(target)


def prepare(setting, seed):
    data, rate = SETTINGS[setting]
    X, y = load(data)
    X_train, X_test, y_train, y_test = task_train_test_split(X, y, test_size=0.25, random_state=seed)
    X_train, X_val, y_train, y_val = task_train_test_split(X_train, y_train, test_size=0.15,
                                                           random_state=seed)
    scaler = StandardScaler().fit(X_train[:, :-1])
    X_train, X_val, X_test = (np.column_stack([scaler.transform(A[:, :-1]), A[:, -1]])
                              for A in (X_train, X_val, X_test))
    rng = np.random.default_rng(seed)
    flipped = np.zeros(len(y_train), dtype=bool)
    flipped[rng.choice(len(y_train), int(round(rate * len(y_train))), replace=False)] = True
    y_noisy = np.where(flipped, 1 - y_train, y_train)
    return dict(X=X_train, y=y_noisy, y_clean=y_train, flipped=flipped, X_val=X_val, y_val=y_val,
                X_test=X_test, y_test=y_test)


def accuracy(d, rows, seed, y=None, **params):
    """Test accuracy (points) and wall time of the network fitted on ``rows``."""
    y = d["y"] if y is None else y
    start = time.perf_counter()
    with warnings.catch_warnings():  # fixed epoch budgets stop before the loss settles
        warnings.simplefilter("ignore", ConvergenceWarning)
        net = SharedBottomNet(random_state=seed, **{**NET, **params}).fit(d["X"][rows], y[rows])
    return 100 * net.score(d["X_test"], d["y_test"]), time.perf_counter() - start


CONVERGENCE = {"HAR": ("HAR, 20% flips", 1.0), "HAR, thinned to 4/5": ("HAR, 20% flips", 0.8),
               "HAR, thinned to 2/3": ("HAR, 20% flips", 2 / 3), "HAR, thinned to 1/2": ("HAR, 20% flips", 0.5),
               "HAR, thinned to 1/4": ("HAR, 20% flips", 0.25),
               "HAR, thinned to 1/20 (uneven volunteers)": ("HAR, 20% flips", 0.05),
               "digits pairs": ("digits pairs, 20% flips", 1.0)}


def convergence_seed(seed, epochs, variant):
    """Accuracy and seconds by (sampling, epochs of the task-balanced run)."""
    setting, share = CONVERGENCE[variant]
    d = prepare(setting, seed)
    task = d["X"][:, -1]
    rows = np.arange(len(task))
    if share < 1:  # task j keeps its first share ** (j / 9) of rows
        rows = np.concatenate([np.flatnonzero(task == t)[:max(2, int(share ** (j / 9) * (task == t).sum()))]
                               for j, t in enumerate(np.unique(task))])
    sizes = np.unique(task[rows], return_counts=True)[1]
    batch = 200
    steps_ratio = np.ceil(sizes.max() / (batch // len(sizes))) / np.ceil(len(rows) / batch)
    out = {"largest / smallest task": sizes.max() / sizes.min(),
           "auto": choose_batch_sampling("auto", task[rows], batch)}
    for e in epochs:
        out["uniform", e] = accuracy(d, rows, seed, max_epochs=e, batch_sampling="uniform")
        out["task_balanced", e] = accuracy(d, rows, seed, max_epochs=e, batch_sampling="task_balanced")
        out["uniform, as many steps", e] = accuracy(d, rows, seed, max_epochs=int(round(e * steps_ratio)),
                                                    batch_sampling="uniform")
    return out


def selections(d, seed):
    """Rows kept by MTIFSelector with clean validation and without, with their times.

    With clean validation, rows are re-scored every 5 % (``step=0.05``) and the
    removal ratio is the one of ``RATIOS`` whose refitted linear model scores
    best on the validation data.
    """
    start = time.perf_counter()
    fits = []
    for ratio in RATIOS:
        kept = MTIFSelector(MultiTaskLogistic(), removal_ratio=ratio, strategy="influence", step=0.05,
                            random_state=seed).fit(
            d["X"], d["y"], X_val=d["X_val"], y_val=d["y_val"]).sample_indices_
        fits.append((MultiTaskLogistic().fit(d["X"][kept], d["y"][kept]).score(d["X_val"], d["y_val"]),
                     -ratio, kept))
    out = {"with clean validation": (max(fits, key=lambda f: f[:2])[2], time.perf_counter() - start)}
    start = time.perf_counter()
    selector = MTIFSelector(MultiTaskLogistic(), random_state=seed).fit(d["X"], d["y"])
    out["without clean labels"] = selector.sample_indices_, time.perf_counter() - start
    return out


def comparison_seed(setting, seed, epochs, methods, sampling):
    """Every result of one setting and seed: name -> (accuracy, seconds)."""
    d = prepare(setting, seed)
    every = np.arange(len(d["y"]))
    out = {m: accuracy(d, every, seed, max_epochs=epochs, task_weighting=m, batch_sampling=sampling)
           for m in methods}
    for name, (kept, seconds) in selections(d, seed).items():
        acc, fit_time = accuracy(d, kept, seed, max_epochs=epochs, batch_sampling=sampling)
        out[f"MTIF {name}"] = acc, seconds + fit_time
        removed = np.setdiff1d(every, kept)
        flipped = 100 * d["flipped"][removed].mean() if len(removed) else np.nan
        out[f"removed {name}"] = 100 * len(removed) / len(every), flipped
        out[f"_kept {name}"] = kept
    out["oracle (flips dropped)"] = accuracy(d, np.flatnonzero(~d["flipped"]), seed, max_epochs=epochs,
                                             batch_sampling=sampling)
    out["clean labels"] = accuracy(d, every, seed, y=d["y_clean"], max_epochs=epochs, batch_sampling=sampling)
    return out


def combined_seed(setting, seed, epochs, kept, methods, sampling):
    d = prepare(setting, seed)
    return {f"MTIF {name} + {m}": accuracy(d, rows, seed, max_epochs=epochs, task_weighting=m,
                                             batch_sampling=sampling)
            for name, rows in kept.items() for m in methods}


def cell(values):
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.2f} ± {values.std():.2f}"


def versus(values, base, tie=0.1):
    diff = np.asarray(values) - np.asarray(base)
    return f"{(diff > tie).sum()}/{(np.abs(diff) <= tie).sum()}/{(diff < -tie).sum()}"


def comparison_table(results, setting):
    """Markdown rows: result, accuracy, gain over EW, seeds won/tied/lost, seconds."""
    per_seed = results[setting]
    base = [r["ew"][0] for r in per_seed]
    names = [n for n in per_seed[0] if not n.startswith(("_", "removed"))]
    lines = [f"\n**{setting}** ({len(per_seed)} seeds)\n",
             "| result | test accuracy | vs EW | seeds won/tied/lost vs EW | seconds per fit |",
             "|---|---|---|---|---|"]
    for name in names:
        acc = [r[name][0] for r in per_seed]
        secs = np.mean([r[name][1] for r in per_seed])
        gain = "" if name == "ew" else f"{np.mean(acc) - np.mean(base):+.2f}"
        lines.append(f"| {name} | {cell(acc)} | {gain} | {'' if name == 'ew' else versus(acc, base)} "
                     f"| {secs:.1f} |")
    for name in ("with clean validation", "without clean labels"):
        removed = np.array([r[f"removed {name}"] for r in per_seed], dtype=float)
        flipped = (f"of which {np.nanmean(removed[:, 1]):.0f} % flipped" if removed[:, 0].any()
                   else "on no seed")
        lines.append(f"\nMTIF {name}: removed {cell(removed[:, 0])} % of the rows, {flipped}.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", choices=("convergence", "comparison", "both"), default="both")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=36)
    parser.add_argument("--sampling", default="uniform", choices=("auto", "uniform", "task_balanced"),
                        help="batch_sampling of every network of the comparison")
    parser.add_argument("--variants", nargs="+", choices=list(CONVERGENCE), default=list(CONVERGENCE),
                        help="data of the convergence study")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", choices=list(WEIGHTINGS), default=list(WEIGHTINGS),
                        help="task weightings of the comparison (EW always)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 2 epochs, 3 methods")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)  # networks this small run fastest on one thread, the more so on a busy machine
    seeds = range(1 if args.quick else args.seeds)
    parallel = Parallel(n_jobs=args.jobs)
    if args.study in ("convergence", "both"):
        epochs = (2, 3) if args.quick else (20, 36, 50)
        for variant in args.variants:
            runs = parallel(delayed(convergence_seed)(s, epochs, variant)
                            for s in tqdm(seeds, desc=f"convergence, {variant}"))
            ratio = np.mean([r["largest / smallest task"] for r in runs])
            auto = ", ".join(sorted({r["auto"] for r in runs}))
            print(f"\n{variant}, 20% flips, hidden 64, adam lr 1e-3, batch 200: test accuracy by epochs "
                  f"({len(runs)} seeds; largest task / smallest: {ratio:.2f} training rows; the default "
                  f"batch_sampling='auto' takes {auto})\n")
            print("| batch_sampling | " + " | ".join(f"{e} epochs" for e in epochs) + " | seconds (last) |")
            print("|---|" + "---|" * (len(epochs) + 1))
            for sampling in ("uniform", "task_balanced", "uniform, as many steps"):
                accs = [cell([r[(sampling, e)][0] for r in runs]) for e in epochs]
                secs = np.mean([r[(sampling, epochs[-1])][1] for r in runs])
                print(f"| {sampling} | " + " | ".join(accs) + f" | {secs:.1f} |")
            for base in ("uniform", "uniform, as many steps"):
                print(f"| task_balanced vs {base}, seeds won/tied/lost | " + " | ".join(
                    versus([r[("task_balanced", e)][0] for r in runs], [r[(base, e)][0] for r in runs])
                    for e in epochs) + " | |")
    if args.study in ("comparison", "both"):
        epochs = 2 if args.quick else args.epochs
        methods = ("ew", "pcgrad", "stch") if args.quick else tuple(dict.fromkeys(["ew", *args.methods]))
        settings = args.settings[:1] if args.quick else args.settings
        jobs = [(s, seed) for s in settings for seed in seeds]
        runs = parallel(delayed(comparison_seed)(s, seed, epochs, methods, args.sampling)
                        for s, seed in tqdm(jobs, desc="comparison"))
        results = {s: [r for (s2, _), r in zip(jobs, runs) if s2 == s] for s in settings}
        # the two best weightings, by mean gain over EW across settings
        gain = {m: np.mean([np.mean([r[m][0] - r["ew"][0] for r in results[s]]) for s in settings])
                for m in methods if m != "ew"}
        best = sorted(gain, key=gain.get, reverse=True)[:2]
        extra = parallel(delayed(combined_seed)(
            s, seed, epochs, {n: r[f"_kept {n}"] for n in ("with clean validation", "without clean labels")},
            best, args.sampling) for (s, seed), r in tqdm(list(zip(jobs, runs)), desc="selection + best"))
        for r, e in zip(runs, extra):
            r.update(e)
        print(f"\nSharedBottomNet(hidden_layer_sizes=(64,), batch_sampling={args.sampling!r}), "
              f"{epochs} epochs; best weightings (mean gain over EW): {', '.join(best)}")
        for s in settings:
            print(comparison_table(results, s))


if __name__ == "__main__":
    main()
