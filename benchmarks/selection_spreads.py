"""Outliers where the noise does not have one spread: Poisson counts, quiet tasks.

The label-noise model behind ``MTIFSelector``'s default reads a measurement as
normal around the prediction with one spread per task (``skmtl.selection._noise``).
Two studies of data where the noise's spread varies, each on synthetic data
drawn per seed (``numpy.random.default_rng(seed)``):

* ``--study counts`` (``counts_report``; default 10 seeds): Poisson counts,
  whose noise grows with the mean, compared with the predictions on the
  square-root scale (``label_noise_.count_scale``). 10 tasks of 100 training
  rows, 5 features of spread 2, counts Poisson with mean ``0.5 exp(0.5 x_0)``,
  a test set of as many rows from the same model; the training counts clean,
  or each row's count times 10 with probability 0.1.
  ``MTIFSelector(MultiTaskPoisson(), random_state=0)``, then
  ``MultiTaskPoisson()`` on the rows it keeps. Gain = test mean Poisson
  deviance keeping every row minus that of the selection, mean ± std [seeds
  won/tied/lost]; the oracle drops the rows whose counts were multiplied.
  Then per seed: the rows removed from the clean counts and from the counts
  x10, the multiplied rows among the latter (of those whose count changed: 0
  times 10 is 0), and the AUC of ``label_noise_.label_quality`` for the
  changed rows.
* ``--study quiet-tasks`` (``quiet_tasks_report``; default 8 seeds):
  ``make_multitask_regression(n_tasks=10, n_samples=60, n_features=5,
  noise=0)`` plus normal noise of spread 1, except tasks 0 to 2 whose noise is
  15 times smaller; 10 % of all rows moved by a random sign times 3 to 6
  times three times their task's noise spread.
  ``estimate_label_noise(MultiTaskRidge(alpha=alpha), X, y,
  random_state=seed)`` for ``alpha`` in ``QUIET_ALPHAS``; a row is removed
  where its ``label_quality`` is below 1/2 (the default's count of outliers
  for a measurement). Per alpha, means over seeds: the AUC of
  ``label_quality`` for the moved rows among all rows and within the quiet
  tasks, the moved rows removed among all and among the quiet tasks', and the
  clean rows removed.
"""

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import mean_poisson_deviance

from skmtl import MultiTaskPoisson, MultiTaskRidge
from skmtl.datasets import make_multitask_regression
from skmtl.selection import MTIFSelector, estimate_label_noise

from selection_noisy import _gain, auc_of_corrupted

SEEDS = {"counts": 10, "quiet-tasks": 8}
QUIET_ALPHAS = (1.0, 0.1, 0.01)
COUNT_SETTINGS = ("clean", "10 % of the rows' counts x10")


def _counts_seed(seed, n=1000):
    warnings.simplefilter("ignore")  # in joblib's workers too
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=(2 * n, 5)) * 2, np.tile(np.repeat(np.arange(10), n // 10), 2)]
    y = rng.poisson(0.5 * np.exp(0.5 * X[:, 0]))
    X_train, y_train, X_test, y_test = X[:n], y[:n], X[n:], y[n:]
    bad = rng.random(n) < 0.1
    everything = np.ones(n, dtype=bool)

    def deviance(target, rows):
        fit = MultiTaskPoisson().fit(X_train[rows], target[rows])
        return mean_poisson_deviance(y_test, fit.predict(X_test))

    out = {}
    for setting, target, kept_by_oracle in zip(
            COUNT_SETTINGS, (y_train, np.where(bad, 10 * y_train, y_train)), (everything, ~bad)):
        selector = MTIFSelector(MultiTaskPoisson(), random_state=0).fit(X_train, target)
        kept = selector.sample_indices_
        removed = np.setdiff1d(np.arange(n), kept)
        changed = target != y_train
        base = deviance(target, everything)
        out[setting] = dict(
            gain=base - deviance(target, kept), oracle=base - deviance(target, kept_by_oracle),
            share=len(removed) / n, removed=len(removed), changed=changed.sum(),
            caught=changed[removed].sum(),
            auc=auc_of_corrupted(changed, selector.label_noise_.label_quality)
            if changed.any() else np.nan)
    return out


def counts_report(seeds=SEEDS["counts"], jobs=1):
    """Print the gain table and the per-seed removals; return the records per seed."""
    records = Parallel(n_jobs=jobs)(delayed(_counts_seed)(seed) for seed in range(seeds))
    print(f"## Selection on Poisson counts ({seeds} seeds)\n")
    print("Test mean Poisson deviance keeping every row minus with "
          "MTIFSelector(MultiTaskPoisson(), random_state=0), mean ± std [seeds won/tied/lost]:\n")
    print("| counts | selector: gain | share removed | oracle |\n|---|---|---|---|")
    for setting in COUNT_SETTINGS:
        rows = [r[setting] for r in records]
        gain, oracle = (np.array([r[key] for r in rows]) for key in ("gain", "oracle"))
        print(f"| {setting} | {_gain(gain, 3)} | {np.mean([r['share'] for r in rows]):.3f} | "
              f"{_gain(oracle, 3)} |")
    clean, x10 = COUNT_SETTINGS
    print(f"\nPer seed (x10: {x10}; changed: the multiplied rows whose count was not 0):\n")
    print("| seed | clean: rows removed | x10: rows removed | x10: changed rows removed | "
          "x10: AUC of label_quality for the changed rows |\n|---|---|---|---|---|")
    for seed, r in enumerate(records):
        print(f"| {seed} | {r[clean]['removed']} | {r[x10]['removed']} | "
              f"{r[x10]['caught']} of {r[x10]['changed']} | {r[x10]['auc']:.3f} |")
    return records


def _quiet_tasks_data(seed):
    rng = np.random.default_rng(seed)
    X, y = make_multitask_regression(n_tasks=10, n_samples=60, n_features=5, noise=0.0,
                                     random_state=seed)
    quiet = np.isin(X[:, -1], (0, 1, 2))
    spread = np.where(quiet, 1 / 15, 1.0)
    y = y + spread * rng.normal(size=len(y))
    bad = np.zeros(len(y), dtype=bool)
    bad[rng.choice(len(y), len(y) // 10, replace=False)] = True
    y[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(3, 6, bad.sum()) * 3 * spread[bad]
    return X, y, bad, quiet


def _quiet_tasks_seed(seed, alphas):
    warnings.simplefilter("ignore")
    X, y, bad, quiet = _quiet_tasks_data(seed)
    out = {"outliers": bad.sum(), "quiet outliers": (bad & quiet).sum()}
    for alpha in alphas:
        quality = estimate_label_noise(MultiTaskRidge(alpha=alpha), X, y,
                                       random_state=seed).label_quality
        removed = quality < 0.5
        out[alpha] = [
            auc_of_corrupted(bad, quality),
            auc_of_corrupted(bad[quiet], quality[quiet]) if 0 < bad[quiet].sum() < quiet.sum()
            else np.nan,
            (removed & bad).sum(), (removed & bad & quiet).sum(), (removed & ~bad).sum(),
        ]
    return out


def quiet_tasks_report(seeds=SEEDS["quiet-tasks"], jobs=1, alphas=QUIET_ALPHAS):
    """Print the table (one row per alpha); return the records per seed."""
    records = Parallel(n_jobs=jobs)(delayed(_quiet_tasks_seed)(seed, alphas)
                                    for seed in range(seeds))
    outliers, quiet = (np.mean([r[key] for r in records]) for key in ("outliers", "quiet outliers"))
    print(f"## Outliers of quiet tasks ({seeds} seeds)\n")
    print("estimate_label_noise(MultiTaskRidge(alpha)), a row removed where its label_quality "
          "is below 1/2; means over seeds:\n")
    print(f"| alpha | AUC, all rows | AUC within the quiet tasks | outliers removed (of "
          f"{outliers:.1f}) | quiet tasks' outliers removed (of {quiet:.1f}) | clean rows removed |")
    print("|---|---|---|---|---|---|")
    for alpha in alphas:
        auc, auc_quiet, caught, caught_quiet, clean = np.nanmean(
            np.array([r[alpha] for r in records], dtype=float), axis=0)
        print(f"| {alpha:g} | {auc:.3f} | {auc_quiet:.3f} | {caught:.1f} | {caught_quiet:.1f} | "
              f"{clean:.1f} |")
    return records
