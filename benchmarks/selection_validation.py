"""How many rows to remove with a clean validation part: the selector's rule and two stricter ones.

Run by ``python benchmarks/selection_study.py --study noisy-validation``. For
each setting of ``selection_noisy.SETTINGS`` and seed, the training rows are
ranked twice with the clean validation part, by ``MTIFSelector``'s two
strategies (``"influence"``: total influence on the validation losses;
``"label-noise"``: the noise model with the validation rows trusted). Every
prefix of ``AUTO_RATIOS`` is removed once; the model refitted on the rest is
scored on the validation rows (per row, as the selector scores them) and on
the test part. Rules then choose a prefix from the validation scores alone:

* **one SE** (the selector's ``removal_ratio="auto"`` with validation data,
  :func:`~skmtl.selection._auto.fewest_removed_on_validation`): the fewest
  removed within one standard error of the best. It reproduces the study's
  columns "MTIF with clean validation (auto)" and "label-noise with clean
  validation (auto)" exactly;
* **two SE first**: keep every row unless the best removal beats keeping every
  row by two paired standard errors, then as one SE;
* **one SE where the default removes**: as one SE, but keep every row unless
  the selector's default without the validation part
  (``MTIFSelector(model).fit(X, y)``, its held-out removal test) removes rows.

Printed: test gain (accuracy points; for measurements the drop in test MSE
in units of the target's spread), mean +/- std [seeds won/tied/lost], per
ranking and rule, with the oracle; then per column the sum over the settings,
the worst setting and how many lose more than 0.1.
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.selection import MTIFSelector
from skmtl.selection._auto import (
    AUTO_RATIOS, _validation_row_scores, first_within_one_se, removal_lengths,
)

from selection_noisy import _gain, prepare, test_score

RANKINGS = {"MTIF": "influence", "noise model": "label-noise"}


def removal_curves(setting, seed):
    """Per ranking, the validation row scores (one row per prefix) and the test
    gain of every prefix of ``AUTO_RATIOS``; and the oracle's gain."""
    d = prepare(setting, seed)
    X, y = d["X"], d["y"]
    model = MultiTaskRidge() if d["measurement"] else MultiTaskLogistic()
    every = np.arange(len(y))
    base = test_score(model, X, y, every, d)
    lengths = removal_lengths(len(y))
    curves = {
        "oracle": test_score(model, X, y, np.flatnonzero(~d["bad"]), d) - base,
        "default removes": MTIFSelector(model, random_state=seed).fit(X, y).removal_ratio_ > 0,
    }
    for name, strategy in RANKINGS.items():
        selector = MTIFSelector(model, strategy=strategy, removal_ratio=max(AUTO_RATIOS),
                                random_state=seed).fit(X, y, X_val=d["X_val"], y_val=d["y_val"])
        ranked = np.setdiff1d(every, selector.sample_indices_)
        ranked = ranked[np.argsort(selector.scores_[ranked], kind="stable")]
        validation, gains = [], []
        for length in lengths:
            keep = np.setdiff1d(every, ranked[:length])
            validation.append(_validation_row_scores(
                clone(model).fit(X[keep], y[keep]), d["X_val"], d["y_val"]))
            gains.append(test_score(model, X, y, keep, d) - base)
        curves[name] = (np.array(validation), np.array(gains))
    return curves


def choose(validation, first_z, allowed=True):
    """Prefix chosen from per-row validation scores: keep every row where not
    ``allowed`` or unless the best beats keeping every row by ``first_z``
    paired standard errors, then the fewest removed within one standard error
    of the best."""
    chosen, top, _ = first_within_one_se(list(validation))
    behind = validation[top] - validation[0]
    error = behind.std(ddof=1) / np.sqrt(len(behind))
    return chosen if allowed and behind.mean() >= first_z * error else 0


# rule: (paired standard errors the best removal must beat keeping every row by,
# whether the default without the validation part must remove rows too)
RULES = {"one SE": (1.0, False), "two SE first": (2.0, False),
         "one SE where the default removes": (1.0, True)}


def validation_report(settings, seeds, jobs=1):
    runs = Parallel(n_jobs=jobs)(delayed(removal_curves)(s, seed)
                                 for s in settings for seed in range(seeds))
    columns = [(ranking, rule) for ranking in RANKINGS for rule in RULES]
    print(f"## Removal ratio chosen on the clean validation part ({seeds} seeds)\n")
    print("| setting | " + " | ".join(f"{r}, {rule}" for r, rule in columns) + " | oracle |")
    print("|---" * (len(columns) + 2) + "|")
    means = {column: [] for column in columns}
    for i, setting in enumerate(settings):
        curves = runs[i * seeds:(i + 1) * seeds]
        cells = []
        for ranking, rule in columns:
            first_z, gated = RULES[rule]
            gains = np.array([c[ranking][1][choose(c[ranking][0], first_z,
                                                   not gated or c["default removes"])]
                              for c in curves])
            means[(ranking, rule)].append(gains.mean())
            cells.append(_gain(gains))
        oracle = _gain(np.array([c["oracle"] for c in curves]))
        print(f"| {setting} | " + " | ".join(cells) + f" | {oracle} |")
    print()
    for (ranking, rule), values in means.items():
        values = np.array(values)
        print(f"{ranking}, {rule}: sum {values.sum():+.2f}, worst {values.min():+.2f}, "
              f"{(values < -0.1).sum()} of {len(values)} settings below -0.1")
