"""How many rows to remove with a clean validation part: the selector's rule and others.

Run by ``python benchmarks/selection_study.py --study noisy-validation``. For
each setting of ``selection_noisy.SETTINGS`` and seed, the test gain of the
selector's default with the validation part ("default": ``MTIFSelector(model,
random_state=seed).fit(X, y, X_val=, y_val=)``, the noise model trusting the
validation rows; for classes its suspects, ranked again without them, removed
where the suspects of the noise models trusting 4 of 5 folds of them beat
keeping every row on the fifth by two paired standard errors of the Brier
score without lowering accuracy there (since the twenty-second session), else
the ranking made with all of them cut where rankings made without each fold
beat keeping every row by two paired standard errors of accuracy; for
measurements cut by "one SE" below) and of ``strategy="influence"`` judged
the same way ("MTIF, judged on unseen folds"; the default for classes from
the fourteenth session to the eighteenth). Then the training rows are
ranked twice with the whole validation part, by ``MTIFSelector``'s two
strategies (``"influence"``: total influence on the validation losses;
``"label-noise"``: the noise model with the validation rows trusted); every
prefix of ``AUTO_RATIOS`` is removed once; the model refitted on the rest is
scored on the validation rows (per row, as the selector scores them) and on
the test part. Rules then choose a prefix from those validation
scores, on the rows the ranking was made with:

* **one SE** (:func:`~skmtl.selection._auto.removal_length_on_validation` with
  the validation rows as they are): the fewest removed within one standard
  error of the best. The selector's default for measurements (the column
  "noise model, one SE" reproduces it), MTIF's for classes until the
  fourteenth session;
* **two SE first**: keep every row unless the best removal beats keeping every
  row by two paired standard errors, then as one SE;
* **one SE where the default removes**: as one SE, but keep every row unless
  the selector's default without the validation part
  (``MTIFSelector(model).fit(X, y)``, its held-out removal test) removes rows.

``--defaults-only``: the default and the oracle alone. Printed: test gain
(accuracy points; for measurements the drop in test MSE in units of the
target's spread), mean +/- std [seeds won/tied/lost], per column, how many
seeds' suspects the default removed, with the oracle; then per column the sum
over the settings, the worst setting and how many lose more than 0.1. A
setting's row is printed as soon as its seeds are done, and its cells depend
on the setting and seeds only, so a long run can be split (``--settings
"A;B"``) and its rows put together.
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.selection import MTIFSelector
from skmtl.selection._auto import (
    AUTO_RATIOS, _validation_row_scores, beats_keeping_every_row, first_within_one_se,
    removal_lengths,
)

from selection_noisy import _gain, harm_summary, prepare, test_score

RANKINGS = {"MTIF": "influence", "noise model": "label-noise"}
# the selector's removal_ratio="auto" with validation data, by strategy (besides the default)
UNSEEN = {"MTIF, judged on unseen folds": "influence"}


def removal_curves(setting, seed, defaults_only=False):
    """Per ranking, the validation row scores (one row per prefix) and the test
    gain of every prefix of ``AUTO_RATIOS``; the default's and the oracle's
    gain, and whether the default removed its suspects (``defaults_only``: only
    these)."""
    d = prepare(setting, seed)
    X, y = d["X"], d["y"]
    model = MultiTaskRidge() if d["measurement"] else MultiTaskLogistic()
    every = np.arange(len(y))
    base = test_score(model, X, y, every, d)
    lengths = removal_lengths(len(y))
    default = MTIFSelector(model, random_state=seed).fit(X, y, X_val=d["X_val"], y_val=d["y_val"])
    curves = {
        "oracle": test_score(model, X, y, np.flatnonzero(~d["bad"]), d) - base,
        "default": test_score(model, X, y, default.sample_indices_, d) - base,
        "suspects": default.n_rounds_ > 1,
    }
    if defaults_only:
        return curves
    curves["default removes"] = MTIFSelector(model, random_state=seed).fit(X, y).removal_ratio_ > 0
    for name, strategy in UNSEEN.items():
        selector = MTIFSelector(model, strategy=strategy, random_state=seed).fit(
            X, y, X_val=d["X_val"], y_val=d["y_val"])
        curves[name] = test_score(model, X, y, selector.sample_indices_, d) - base
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
    return chosen if allowed and beats_keeping_every_row(validation, top, first_z)[0] else 0


# rule: (paired standard errors the best removal must beat keeping every row by,
# whether the default without the validation part must remove rows too)
RULES = {"one SE": (1.0, False), "two SE first": (2.0, False),
         "one SE where the default removes": (1.0, True)}


def validation_report(settings, seeds, jobs=1, defaults_only=False):
    columns = ["default"] + ([] if defaults_only else [
        *UNSEEN, *((ranking, rule) for ranking in RANKINGS for rule in RULES)])
    name = {column: column if isinstance(column, str) else ", ".join(column)
            for column in columns}
    print(f"## Removal ratio chosen on the clean validation part ({seeds} seeds)\n")
    print("| setting | " + " | ".join(name[c] for c in columns)
          + " | seeds whose suspects the default removed | oracle |")
    print("|---" * (len(columns) + 3) + "|")
    means = {column: [] for column in columns}
    for setting in settings:  # a row printed as soon as its seeds are done
        curves = Parallel(n_jobs=jobs)(delayed(removal_curves)(setting, seed, defaults_only)
                                       for seed in range(seeds))
        cells = []
        for column in columns:
            if isinstance(column, str):
                gains = np.array([c[column] for c in curves])
            else:
                ranking, rule = column
                first_z, gated = RULES[rule]
                gains = np.array([c[ranking][1][choose(c[ranking][0], first_z,
                                                       not gated or c["default removes"])]
                                  for c in curves])
            means[column].append(gains.mean())
            cells.append(_gain(gains))
        oracle = _gain(np.array([c["oracle"] for c in curves]))
        suspects = sum(c["suspects"] for c in curves)
        print(f"| {setting} | " + " | ".join(cells) + f" | {suspects} | {oracle} |", flush=True)
    print()
    for column, values in means.items():
        print(f"{name[column]}: {harm_summary(values)}")
