"""Judges of the shares with a clean validation part: recorded once, judged offline.

Run by ``python benchmarks/selection_study.py --study noisy-judges``. With a
clean validation part and classes, the default (``MTIFSelector(model,
random_state=seed).fit(X, y, X_val=, y_val=)``) removes its suspects where
they pass their own test; where they do not, it judges the shares
(``AUTO_RATIOS``) of its ranking on validation folds the ranking did not see
(:func:`~skmtl.selection._auto.removal_length_on_validation`). For each
setting of ``selection_noisy.SETTINGS`` and seed this records, while the
default fits, every share's per-row accuracy and Brier score on those folds
and, after it, every share's test gain; each judge in ``JUDGES`` then picks
a share from the same records, so all are compared on the same seeds. The
selector's own code runs unchanged: two of its private functions are wrapped
(``unittest.mock``) to keep what they see, and the "two SE" column, the
default's judge, must equal the default's own test gain (checked).

Printed: per setting the mean test gain of each judge (accuracy points;
seeds whose suspects passed keep the default's gain in every column), the
oracle and how many seeds' suspects passed; then per judge the sum over the
settings, the worst, how many lose more than 0.1, how many fall more than 0.3
below "two SE", and the share of the oracle's gain on HAR with 20 % flips.
"""

from functools import partial
from unittest import mock

import numpy as np

from skmtl import MultiTaskLogistic
from skmtl.selection import MTIFSelector
from skmtl.selection import _selector
from skmtl.selection._auto import (
    _removal_scores, _validation_row_brier_and_accuracy, beats_keeping_every_row,
    first_within_one_se, removal_lengths,
)

from selection_noisy import prepare, recorded_seeds_report, test_score

ONE_TEST_LEVEL = 0.0228  # one-sided level of two standard errors for a single test
N_SIGN_FLIPS = 4000


def record(setting, seed):
    """The default's gain and oracle; where the shares were judged, per share
    the validation rows' accuracy and Brier scores (the folds one after the
    other, their sizes) and the test gain."""
    d = prepare(setting, seed)
    if d["measurement"]:
        raise ValueError(f"{setting!r} has measurements; the shares are judged this way for "
                         "classes only (a regressor's keep the one-SE rule).")
    X, y = d["X"], d["y"]
    model = MultiTaskLogistic()
    every = np.arange(len(y))
    base = test_score(model, X, y, every, d)
    rec = {"suspects passed": False, "shares": None}
    rankings = []
    judge_unseen = MTIFSelector._remove_judged_on_unseen_validation
    judge_suspects = _selector.proposed_removal_on_validation

    def keeping_rankings(self, X, y, X_val, y_val, present, rank, rng):
        def rank_and_keep(X_part, y_part):
            rankings.append(rank(X_part, y_part))
            return rankings[-1]
        return judge_unseen(self, X, y, X_val, y_val, present, rank_and_keep, rng)

    def suspects_test(*args, **kwargs):
        rec["suspects passed"] = judge_suspects(*args, **kwargs)
        return rec["suspects passed"]

    def shares_test(make_estimator, X, y, present, parts, *, min_z=1.0, n_jobs=None):
        lengths = removal_lengths(present.sum())
        scored = []
        for ranked, X_score, y_score in parts:
            for length in lengths:
                keep = present.copy()
                keep[ranked[:length]] = False
                scored.append(_removal_scores(make_estimator, X, y, keep, X_score, y_score,
                                              _validation_row_brier_and_accuracy))
        both = np.stack([np.concatenate(scored[k::len(lengths)], axis=1)
                         for k in range(len(lengths))])
        rec["shares"] = {"lengths": lengths, "brier": both[:, 0], "accuracy": both[:, 1],
                         "fold sizes": [len(y_score) for _, _, y_score in parts]}
        return lengths[two_se(rec["shares"], min_z)]

    with mock.patch.object(MTIFSelector, "_remove_judged_on_unseen_validation", keeping_rankings), \
            mock.patch.object(_selector, "proposed_removal_on_validation", suspects_test), \
            mock.patch.object(_selector, "removal_length_on_validation", shares_test):
        selector = MTIFSelector(model, random_state=seed).fit(X, y, X_val=d["X_val"],
                                                               y_val=d["y_val"])
    rec["default"] = test_score(model, X, y, selector.sample_indices_, d) - base
    rec["oracle"] = test_score(model, X, y, np.flatnonzero(~d["bad"]), d) - base
    if rec["shares"] is not None:
        ranked = rankings[-1][1]  # the ranking made with every validation row
        rec["shares"]["test"] = np.array([
            test_score(model, X, y, np.setdiff1d(every, ranked[:length]), d) - base
            for length in rec["shares"]["lengths"]])
    return rec


# -- judges: records of one seed -> position of the share removed (0: none) -------


def _z(differences):
    """Mean over the last axis in units of its standard error (inf where the
    differences are all equal and positive, 0 where all zero)."""
    mean = differences.mean(axis=-1)
    error = differences.std(axis=-1, ddof=1) / np.sqrt(differences.shape[-1])
    return np.divide(mean, error, out=np.where(mean > 0, np.inf, 0.0), where=error > 0)


def _max_z_p_value(scores):
    """p-value of the largest z of any share against keeping every row, by
    flipping the signs of whole rows' differences (the shares' correlation kept)."""
    differences = scores[1:] - scores[0]
    signs = np.random.default_rng(0).choice([-1.0, 1.0], (N_SIGN_FLIPS, 1, differences.shape[1]))
    null = _z(signs * differences).max(axis=1)
    return (1 + np.sum(null >= _z(differences).max() - 1e-12)) / (N_SIGN_FLIPS + 1)


def _folds(sizes):
    edges = np.cumsum([0, *sizes])
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def two_se(shares, min_z=2.0):
    """The default: the best share by accuracy beats keeping every row by
    ``min_z`` paired standard errors; then the fewest within one of the best."""
    accuracy = list(shares["accuracy"])
    chosen, top, _ = first_within_one_se(accuracy)
    return chosen if chosen and beats_keeping_every_row(accuracy, top, min_z)[0] else 0


def max_z(shares):
    """As two SE, the test on the largest z of all shares (sign flips)."""
    chosen = first_within_one_se(list(shares["accuracy"]))[0]
    return chosen if chosen and _max_z_p_value(shares["accuracy"]) < ONE_TEST_LEVEL else 0


def _brier_gain_z(shares, position):
    return _z(shares["brier"][position] - shares["brier"][0])


def two_se_brier_no_worse(shares):
    chosen = two_se(shares)
    return chosen if chosen and _brier_gain_z(shares, chosen) >= 0 else 0


def two_se_brier_one_se(shares):
    chosen = two_se(shares)
    return chosen if chosen and _brier_gain_z(shares, chosen) >= 1 else 0


def max_z_brier_no_worse(shares):
    chosen = max_z(shares)
    return chosen if chosen and _brier_gain_z(shares, chosen) >= 0 else 0


def four_of_five_folds(shares):
    """As two SE, and the share gains accuracy on at least 4 of the 5 folds."""
    chosen = two_se(shares)
    accuracy = shares["accuracy"]
    gaining = sum((accuracy[chosen, fold] - accuracy[0, fold]).mean() > 0
                  for fold in _folds(shares["fold sizes"]))
    return chosen if chosen and gaining >= 4 else 0


def nested(shares):
    """The choosing itself judged: on each fold, the share chosen on the other
    folds (fewest within one SE of the best) against keeping every row; the
    pooled differences must be positive by two SE."""
    accuracy = shares["accuracy"]
    differences = []
    for fold in _folds(shares["fold sizes"]):
        others = np.ones(accuracy.shape[1], bool)
        others[fold] = False
        chosen = first_within_one_se(list(accuracy[:, others]))[0]
        differences.append(accuracy[chosen, fold] - accuracy[0, fold])
    chosen = first_within_one_se(list(accuracy))[0]
    return chosen if chosen and _z(np.concatenate(differences)) >= 2 else 0


def nested_and_two_se(shares):
    return nested(shares) if two_se(shares) else 0


def _brier_judged(shares, passed, chosen):
    accuracy = shares["accuracy"]
    return chosen if chosen and passed and accuracy[chosen].mean() >= accuracy[0].mean() else 0


def max_z_on_brier(shares):
    """The max-z test on the Brier score; the share chosen on accuracy, which it
    must not lower."""
    return _brier_judged(shares, _max_z_p_value(shares["brier"]) < ONE_TEST_LEVEL,
                         first_within_one_se(list(shares["accuracy"]))[0])


def max_z_on_brier_brier_share(shares):
    return _brier_judged(shares, _max_z_p_value(shares["brier"]) < ONE_TEST_LEVEL,
                         first_within_one_se(list(shares["brier"]))[0])


def two_se_on_brier(shares):
    """The suspects' own test for the best share by Brier score."""
    chosen, top, _ = first_within_one_se(list(shares["brier"]))
    return _brier_judged(shares, beats_keeping_every_row(list(shares["brier"]), top, 2.0)[0],
                         chosen)


def fixed_sequence(shares):
    """Shares tested smallest first, each by two SE against keeping every row,
    stopping at the first that fails (no multiplicity penalty); the fewest
    within one SE of the best of those that passed."""
    accuracy = shares["accuracy"]
    passed = 0
    for position in range(1, len(accuracy)):
        if _z(accuracy[position] - accuracy[0]) < 2:
            break
        passed = position
    return first_within_one_se(list(accuracy[:passed + 1]))[0] if passed else 0


JUDGES = {
    "two SE (default)": two_se, "max-z": max_z,
    "two SE, Brier no worse": two_se_brier_no_worse, "two SE, Brier 1 SE": two_se_brier_one_se,
    "max-z, Brier no worse": max_z_brier_no_worse, "two SE, 4 of 5 folds": four_of_five_folds,
    "nested": nested, "nested and two SE": nested_and_two_se, "max-z on Brier": max_z_on_brier,
    "max-z on Brier, Brier's share": max_z_on_brier_brier_share,
    "two SE on Brier": two_se_on_brier, "fixed sequence": fixed_sequence,
}


def judged_gains(records, judge):
    return np.array([r["default"] if r["shares"] is None else r["shares"]["test"][judge(r["shares"])]
                     for r in records])


def judges_report(settings, seeds, jobs=1, saved=None):
    """Print the report and return the records; ``saved`` (``{setting:
    records}``, as kept by ``--save-records``) is judged again without fitting."""
    means, oracle, recorded = recorded_seeds_report(
        "Judges of the shares with a clean validation part", settings, seeds, jobs, record,
        {name: partial(judged_gains, judge=judge) for name, judge in JUDGES.items()},
        ("seeds whose suspects passed", lambda r: r["suspects passed"]), saved)
    har = "HAR, 10 volunteers, 20% flips"
    if har in oracle:
        print("HAR with 20 % flips, share of the oracle's gain: " + ", ".join(
            f"{name} {cells[har] / oracle[har]:.0%}" for name, cells in means.items()))
    return recorded
