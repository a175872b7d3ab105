"""The removal test without clean labels: recorded once, tests judged offline.

Run by ``python benchmarks/selection_study.py --study noisy-removal-test``.
Without clean labels the default (``MTIFSelector(model, random_state=seed)
.fit(X, y)``) removes the noise model's estimated count of corrupted rows only
where held-out folds of the training data pass a test
(:func:`~skmtl.selection._auto.label_noise_removal_count`): for noise called
class-conditional, the estimated clean score must gain at p <
``REMOVAL_TEST_LEVEL["class-conditional"]`` and the balanced accuracy on the
given labels at p < ``CLASS_CONDITIONAL_BALANCED_LEVEL`` (unless the clean
score gains at p < ``CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL``, the balanced
accuracy not clearly lower). For each setting of
``selection_noisy.SETTINGS`` and seed this records, while the default fits,
the noise kind and the test's p-values, and the test gain of the default and
of the same removal forced whatever the test says (a second fit); each test
of ``CLASS_CONDITIONAL_TESTS``, the current levels with each of ``GUARDS``
(how much the removal changed the boundary), and each of ``ALIKE_LEVELS`` for
the test of noise read as alike for every class, then decides from the same
records. Only the
class-conditional levels vary: seeds whose noise was called otherwise, or
refused before the test (no evidence, a matrix reading every class as
flipped), keep the default's gain in every column. The selector's code runs
unchanged (three of its functions wrapped with ``unittest.mock``), and the
column of the current levels must equal the default's own gain (checked).
``--save-records PATH`` keeps the records and ``--from-records PATH`` judges
them again without fitting (under a minute against about an hour for the 109
classification settings).

Printed: per setting the mean test gain of each test (accuracy points), the
oracle and how many seeds reached the class-conditional test; then per test
the sum over the settings, the worst, how many lose more than 0.1 and how
many fall more than 0.3 below the current levels; then every seed whose
removal passed the current test and moved the test gain by more than a
point, with its p-values, the share of each class the noise model reads as
flipped, the model's evidence, the share of the training rows predicted
positive before and after the removal beside the given labels' share, the
share of training (and held-out) rows whose predicted class it changed, the
share it removed, the true class balance the noise model implies (its
mean posterior of each class), and per class the given labels of the 2 % of
rows (at least 20) that the plain out-of-fold model places surest in it
against the most the matrix allows (``label_noise_.surest_rows_given``,
``_auto.surest_rows_p_values``); last, the seeds
whose removal went through the test for noise read as alike for every class
instead (the same in every column).

The last columns judge the weak-feature gate (no class-conditional removal
without ``class_prior`` where the plain out-of-fold model ranks the given
labels below ``_auto.CLASS_CONDITIONAL_MIN_PLAIN_AUC``): where it refused a
reading of two classes, the default is fitted again with it open, and each
of ``WEAK_FEATURE_GATES`` compares its own AUC with the same level.
"""

from functools import partial
from unittest import mock

import numpy as np
from sklearn.base import clone

from skmtl import MultiTaskLogistic
from skmtl.selection import MTIFSelector
from skmtl.selection import _auto, _selector
from skmtl.selection._auto import (
    CLASS_CONDITIONAL_BALANCED_LEVEL, CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL,
    CLASS_CONDITIONAL_MOST_FLIPPED, REMOVAL_TEST_LEVEL,
    estimated_corrupted_count, removal_passes,
)

from selection_noisy import prepare, recorded_seeds_report, test_score

CURRENT = (REMOVAL_TEST_LEVEL["class-conditional"], CLASS_CONDITIONAL_BALANCED_LEVEL)
# (level of the estimated clean score, level of the balanced accuracy on the given labels)
CLASS_CONDITIONAL_TESTS = {
    f"clean < {clean:g}, balanced < {balanced:g}": (clean, balanced)
    for clean in (0.5, 0.25, 0.1) for balanced in (0.05, 0.025, 0.01)
}
# the balanced test waived where the estimated clean score gains beyond chance (the
# library's level and two stricter ones), and looser balanced levels without the
# waiver (twenty-eighth session; 0 = no waiver, the rule before)
WAIVERS = {"current, no waiver": (CURRENT, 0.0),
           **{f"current, waiver p < {alone:g}": (CURRENT, alone) for alone in (1e-6, 1e-8)},
           **{f"clean < 0.5, balanced < {balanced:g}, no waiver": ((CURRENT[0], balanced), 0.0)
              for balanced in (0.1, 0.25, 0.5)}}
# levels of the test for noise read as alike for every class stricter than the
# library's (a stricter level only refuses the removals made at the current
# one; the twenty-seventh session judged 0.01 and 0.005 against 0.025 so, at
# cdbfebb, and the library took 0.01)
ALIKE_LEVELS = (0.005,)
# guards added to the current levels (twenty-seventh session, written before
# they were judged on all classification settings): the removal must change
# the boundary enough, read from the model fitted on every row against the one
# fitted without the removed rows
GUARDS = {
    "changed >= 9 %": lambda r: r["changed"] >= 0.09,
    "changed >= 5 %": lambda r: r["changed"] >= 0.05,
    "positive share moved >= 9 points": lambda r: abs(r["shares"][1] - r["shares"][0]) >= 0.09,
    "changed >= removed": lambda r: r["changed"] >= r["removed"],
    "held-out changed >= 9 %": lambda r: r["held-out changed"] >= 0.09,
}

# the share of some class read as flipped from which the clean score must gain beyond
# chance (twenty-ninth session: the library's 0.45 against none, the rule before, and
# the two other candidates judged then)
FLIP_LIMITS = {"current, no flip limit": np.inf,
               **{f"current, flip limit {limit:g}": limit for limit in (0.4, 0.5)}}


def alike_corrected_auc(record):
    """The plain out-of-fold AUC on the given labels with the attenuation by the
    alike part of the noise model's matrix undone (two classes): under
    symmetric flips at rate ``rho = min(T[0, 1], T[1, 0])``, AUC - 0.5 on the
    given labels is (AUC - 0.5 on the true ones) times ``a + b - 1``, ``a`` and
    ``b`` the shares of the given positives and negatives that are truly so."""
    rho, given = min(record["transition"][0, 1], record["transition"][1, 0]), record["given share"]
    true = np.clip((given - rho) / (1 - 2 * rho), 1e-9, 1 - 1e-9)
    positives = true * (1 - rho) / given
    negatives = (1 - true) * (1 - rho) / (1 - given)
    return 0.5 + (record["plain auc"] - 0.5) / (positives + negatives - 1)


# the weak-feature gate (no class-conditional removal without class_prior where the
# features rank the given labels below _auto.CLASS_CONDITIONAL_MIN_PLAIN_AUC; the
# thirty-fourth session) against other AUCs it could compare (thirty-eighth session)
WEAK_FEATURE_GATES = {"gate on the AUC allowing for the alike part": alike_corrected_auc}


def record(setting, seed):
    """Per seed: the class-conditional test's p-values (None where it was not
    reached), the noise model's flips per class and evidence, the default's
    gain, the gain of its removal forced, and the oracle's."""
    d = prepare(setting, seed)
    if d["measurement"]:
        raise ValueError(f"{setting!r} has measurements; this test is for classes.")
    X, y = d["X"], d["y"]
    model = MultiTaskLogistic()
    every = np.arange(len(y))
    base = test_score(model, X, y, every, d)
    rec = {}
    count_removal = _selector.label_noise_removal_count
    p_value_of_gain = _auto.p_value_of_gain
    balanced_row_scores = _auto._balanced_row_scores

    def fit(forced, gate=_auto.CLASS_CONDITIONAL_MIN_PLAIN_AUC):
        """The test gain of the default (``gate``: the level of its weak-feature
        gate), or of its removal forced; the noise kind, the p-values the test
        computed (in the order clean, balanced) and the held-out predictions it
        compared (with the removal, without)."""
        seen = {"p-values": [], "held-out": []}

        def kept_p_value(differences):
            seen["p-values"].append(p_value_of_gain(differences))
            return seen["p-values"][-1]

        def kept_predictions(prediction, y):
            seen["held-out"].append(prediction)
            return balanced_row_scores(prediction, y)

        def counted(make_estimator, X, y, noise, **kwargs):
            seen["kind"], seen["evidence"] = noise.noise_kind, noise.evidence
            seen["plain auc"], seen["transition"] = noise.plain_auc, noise.transition
            seen["given share"] = np.mean(y == noise.classes[-1])
            if noise.transition is not None:
                seen["flips"] = 1 - np.diag(noise.transition)
                seen["implied"] = _auto.class_balances(noise, y)[0]
                seen["surest"] = list(zip(noise.surest_rows_given, noise.transition.max(axis=0),
                                          _auto.surest_rows_p_values(noise)))
            count = count_removal(make_estimator, X, y, noise, **kwargs)
            return estimated_corrupted_count(noise) if forced else count

        with mock.patch.object(_selector, "label_noise_removal_count", counted), \
                mock.patch.object(_auto, "p_value_of_gain", kept_p_value), \
                mock.patch.object(_auto, "_balanced_row_scores", kept_predictions), \
                mock.patch.object(_auto, "CLASS_CONDITIONAL_MIN_PLAIN_AUC", gate):
            selector = MTIFSelector(model, random_state=seed).fit(X, y)
        seen["kept"] = selector.sample_indices_
        return test_score(model, X, y, selector.sample_indices_, d) - base, seen

    rec["default"], seen = fit(forced=False)
    # the weak-feature gate refused a reading of two classes: the default's gain with it open
    if (seen.get("kind") == "class-conditional" and seen["transition"].shape == (2, 2)
            and seen["plain auc"] < _auto.CLASS_CONDITIONAL_MIN_PLAIN_AUC):
        rec.update({key: seen[key] for key in ("plain auc", "transition", "given share")})
        rec["gate opened"] = fit(forced=False, gate=0.0)[0]
    reached = seen.get("kind") == "class-conditional" and len(seen["p-values"]) == 2
    rec["p-values"] = tuple(seen["p-values"]) if reached else None
    rec["alike p-value"] = (seen["p-values"][0] if seen.get("kind") == "alike"
                            and len(seen["p-values"]) == 1 else None)
    rec["evidence"], rec["flips"] = seen.get("evidence"), seen.get("flips")
    if reached:  # the share of held-out rows whose predicted class the removal changed
        after, before = (np.concatenate(seen["held-out"][start::2]) for start in (0, 1))
        rec["held-out changed"] = np.mean(after != before)
        rec["surest"], rec["implied"] = seen["surest"], seen["implied"]
    rec["forced"], forced = fit(forced=True) if reached else (rec["default"], seen)
    # what the removal did to the boundary: the share of the training rows
    # predicted positive before and after it, and the given labels' share; the
    # share of training rows whose predicted class it changed; the share removed
    before, after = (clone(model).fit(X[rows], y[rows]).predict(X) for rows in (every, forced["kept"]))
    rec["shares"] = [before.mean(), after.mean(), y.mean()]
    rec["changed"] = np.mean(after != before)
    rec["removed"] = 1 - len(forced["kept"]) / len(y)
    rec["oracle"] = test_score(model, X, y, np.flatnonzero(~d["bad"]), d) - base
    return rec


def decided_gains(records, levels, guard=None, clean_alone=CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL,
                  most_flipped=CLASS_CONDITIONAL_MOST_FLIPPED):
    """Per seed the gain where the class-conditional test has ``levels`` (and,
    where given, the removal passes ``guard`` as well); a gain of the estimated
    clean score at p < ``clean_alone`` passes without the balanced accuracy
    where that does not clearly fall, and must pass where the matrix reads at
    least ``most_flipped`` of some class as flipped (``_auto.removal_passes``)."""
    clean, balanced = levels
    return np.array([
        _alike_gain(r, REMOVAL_TEST_LEVEL["alike"]) if r["p-values"] is None else
        (r["forced"] if removal_passes(*r["p-values"], clean, balanced, clean_alone,
                                       largest_flip=max(r["flips"]), most_flipped=most_flipped)
         and (guard is None or guard(r)) else 0.0)
        for r in records])


def gate_gains(records, auc):
    """Per seed the default's gain where the weak-feature gate compares ``auc``
    (a function of a record) with its level instead of the plain AUC."""
    return np.array([r["gate opened"] if "gate opened" in r
                     and auc(r) >= _auto.CLASS_CONDITIONAL_MIN_PLAIN_AUC else r["default"]
                     for r in records])


def _alike_gain(record, level):
    """The default's gain where the test for noise read as alike has ``level``
    (seeds recorded before its p-value was kept count as passing)."""
    p_value = record.get("alike p-value")
    return 0.0 if p_value is not None and p_value >= level else record["default"]


def alike_gains(records, level):
    """Per seed the default's gain where the test for noise read as alike has ``level``."""
    return np.array([_alike_gain(r, level) for r in records])


def _surest_rows_text(record):
    """The seed line's account of the true class balance the noise model implies
    (the mean posterior of each class) and of the given labels of the rows
    surest in each class ('' in records kept before them)."""
    if "surest" not in record:
        return ""
    return (f"; the class balance the noise model implies {np.round(record['implied'], 3).tolist()}"
            "; surest rows given their class ") + ", ".join(
        f"{share:.2f} (matrix {bound:.2f}, p {p:.2g})" for share, bound, p in record["surest"])


def removal_test_report(settings, seeds, jobs=1, saved=None):
    """Print the report and return the records; ``saved`` (``{setting:
    records}``, as kept by ``--save-records``) is judged again without fitting."""
    columns = {f"{name} (current)" if levels == CURRENT else name: partial(decided_gains, levels=levels)
               for name, levels in sorted(CLASS_CONDITIONAL_TESTS.items(),
                                          key=lambda test: test[1] != CURRENT)}  # current first
    columns.update({f"current, {name}": partial(decided_gains, levels=CURRENT, guard=guard)
                    for name, guard in GUARDS.items()})
    columns.update({name: partial(decided_gains, levels=levels, clean_alone=alone)
                    for name, (levels, alone) in WAIVERS.items()})
    columns.update({name: partial(decided_gains, levels=CURRENT, most_flipped=limit)
                    for name, limit in FLIP_LIMITS.items()})
    columns.update({f"alike < {level:g}": partial(alike_gains, level=level) for level in ALIKE_LEVELS})
    columns.update({name: partial(gate_gains, auc=auc) for name, auc in WEAK_FEATURE_GATES.items()})
    _, _, recorded = recorded_seeds_report(
        "The class-conditional removal test without clean labels", settings, seeds, jobs, record,
        columns, ("seeds tested", lambda r: r["p-values"] is not None), saved)
    print("\nSeeds where the current test removed rows and the test gain moved by more than 1 "
          "point (p-values of the estimated clean score and of the balanced accuracy; the "
          "share of each class the noise model reads as flipped; its evidence; the share of "
          "the training rows predicted positive before and after the removal, and the given "
          "labels' share):\n")
    for setting, records in recorded.items():
        for seed, r in enumerate(records):
            if r["p-values"] is not None and decided_gains([r], CURRENT)[0] != 0 \
                    and abs(r["forced"]) > 1:
                print(f"* {setting}, seed {seed}: {r['forced']:+.2f}; p {r['p-values'][0]:.3f}, "
                      f"{r['p-values'][1]:.3f}; flips {np.round(r['flips'], 3).tolist()}; "
                      f"evidence {r['evidence']:.1f}; predicted positive "
                      f"{r['shares'][0]:.1%} -> {r['shares'][1]:.1%}, given {r['shares'][2]:.1%}; "
                      f"predictions changed {r['changed']:.1%} (held out "
                      f"{r['held-out changed']:.1%}); removed {r['removed']:.1%}"
                      + _surest_rows_text(r))
    # the other removals, the same in every column: where the noise was read
    # as alike for every class (classes have no other removal without the test)
    alike = {setting: [gain for r in records if r["p-values"] is None
                       and (gain := _alike_gain(r, REMOVAL_TEST_LEVEL["alike"])) != 0]
             for setting, records in recorded.items()}
    gains = np.array([gain for moved in alike.values() for gain in moved])
    print(f"\nSeeds whose test gain moved without the class-conditional test (noise read as "
          f"alike for every class, its own test at p < {REMOVAL_TEST_LEVEL['alike']}): "
          f"{len(gains)}, {int((gains > 0).sum())} gained, {int((gains < 0).sum())} lost, "
          f"{gains.sum() / seeds:+.2f} summed over the settings' means; per setting (seeds, mean "
          "gain): " + "; ".join(f"{setting} {len(g)}, {sum(g) / seeds:+.3f}"
                                for setting, g in alike.items() if g))
    return recorded
