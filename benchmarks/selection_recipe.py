"""The documented ``GridSearchCV`` recipe for the removal ratio, without clean labels.

Run by ``python benchmarks/selection_study.py --study noisy-recipe``. For each
setting of ``selection_noisy.SETTINGS`` and seed, the default selector
(``MTIFSelector(model, random_state=seed)``, ``removal_ratio="auto"``) ranks
the noisy training rows; ``GridSearchCV`` over ``removal_ratio`` in
``selection_noisy.RATIOS`` on 5 task-stratified folds of the same rows (the
selector refitted on each fold's training part, the pipeline scored on the
held-out fold's noisy labels) chooses a ratio by each refit rule, and the
default's ranking is cut at it (as ``GridSearchCV``'s refit on all rows
does). Printed: the test gain over no removal (accuracy points; for
measurements the drop in test MSE in units of the target's spread), mean ±
std [seeds won/tied/lost], beside the selector's own ``"auto"`` and the
oracle (dropping exactly the corrupted rows); then per column the sum over
the settings, the worst setting and how many lose more than 0.1. The same
columns appear in ``--study noisy`` among all the others; this study runs
only these, in about a fifth of the time.
"""

import numpy as np
from joblib import Parallel, delayed

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.selection import MTIFSelector

from selection_noisy import (
    _gain, grid_ratios, harm_summary, lowest, prepare, selector_rule, test_score,
)

RULES = {
    "GridSearchCV, clear gain (the recipe)": "clear gain",
    "GridSearchCV, one SE (the recipe before)": "one SE",
}


def recipe_seed(setting, seed):
    """Test gains of the default, of the recipe under each refit rule, and of the oracle."""
    d = prepare(setting, seed)
    X, y, bad = d["X"], d["y"], d["bad"]
    model = MultiTaskRidge() if d["measurement"] else MultiTaskLogistic()
    classes = None if d["measurement"] else y
    every = np.arange(len(y))
    base = test_score(model, X, y, every, d)

    def gain(removed):
        return test_score(model, X, y, np.setdiff1d(every, removed), d) - base

    default = MTIFSelector(model, random_state=seed).fit(X, y)
    chosen = grid_ratios(selector_rule(), model, X, y, seed, n_folds=5)
    gains = {"default (auto)": gain(np.setdiff1d(every, default.sample_indices_))}
    for name, rule in RULES.items():
        gains[name] = gain(lowest(default.scores_, chosen[rule], classes))
    gains["oracle (drop corrupted)"] = gain(np.flatnonzero(bad))
    return gains


def recipe_report(settings, seeds, jobs=1):
    """Print the table for ``settings`` (names of ``selection_noisy.SETTINGS``)."""
    import time
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    def one(setting, seed):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        return recipe_seed(setting, seed)

    begin = time.perf_counter()
    results = {}
    for setting in settings:
        results[setting] = Parallel(n_jobs=jobs)(delayed(one)(setting, s) for s in range(seeds))
        print(f"# {setting}: {time.perf_counter() - begin:.0f} s", flush=True)
    columns = list(results[settings[0]][0])
    print(f"\n{seeds} seeds; wall {time.perf_counter() - begin:.0f} s\n")
    print("| setting | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    means = {column: [] for column in columns}
    for setting in settings:
        cells = []
        for column in columns:
            values = np.array([r[column] for r in results[setting]])
            means[column].append(values.mean())
            cells.append(_gain(values))
        print(f"| {setting} | " + " | ".join(cells) + " |")
    print()
    for column, values in means.items():
        print(f"* {column}: {harm_summary(values)}")
