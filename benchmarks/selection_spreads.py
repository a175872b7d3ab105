"""Outliers where the noise does not have one spread: Poisson counts, quiet tasks, crowded tasks.

The label-noise model behind ``MTIFSelector``'s default reads a measurement as
normal around the prediction with one spread per task (``skmtl.selection._noise``).
Three studies of data where the noise's spread varies, the first two on
synthetic data drawn per seed (``numpy.random.default_rng(seed)``):

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
* ``--study crowded-outliers`` (``crowded_outliers_report``; default 12
  seeds): outliers crowding into a few tasks, whose rows a wider spread of
  those tasks could explain as well, against controls. Two sources, drawn
  per seed: 15 schools of Exam (``load_exam``) with at least 40 rows, at most
  60 rows of each (``default_rng(1000 + seed)``), and
  ``make_multitask_regression(n_tasks=12, n_samples=70, n_features=10,
  random_state=seed)``. A task-stratified 70/30 split
  (``task_train_test_split(test_size=0.3, random_state=seed)``), features
  standardized and targets centred and scaled on the training part; then
  (``default_rng(seed)``) two tasks of at least 20 training rows are drawn
  and the training targets are left clean (``clean``), or a share of the
  rows are moved by a random sign times 3 to 6 target spreads: 10 % of all
  rows (``uniform 10%``) or 10, 40 or 60 % of each of the two tasks' rows
  (``2 tasks 10%`` ...); in ``2 noisier tasks`` nothing is planted, the two
  tasks' targets, training and test alike, get normal noise of spread 1.5
  (genuinely noisier tasks, which no removal should take).
  ``MTIFSelector(MultiTaskRidge(), random_state=seed)`` with its defaults,
  then ``MultiTaskRidge()`` on the rows it keeps. Per setting, means over
  seeds: the AUC of ``scores_`` for the planted rows, the planted and the
  clean rows removed, the gain in test MSE over keeping every row, mean ±
  std [seeds won/tied/lost], against the oracle's (dropping exactly the
  planted rows), the noise model's ``evidence``, and the share of seeds it
  refused (evidence <= 0: nothing removed) and of seeds where every row was
  kept (refused by the evidence or by the held-out test).
"""

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import mean_poisson_deviance
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskPoisson, MultiTaskRidge
from skmtl.datasets import load_exam, make_multitask_regression
from skmtl.model_selection import task_train_test_split
from skmtl.selection import MTIFSelector, estimate_label_noise

from selection_noisy import _gain, auc_of_corrupted

SEEDS = {"counts": 10, "quiet-tasks": 8, "crowded-outliers": 12}
QUIET_ALPHAS = (1.0, 0.1, 0.01)
COUNT_SETTINGS = ("clean", "10 % of the rows' counts x10")
CROWDED_SOURCES = ("exam", "synthetic")
CROWDED_SETTINGS = ("clean", "uniform 10%", "2 tasks 10%", "2 tasks 40%", "2 tasks 60%",
                    "2 noisier tasks")
CROWDED_NAMES = [f"{source}, {setting}" for source in CROWDED_SOURCES for setting in CROWDED_SETTINGS]


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


def _crowded_source(source, seed):
    """Exam's 15 schools (of at least 40 rows, at most 60 rows each) or 12 synthetic tasks of 70 rows."""
    if source == "synthetic":
        return make_multitask_regression(n_tasks=12, n_samples=70, n_features=10, random_state=seed)
    rng = np.random.default_rng(1000 + seed)
    X, y = load_exam(return_X_y=True)
    schools, counts = np.unique(X[:, -1], return_counts=True)
    chosen = rng.choice(schools[counts >= 40], 15, replace=False)
    rows = np.concatenate([
        rng.choice(np.flatnonzero(X[:, -1] == s), min(60, np.sum(X[:, -1] == s)), replace=False)
        for s in chosen])
    return X[rows], y[rows].astype(float)


def _crowded_data(source, setting, seed):
    """Split, standardize and corrupt: the training part, its planted rows and
    the rows of the noisier tasks, and the test part."""
    X, y = _crowded_source(source, seed)
    X_train, X_test, y_train, y_test = task_train_test_split(X, y, test_size=0.3, random_state=seed)
    scaler = StandardScaler().fit(X_train[:, :-1])
    X_train, X_test = (np.column_stack([scaler.transform(A[:, :-1]), A[:, -1]])
                       for A in (X_train, X_test))
    mean, scale = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / scale, (y_test - mean) / scale
    rng = np.random.default_rng(seed)
    task = X_train[:, -1]
    tasks, sizes = np.unique(task, return_counts=True)
    two = rng.choice(tasks[sizes >= 20], 2, replace=False)  # drawn in every setting
    bad = np.zeros(len(y_train), dtype=bool)
    if setting.startswith("2 tasks"):
        share = int(setting.split()[2].rstrip("%")) / 100
        for t in two:
            rows = np.flatnonzero(task == t)
            bad[rng.choice(rows, int(round(share * len(rows))), replace=False)] = True
    elif setting == "uniform 10%":
        bad[rng.choice(len(y_train), int(round(0.1 * len(y_train))), replace=False)] = True
    noisy = y_train.copy()
    if bad.any():
        noisy[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(3, 6, bad.sum()) * y_train.std()
    noisier = np.isin(task, two) if setting == "2 noisier tasks" else np.zeros(len(y_train), bool)
    if noisier.any():
        noisy[noisier] += rng.normal(0, 1.5, noisier.sum())
        test_noisier = np.isin(X_test[:, -1], two)
        y_test = y_test.copy()
        y_test[test_noisier] += rng.normal(0, 1.5, test_noisier.sum())
    return X_train, noisy, bad, noisier, X_test, y_test


def _crowded_seed(seed, settings):
    """``{(source, setting): record}`` of one seed."""
    warnings.simplefilter("ignore")  # in joblib's workers too
    out = {}
    for source, setting in settings:
        X, y, bad, noisier, X_test, y_test = _crowded_data(source, setting, seed)

        def mse(rows):
            fit = MultiTaskRidge().fit(X[rows], y[rows])
            return float(np.mean((fit.predict(X_test) - y_test) ** 2))

        selector = MTIFSelector(MultiTaskRidge(), random_state=seed).fit(X, y)
        removed = np.ones(len(y), dtype=bool)
        removed[selector.sample_indices_] = False
        base = mse(np.arange(len(y)))
        out[source, setting] = dict(
            auc=auc_of_corrupted(bad, selector.scores_) if bad.any() else np.nan,
            planted=bad.sum(), planted_removed=(bad & removed).sum(),
            clean_removed=(~bad & removed).sum(), noisier_removed=(noisier & removed).sum(),
            gain=base - mse(np.flatnonzero(~removed)),
            oracle=base - mse(np.flatnonzero(~bad)) if bad.any() else 0.0,
            evidence=selector.label_noise_.evidence, kept_all=not removed.any())
    return out


def crowded_outliers_report(seeds=SEEDS["crowded-outliers"], jobs=1, settings=None):
    """Print the table (one row per name of ``CROWDED_NAMES``, or of
    ``settings``, a list of them); return the records per seed."""
    chosen = [tuple(name.split(", ")) for name in (settings or CROWDED_NAMES)]
    records = Parallel(n_jobs=jobs)(delayed(_crowded_seed)(seed, chosen) for seed in range(seeds))
    print(f"## Outliers crowding into a few tasks ({seeds} seeds)\n")
    print("MTIFSelector(MultiTaskRidge(), random_state=seed) with its defaults, then MultiTaskRidge() "
          "on the rows it keeps; exam: 15 schools of Exam, synthetic: 12 tasks of 70 rows; gain: "
          "test MSE (standardized targets) keeping every row minus with the selection, mean ± std "
          "[seeds won/tied/lost]; the oracle drops the planted rows; refused by the evidence: "
          "share of seeds whose evidence is <= 0; the other columns means over seeds:\n")
    print("| data, setting | AUC of scores_ | planted rows removed (of) | clean rows removed | "
          "gain | oracle | evidence | refused by the evidence | kept every row |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in chosen:
        rows = [r[key] for r in records]
        mean = {name: np.mean([r[name] for r in rows]) for name in rows[0]}
        clean = f"{mean['clean_removed']:.1f}"
        if key[1] == "2 noisier tasks":
            clean += f" ({mean['noisier_removed']:.1f} of the noisier tasks')"
        auc = "-" if np.isnan(mean["auc"]) else f"{mean['auc']:.3f}"
        refused = np.mean([r["evidence"] <= 0 for r in rows])
        print(f"| {key[0]}, {key[1]} | {auc} | {mean['planted_removed']:.1f} "
              f"({mean['planted']:.1f}) | {clean} | {_gain(np.array([r['gain'] for r in rows]), 3)} | "
              f"{_gain(np.array([r['oracle'] for r in rows]), 3)} | {mean['evidence']:.1f} | "
              f"{refused:.2f} | {mean['kept_all']:.2f} |")
    return records
