"""How many rows to remove: held-out evidence for removal_ratio="auto"."""

import warnings

import numpy as np
from scipy.stats import binom
from sklearn.base import is_classifier
from sklearn.utils import _safe_indexing
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.parallel import Parallel, delayed

from ..model_selection import TaskStratifiedKFold
from ..utils._tasks import quiet_inner_task_warnings
from ._noise import (
    BEATS_MAJORITY_LEVEL,
    CLASS_CONDITIONAL_MAX_SMALLEST_FLIP,
    estimate_label_noise,
    keep_every_class_in_training,
    lowest,
    on_count_scale,
    p_value_of_gain,
    predicts_classes,
    reads_every_class_flipped,
)

# removal ratios tried by removal_ratio="auto" against validation data
AUTO_RATIOS = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3)

# level of the held-out removal test, by the kind of noise estimate_label_noise found;
# a wrong removal under noise alike for every class cost up to 2.5 points, so its mean
# loss (about the level times that) stays under 0.1 point only at a small level: 0.025
# let two such removals cost 0.10 on clean data never used before, 0.01 refuses them and
# gives up 0.16 point summed over 125 settings (benchmarks/RESULTS.md, "Twenty-seventh
# session"; benchmarks/selection_study.py --study noisy-removal-test)
REMOVAL_TEST_LEVEL = {"class-conditional": 0.5, "alike": 0.01, "outliers": 0.1}

# class-conditional noise is tested twice: the estimated clean score, which rests on the
# estimated matrix (a wrong one confirms itself: p 0.03 on a removal that cost 15 points),
# at REMOVAL_TEST_LEVEL, and the balanced accuracy on the given labels, which needs no
# matrix, at this level (benchmarks/RESULTS.md, "Twenty-fifth session": with one of the
# two at 0.25 instead, the default lost 0.76 and 0.55 point on two data sets never used)
CLASS_CONDITIONAL_BALANCED_LEVEL = 0.05
# ... unless the estimated clean score gains beyond chance (p below this level): where a
# share of one class was turned into the other, removing those rows raises accuracy
# while the balanced accuracy on the given labels, which still count them as the class
# they were turned into, can stay flat (HAR with 30 % of the negatives turned positive:
# balanced p 0.11 to 0.90 in 16 of 20 seeds, each removal gaining 3.7 to 9.4 points);
# every removal the balanced test refused at p < 0.01 of the estimated clean score gained,
# over 137 classification settings; on 20 of five data sets never used before no seed
# needed it (benchmarks/RESULTS.md, "Twenty-eighth session")
CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL = 1e-4
# ... and it must, where the matrix reads at least this share of some class as turned
# into another: a reading that nearly half of a class was flipped can be the features'
# weakness read as flips, where the balanced accuracy gains and accuracy falls (HMDA, 12 %
# positives, never used before: with clean labels 46-63 % of the positives read as
# flipped, clean p 0.14-0.44, balanced p < 0.001, 6 removals of 20 costing 5.9 to 15.1
# points); every other removal that passed on 161 recorded classification settings read
# at most 38 % (benchmarks/RESULTS.md, "Twenty-ninth session")
CLASS_CONDITIONAL_MOST_FLIPPED = 0.45
# ... and nothing is removed where the given labels of the rows the features place surest
# in some class contradict the matrix at this level (surest_rows_p_values): on CreditCard,
# never used before, it refused the three removals that cost accuracy with clean labels
# (-0.37 -> 0.00), and on 177 other classification settings it refused none that the
# held-out tests passed (benchmarks/RESULTS.md, "Thirty-first session")
SUREST_ROWS_LEVEL = 0.01
# ... and, without a known class balance, nothing is removed on a class-conditional
# reading where the features rank the given labels below this AUC out of fold: a
# share of one class read as labelled as another is identified only through rows the
# features place surely in a class, and on weak features those removals lost on four
# data sets never used before (DoctorVisits, PhDPublications, DoctorContacts,
# CreditCard), all mended by it but one seed of DoctorContacts; the level, one of three
# fixed before the records that chose it, keeps 48 % of the oracle's gain in the
# issue's setting (benchmarks/RESULTS.md, "Thirty-fourth session")
CLASS_CONDITIONAL_MIN_PLAIN_AUC = 0.75

# how many paired standard errors the best removal must beat keeping every row
# by, on scores its ranking did not see, before any row goes: per validation
# row (hundreds of scores), and per fold of a GridSearchCV (a handful, so the
# error is itself uncertain; with two, the recipe lost up to 0.23 point on
# average in a setting of the issue-14 study)
CLEAR_GAIN_Z = 2.0
CLEAR_GAIN_Z_OVER_FOLDS = 3.0


# the noise model's kinds in the words of a warning
_KIND_IN_WORDS = {
    "alike": "noise that flips every class alike (noise_kind='alike')",
    "class-conditional": "class-conditional noise (one class turned into another)",
    "outliers": "outliers",
}


def fewest_removed_within_one_se(cv_results):
    """Refit rule for ``GridSearchCV`` over a removal ratio: the smallest ratio
    whose mean cross-validated score is within one standard error of the best.

    Scores measured on noisy held-out labels are noisy themselves; the best
    mean often wins by chance and removes rows that help. This rule removes
    more only where the evidence is clear, as in scikit-learn's example
    "Balance model complexity and cross-validated score". Search over 5
    folds or more: with 3 the rule removed rows that cost accuracy on
    synthetic data (``benchmarks/selection_study.py --study noisy``). The
    documentation recommends :func:`fewest_removed_with_clear_gain`, which
    first asks the best ratio to beat no removal clearly.

    Parameters
    ----------
    cv_results : dict
        ``GridSearchCV.cv_results_`` of a search whose grid varies one
        parameter ending in ``removal_ratio`` (the selector's, in a
        pipeline ``"mtifselector__removal_ratio"``).

    Returns
    -------
    index : int
        Position of the chosen candidate in ``cv_results``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskLogistic
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> from skmtl.selection import MTIFSelector, fewest_removed_within_one_se
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=60, n_features=4, random_state=0)
    >>> pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), random_state=0), MultiTaskLogistic())
    >>> search = GridSearchCV(
    ...     pipe, {"mtifselector__removal_ratio": [0, 0.05, 0.1, 0.2]},
    ...     cv=TaskStratifiedKFold(5, shuffle=True, random_state=0),
    ...     refit=fewest_removed_within_one_se,
    ... ).fit(X, y)
    >>> search.best_params_
    {'mtifselector__removal_ratio': 0}
    """
    return _fewest_within_one_se(cv_results, "fewest_removed_within_one_se")


def fewest_removed_with_clear_gain(cv_results):
    """Refit rule for ``GridSearchCV`` over a removal ratio: no removal unless
    the best ratio beats removing nothing by three standard errors, fold by
    fold; then the smallest ratio within one standard error of the best.

    The stricter form of :func:`fewest_removed_within_one_se`, and the one
    the documentation recommends. The standard error of the first test is
    that of the per-fold differences between the best ratio and no removal
    (paired: both are scored on the same held-out folds), so a ratio that
    wins on average by one lucky fold removes nothing. Scores on noisy
    held-out labels reward some removals that cost accuracy on the true
    labels; see ``benchmarks/selection_study.py --study noisy-recipe`` for
    what each rule lost and gained.

    Parameters
    ----------
    cv_results : dict
        ``GridSearchCV.cv_results_`` of a search whose grid varies one
        parameter ending in ``removal_ratio``, with the ratio 0 among its
        candidates.

    Returns
    -------
    index : int
        Position of the chosen candidate in ``cv_results``.

    Examples
    --------
    Pass it as ``refit`` exactly as :func:`fewest_removed_within_one_se`.
    Here five folds scored no removal and removing 10 % of the rows; one
    fold gained 0.20 and four nothing, so the mean gain of 0.04 is one
    paired standard error, and nothing is removed:

    >>> import numpy as np
    >>> from skmtl.selection import fewest_removed_with_clear_gain
    >>> folds = np.array([[0.60, 0.80], [0.80, 0.80], [0.75, 0.75], [0.78, 0.78], [0.72, 0.72]])
    >>> cv_results = {
    ...     "param_mtifselector__removal_ratio": np.array([0.0, 0.1]),
    ...     "mean_test_score": folds.mean(axis=0), "std_test_score": folds.std(axis=0),
    ...     **{f"split{i}_test_score": scores for i, scores in enumerate(folds)},
    ... }
    >>> fewest_removed_with_clear_gain(cv_results)
    0
    """
    rule = "fewest_removed_with_clear_gain"
    ratios = _searched_ratios(cv_results, rule)
    none = np.flatnonzero(ratios == 0)
    if len(none) != 1:
        raise ValueError(
            "fewest_removed_with_clear_gain compares every ratio with removing nothing; "
            f"add 0 to the grid of removal ratios (it has {ratios.tolist()})."
        )
    best = int(np.nanargmax(cv_results["mean_test_score"]))
    folds = np.array([cv_results[key] for key in _split_keys(cv_results)], dtype=float)
    clear, _ = beats_keeping_every_row([folds[:, none[0]], folds[:, best]], 1,
                                       CLEAR_GAIN_Z_OVER_FOLDS)
    if best == none[0] or not clear:
        return int(none[0])
    return _fewest_within_one_se(cv_results, rule)


def _searched_ratios(cv_results, rule):
    """The removal ratios searched in ``cv_results``; ``rule`` names the caller in errors."""
    keys = [k for k in cv_results if k.startswith("param_") and k.endswith("removal_ratio")]
    if len(keys) != 1:
        raise ValueError(
            f"{rule} needs a search over exactly one parameter "
            f"ending in 'removal_ratio'; the searched parameters are "
            f"{[k[len('param_'):] for k in cv_results if k.startswith('param_')]}."
        )
    ratios = list(cv_results[keys[0]])
    named = [r for r in ratios if not _is_number(r)]
    if named:
        raise ValueError(
            f"{rule} compares fixed removal ratios, fewest removed first; the grid holds "
            f"{named[0]!r}, which chooses its own. Search numbers only (with 0), or use "
            f"removal_ratio={named[0]!r} on its own, without the search."
        )
    return np.asarray(ratios, dtype=float)


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _split_keys(cv_results):
    return [k for k in cv_results if k.startswith("split") and k.endswith("_test_score")]


def _fewest_within_one_se(cv_results, rule):
    ratios = _searched_ratios(cv_results, rule)
    mean = np.asarray(cv_results["mean_test_score"], dtype=float)
    best = int(np.nanargmax(mean))
    n_splits = len(_split_keys(cv_results))
    error = np.asarray(cv_results["std_test_score"], dtype=float)[best] / np.sqrt(max(n_splits, 1))
    within = np.flatnonzero(mean >= mean[best] - error)
    return int(within[np.argmin(ratios[within])])


def _clean_row_scores(prediction, y, noise, rows):
    """Per held-out row, the score of a model's ``prediction`` on the true
    target behind the given ``y``, estimated.

    Classes: the accuracy with each given label replaced by the row of the
    inverse transition matrix (unbiased for the accuracy on the true classes
    when the matrix is right; under noise that flips every class alike it
    ranks models as the plain accuracy does). Measurements: minus the squared
    error weighted by each row's probability of being an inlier (counts on the
    square-root scale, where the noise model read them).
    """
    if noise.transition is None:
        if noise.get("count_scale", False):
            prediction, y = on_count_scale(prediction), on_count_scale(y)
        weights = np.nan_to_num(noise.label_quality[rows])
        return -weights * (prediction - y) ** 2 / max(weights.mean(), 1e-12)
    corrected = np.linalg.pinv(noise.transition)
    given = np.searchsorted(noise.classes, y)
    return corrected[given, np.searchsorted(noise.classes, prediction)]


def _balanced_row_scores(prediction, y):
    """Per held-out row, its share of the balanced accuracy of ``prediction``
    on the given labels ``y``: its "balanced" class weight divided by the
    number of rows where the prediction matches its label, else 0 (the
    shares sum to the balanced accuracy)."""
    return compute_sample_weight("balanced", y) * (prediction == y) / len(y)


def lowest_keeping_every_class(scores, candidates, n, y, kept):
    """:func:`lowest`, but never the last row of a class among the rows ``kept``
    (a boolean mask of the rows not removed yet): a classifier fitted on the rest
    must still see every class. Fewer than ``n`` where no more can go."""
    classes, counts = np.unique(y[kept], return_counts=True)
    left = dict(zip(classes.tolist(), counts.tolist()))
    taken = []
    for row in candidates[np.argsort(scores[candidates], kind="stable")]:
        if len(taken) == n:
            break
        label = y[row]
        if left[label] > 1:
            left[label] -= 1
            taken.append(row)
    return np.asarray(taken, dtype=np.intp)


def estimated_corrupted_count(noise):
    """The number of rows to remove as corrupted among those the noise model scored:
    for classes the number it expects corrupted; for a measurement the rows more
    likely outliers than not. Where an ordinary residual is unlike a normal one
    (a task the shared model fits worse, its errors wider for some rows), many
    rows are in part outliers, and their expected number then counts clean rows
    (a fresh reader's tasks unlike the others, thirty-ninth session: 70 for 50
    outliers); on the regression settings of ``benchmarks/selection_study.py
    --study noisy`` the share removed fell from 0.14-0.18 to 0.11-0.12 for 0.10
    corrupted, and no setting's gain fell (``benchmarks/RESULTS.md``)."""
    quality = noise.label_quality
    if noise.noise_kind == "outliers":
        return int(np.sum(quality[np.isfinite(quality)] < 0.5))
    return int(np.floor(noise.noise_rate * np.isfinite(quality).sum() + 1e-9))


def _removed_share(noise):
    """The share of scored rows :func:`estimated_corrupted_count` removes, for messages."""
    if noise.noise_kind != "outliers":
        return noise.noise_rate
    return estimated_corrupted_count(noise) / max(np.isfinite(noise.label_quality).sum(), 1)


def _held_out_differences(make_estimator, X, y, noise, *, n_folds, task_col, n_jobs):
    """Per held-out row of 3 task-stratified folds, the estimated clean score with
    the removal minus without it; for classes also its share of the balanced
    accuracy on the given labels with the removal minus without it (else
    None); and None. Or None, None and why the removal cannot be tested (it
    would take every row of a class out of a training part)."""
    differences, balanced = [], []
    classes = noise.transition is not None
    folds = list(TaskStratifiedKFold(3, shuffle=True, random_state=0, task_col=task_col).split(X, y))
    if classes:
        folds = keep_every_class_in_training(folds, y)
    for train, test in folds:
        # the rows are ranked again on the training part alone (ranked on
        # all rows, the held-out labels would have chosen what to remove),
        # with the kind of noise judged on all rows, where the evidence is most
        inner = estimate_label_noise(
            make_estimator(), _safe_indexing(X, train), y[train],
            cv=n_folds, task_col=task_col, n_jobs=n_jobs, random_state=0,
            noise_kind=noise.noise_kind if classes else "auto",
            class_prior=noise.class_prior if classes else None,
        )
        quality = inner.label_quality
        finite = np.flatnonzero(np.isfinite(quality))
        kept = np.setdiff1d(train, train[lowest(quality, finite, estimated_corrupted_count(inner))])
        lost = np.setdiff1d(y[train], y[kept]) if classes else []
        if len(lost):
            return None, None, (
                f"removing the estimated {_removed_share(inner):.1%} of corrupted rows of a "
                f"training part would remove every row of class {lost[:1].tolist()[0]!r}"
            )
        without, with_removal = (
            make_estimator().fit(_safe_indexing(X, part), y[part]) for part in (train, kept)
        )
        held = _safe_indexing(X, test)
        with quiet_inner_task_warnings(task_labels=False):  # the removal may take a small task
            after, before = with_removal.predict(held), without.predict(held)
        differences.append(
            _clean_row_scores(after, y[test], noise, test)
            - _clean_row_scores(before, y[test], noise, test)
        )
        if classes:
            balanced.append(
                _balanced_row_scores(after, y[test]) - _balanced_row_scores(before, y[test])
            )
    return np.concatenate(differences), np.concatenate(balanced) if classes else None, None


def label_noise_removal_count(make_estimator, X, y, noise, *, n_folds, task_col, n_jobs,
                              class_prior=None):
    """The estimated number of corrupted rows of ``(X, y)`` where held-out
    folds say that removing them raises the clean score; else 0 (with a
    warning).

    ``noise`` is :func:`estimate_label_noise` of ``(X, y)``;
    ``make_estimator()`` returns a fresh copy of the model. The estimated
    clean score of 3 task-stratified held-out folds, the rows ranked again
    on each training part (with the kind of noise found on all rows), is
    compared with and without the removal (a one-sided paired test). How
    clear the gain must be depends on the kind of noise: class-conditional
    noise (one class read as another more often than back) moves the
    decision boundary and removing the flips moves it back, so a gain on
    average suffices (p < 0.5); noise that flips every class alike leaves
    the best classifier where it was (Natarajan et al., 2013), and a wrong
    removal there cost up to 2.5 points, so the gain must be clear (p <
    0.01); outliers of a measurement may not pull the fit (p < 0.1).

    The estimated clean score rests on the estimated transition matrix, and
    a wrong matrix confirms itself. So class-conditional noise must also
    clearly raise (p < 0.05) the balanced accuracy on the given labels of
    the same held-out rows, which needs no matrix: under noise that depends
    on the class alone, the balanced error on the noisy labels is an
    increasing affine function of the clean one for two classes (Menon et
    al., 2015). Balanced accuracy is not accuracy, though: removing rows of
    one class turned into the other raises accuracy where the balanced
    accuracy on the given labels (which still count those rows as the class
    they were turned into) can stay flat, so a gain of the estimated clean
    score beyond chance (p < 1e-4) suffices where the balanced accuracy
    does not clearly fall (p < 0.05 for a loss); each of the 18 removals
    that this let through on the 137 classification settings of
    ``benchmarks/selection_study.py --study noisy-removal-test`` gained. And
    a matrix that reads nearly half of some class as turned into the other
    (``CLASS_CONDITIONAL_MOST_FLIPPED``) may be the features' weakness read
    as flips: removing the "flips" then makes the model predict that class
    more often, which raises the balanced accuracy and lowers accuracy, so
    such a removal needs the gain beyond chance as well. Nothing is removed
    on a class-conditional matrix that the given labels of the rows the
    features place surest in some class contradict (more of them labelled
    with it than the matrix allows, :func:`surest_rows_p_values` <
    ``SUREST_ROWS_LEVEL``). Noisy labels alone cannot tell a
    class-conditional reading from features that place no row surely in the
    class read as hidden (``benchmarks/RESULTS.md``, "Thirty-first
    session"), so without a known class balance nothing is removed on it
    where the plain out-of-fold model ranks the given labels below
    ``CLASS_CONDITIONAL_MIN_PLAIN_AUC`` (``noise.plain_auc``), and a
    class-conditional removal warns what it assumes: the true share of the
    class read as hidden that the noise model implies, against its given
    share. A user who knows the class balance can give it as
    ``class_prior`` (the true share of each class, in the order of
    ``noise.classes``): a class-conditional removal then goes only where
    the implied balance is closer to it than the given labels' balance is
    (:func:`moves_the_balance_away`), whatever the features' strength, and
    without the warning.
    Where the features cannot tell which class was read as
    which, the matrix may point the wrong way and the estimated clean score
    then gains by chance, even clearly. Such a matrix often reads many rows
    of every class as flipped (the plain model leaves room for noise in both
    directions, and the fit fills both): :func:`estimate_label_noise` then
    calls the noise alike, and where the kind was named class-conditional
    nothing is removed on such a matrix.
    """
    smallest_flip, both_ways = (
        reads_every_class_flipped(noise.transition)
        if noise.noise_kind == "class-conditional" else (0.0, False)
    )
    largest_flip = (float((1 - np.diag(noise.transition)).max())
                    if noise.noise_kind == "class-conditional" else 0.0)
    if noise.evidence <= 0:
        why = (
            f"the noise model of the {'labels' if noise.transition is not None else 'targets'} "
            "predicts the given targets out of fold no better than the plain model (its "
            f"evidence, twice the log-likelihood gain less two per noise parameter, is "
            f"{noise.evidence:.1f}): the data show no corruption it can tell from ordinary error"
        )
    elif n_folds < 3:
        why = f"too few rows can be held out ({n_folds} folds) to test the removal"
    elif both_ways:
        why = (
            f"the label-noise model reads at least {smallest_flip:.1%} of every class as "
            f"flipped (the limit is {CLASS_CONDITIONAL_MAX_SMALLEST_FLIP:.1%}): the "
            "features cannot tell which class was read as which"
        )
    elif noise.noise_kind == "class-conditional" and (
            surest := surest_rows_p_values(noise)).min() < SUREST_ROWS_LEVEL:
        position = int(np.argmin(surest))
        p_value = surest[position]
        label = noise.classes[position:position + 1].tolist()[0]
        why = (
            f"the label-noise model reads the noise as one class turned into another, but of the "
            f"{noise.n_surest_rows} rows the features place surest in class {label!r}, "
            f"{noise.surest_rows_given[position]:.0%} are labelled {label!r}, more than its "
            f"matrix allows ({noise.transition[:, position].max():.0%}; one-sided binomial "
            f"p = {p_value:.2g} < {SUREST_ROWS_LEVEL})"
        )
    elif (noise.noise_kind == "class-conditional" and class_prior is None
          and not noise.plain_auc >= CLASS_CONDITIONAL_MIN_PLAIN_AUC):
        implied, given = class_balances(noise, y)
        why = (
            f"{_hidden_class(noise, implied, given)[2]}, but the features rank the given labels "
            f"with AUC {noise.plain_auc:.2f} out of fold (below "
            f"{CLASS_CONDITIONAL_MIN_PLAIN_AUC}): features that place no row surely in a class "
            "cannot tell a share of it labelled otherwise from another class balance. If you "
            "know the true share of each class, pass it as class_prior"
        )
    elif noise.noise_kind == "class-conditional" and class_prior is not None and (
            away := moves_the_balance_away(noise, y, class_prior)):
        why = away
    else:
        differences, balanced, why = _held_out_differences(
            make_estimator, X, y, noise, n_folds=n_folds, task_col=task_col, n_jobs=n_jobs
        )
        if differences is not None:
            p_value = p_value_of_gain(differences)
            level = REMOVAL_TEST_LEVEL[noise.noise_kind]
            p_balanced = (
                p_value_of_gain(balanced) if noise.noise_kind == "class-conditional" else 0.0
            )
            if removal_passes(p_value, p_balanced, level, largest_flip=largest_flip):
                if noise.noise_kind == "class-conditional" and class_prior is None:
                    warnings.warn(_class_balance_bet(noise, y), UserWarning)
                return estimated_corrupted_count(noise)
            test = f"one-sided paired test over {len(differences)} rows of 3 folds"
            if (largest_flip >= CLASS_CONDITIONAL_MOST_FLIPPED
                    and CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL <= p_value < level):
                why = (
                    f"the label-noise model reads {largest_flip:.1%} of a class as flipped (the "
                    f"limit is {CLASS_CONDITIONAL_MOST_FLIPPED:.0%} unless the estimated clean "
                    "score gains beyond chance): nearly half of a class read as the other can be "
                    "the features' weakness read as flips, where the balanced accuracy gains and "
                    f"accuracy falls, and removing the estimated {noise.noise_rate:.1%} of "
                    f"corrupted rows raised the estimated clean score of held-out rows at p = "
                    f"{p_value:.2g} ({test}; beyond chance below "
                    f"{CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL:g})"
                )
            elif p_value >= level:
                why = (
                    f"removing the estimated {_removed_share(noise):.1%} of corrupted rows changed "
                    f"the estimated clean score of held-out rows by {differences.mean():+.3g} "
                    f"on average, not a clear gain for {_KIND_IN_WORDS[noise.noise_kind]} "
                    f"({test}, p = {p_value:.2f}; a removal needs p < {level} for this kind)"
                )
            else:
                why = (
                    f"removing the estimated {noise.noise_rate:.1%} of corrupted rows did not "
                    "clearly raise the balanced accuracy on the given labels of held-out rows, "
                    "which needs no transition matrix and which class-conditional noise keeps "
                    f"in step with the clean one ({test}, p = {p_balanced:.2f} >= "
                    f"{CLASS_CONDITIONAL_BALANCED_LEVEL}); the estimated clean score alone "
                    f"(p = {p_value:.2g}; enough alone below {CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL:g}) "
                    "rests on the estimated matrix, which may read the wrong class as "
                    "flipped where the features are weak"
                )
    warnings.warn(
        f"removal_ratio='auto' keeps every row: {why}. Pass a number as "
        f"removal_ratio to remove rows anyway.{_which_class_unknown(noise)}",
        UserWarning,
    )
    return 0


def surest_rows_p_values(noise):
    """Per class c, the one-sided binomial p-value of the share of the rows
    surest in c that are labelled c (``noise.surest_rows_given`` of
    ``noise.n_surest_rows``) against the most the matrix allows.

    Each row is ranked without its own label, and under the matrix
    ``P(given c | x) = sum_j P(true j | x) T[j, c]`` is at most the largest
    ``T[j, c]``: the rows surest in c are the only ones that could show the
    matrix wrong (anchor points, Scott et al., 2013). A large p-value is no
    support: a matrix that reads a share of c as hidden fits features that
    place no row surely in c too."""
    given = np.round(noise.surest_rows_given * noise.n_surest_rows)
    return binom.sf(given - 1, noise.n_surest_rows, noise.transition.max(axis=0))


def class_balances(noise, y):
    """The true class balance the noise model implies (its mean posterior of
    each class) and the given labels' balance, both over the rows it scored,
    in the order of ``noise.classes``."""
    scored = np.isfinite(noise.label_quality)
    implied = np.nanmean(noise.posterior[scored], axis=0)
    given = (np.asarray(y)[scored][:, None] == noise.classes).mean(axis=0)
    return implied, given


def _hidden_class(noise, implied, given):
    """The position and label of the class the matrix reads as hidden most, and
    the words for its share read as labelled otherwise, implied and given."""
    hidden = int(np.argmax(1 - np.diag(noise.transition)))
    label = noise.classes[hidden:hidden + 1].tolist()[0]
    return hidden, label, (
        f"the noise model reads {1 - noise.transition[hidden, hidden]:.1%} of class {label!r} "
        f"as labelled otherwise, so that {implied[hidden]:.1%} of the rows would truly be of "
        f"class {label!r} where {given[hidden]:.1%} are labelled {label!r}"
    )


def _class_balance_bet(noise, y):
    """What a class-conditional removal without trusted rows assumes: the class
    the matrix reads as hidden most, and the true share of it the noise model
    implies against the given share (over the rows it scored)."""
    implied, given = class_balances(noise, y)
    _, label, reading = _hidden_class(noise, implied, given)
    return (
        f"removal_ratio='auto' removes the estimated {noise.noise_rate:.1%} of corrupted rows "
        f"as class-conditional noise: {reading}. Noisy labels alone cannot tell this from "
        f"features that place no row surely in class {label!r}, where the same removal costs "
        "accuracy. If you know the true share of each class, pass it as class_prior; "
        "rows whose labels you trust decide it: fit(X, y, X_val=..., y_val=...)."
    )


def moves_the_balance_away(noise, y, class_prior):
    """Why a class-conditional reading is refused by a known class balance
    ``class_prior`` (in the order of ``noise.classes``), or '' where it is not:
    the balance it implies must be closer to ``class_prior`` (summed absolute
    differences) than the given labels' balance is. Removing the rows it
    suspects moves the model toward the implied balance; where the given
    labels already have the true one, that costs accuracy."""
    implied, given = class_balances(noise, y)
    off_implied, off_given = (np.abs(share - class_prior).sum() for share in (implied, given))
    if off_implied < off_given:
        return ""
    hidden, _, reading = _hidden_class(noise, implied, given)
    return (
        f"{reading}, further from class_prior ({class_prior[hidden]:.1%}; the class shares "
        f"differ from it by {off_implied:.3f} implied and {off_given:.3f} given, summed over the "
        "classes): the reading moves the class balance away from the one you know"
    )


def removal_passes(p_clean, p_balanced, clean_level, balanced_level=CLASS_CONDITIONAL_BALANCED_LEVEL,
                   clean_alone_level=CLASS_CONDITIONAL_CLEAN_ALONE_LEVEL, largest_flip=0.0,
                   most_flipped=CLASS_CONDITIONAL_MOST_FLIPPED):
    """Whether a removal passes the held-out test: the estimated clean score
    gains at p < ``clean_level``, and the balanced accuracy on the given
    labels at p < ``balanced_level`` (0 where it is not tested) or, the
    clean score gaining beyond chance (p < ``clean_alone_level``), the
    balanced accuracy does not clearly fall (its p of a loss, ``1 -
    p_balanced``, at least ``balanced_level``). Where the matrix reads a
    share ``largest_flip`` of some class as flipped that reaches
    ``most_flipped``, the clean score must gain beyond chance in any case."""
    beyond_chance = p_clean < clean_alone_level and 1 - p_balanced >= balanced_level
    if largest_flip >= most_flipped:
        return beyond_chance
    return p_clean < clean_level and (p_balanced < balanced_level or beyond_chance)


def _which_class_unknown(noise):
    """A sentence where the noisy labels cannot tell which class's rows to
    suspect (noise read as alike, features no better than each task's most
    frequent label), else ''."""
    p_value = noise.beats_majority_p_value
    if noise.noise_kind != "alike" or p_value < BEATS_MAJORITY_LEVEL:
        return ""
    return (
        " The features predict the given labels no better than each task's most frequent "
        f"label (p = {p_value:.2f} >= {BEATS_MAJORITY_LEVEL}): such labels cannot tell noise "
        "that flips every class alike from a share of one class labelled as the commoner one, "
        "and the two suspect different rows (the ranking assumes the first, which puts the "
        "rarer label's rows first). Rows whose labels you trust tell which: "
        "fit(X, y, X_val=..., y_val=...)."
    )


def _validation_row_scores(estimator, X_val, y_val):
    """Per validation row: 1 where a classifier predicts the class, else 0;
    minus the squared error for a regressor (which ranks models as R^2 does)."""
    prediction = estimator.predict(X_val)
    if is_classifier(estimator):
        return (prediction == y_val).astype(float)
    return -((prediction - y_val) ** 2)


def _validation_row_brier_scores(estimator, X_val, y_val):
    """Per validation row, minus the Brier score of a classifier's class
    probabilities: every row's probability moves with a removal, so the
    differences between two models are far denser than those of 0/1 accuracy."""
    truth = (np.asarray(y_val)[:, None] == estimator.classes_).astype(float)
    unseen = truth.sum(axis=1) == 0  # a class the model was not fitted on: probability 0
    return -(((estimator.predict_proba(X_val) - truth) ** 2).sum(axis=1) + unseen)


def removal_lengths(n_rows):
    """The numbers of rows ``AUTO_RATIOS`` of ``n_rows`` remove, ascending, once each."""
    return sorted({int(np.floor(ratio * n_rows + 1e-9)) for ratio in AUTO_RATIOS})


def first_within_one_se(scores):
    """Position of the first candidate whose mean score is within one standard
    error of the best's, the best's position, and that standard error.

    ``scores`` holds one array per candidate, fewest rows removed first, of
    per-row scores on the same rows; the standard error is that of the
    per-row differences from the best (paired).
    """
    means = [score.mean() for score in scores]
    top = int(np.argmax(means))
    for position, score in enumerate(scores):
        behind = scores[top] - score
        error = behind.std(ddof=1) / np.sqrt(len(behind)) if len(behind) > 1 else 0.0
        if behind.mean() <= error:
            return position, top, error


def beats_keeping_every_row(scores, top, min_z):
    """Whether candidate ``top`` beats the first (keeping every row) by at
    least ``min_z`` standard errors of their per-row differences (paired),
    and that standard error; ``scores`` as in :func:`first_within_one_se`."""
    ahead = scores[top] - scores[0]
    error = ahead.std(ddof=1) / np.sqrt(len(ahead)) if len(ahead) > 1 else 0.0
    return bool(ahead.mean() >= min_z * error), error


def _removal_scores(make_estimator, X, y, keep, X_score, y_score,
                    row_scores=_validation_row_scores):
    rows = np.flatnonzero(keep)
    fitted = make_estimator().fit(_safe_indexing(X, rows), y[rows])
    return row_scores(fitted, X_score, y_score)


def _validation_row_brier_and_accuracy(estimator, X_val, y_val):
    return np.stack([_validation_row_brier_scores(estimator, X_val, y_val),
                     _validation_row_scores(estimator, X_val, y_val)])


def proposed_removal_on_validation(make_estimator, X, y, present, parts, *,
                                   min_z=CLEAR_GAIN_Z, n_jobs=None):
    """Whether a classifier should make a removal proposed ahead of the
    evidence: removing each part's proposed rows must beat keeping every row
    on that part's scoring rows by ``min_z`` standard errors of the per-row
    differences in Brier score (pooled over the parts, paired), and must not
    lower their accuracy. ``parts`` holds ``(proposed, X_score, y_score)``;
    refits as in :func:`removal_length_on_validation`. Keeping every row
    comes with a warning that says why. At one standard error such a
    removal passed by chance often enough to lose where nothing could be
    gained; a better calibrated model need not be a more accurate one
    (``benchmarks/RESULTS.md``, "Ranked again without the suspects")."""
    def without(proposed):
        keep = present.copy()
        keep[proposed] = False
        return keep

    scored = Parallel(n_jobs=n_jobs)(
        delayed(_removal_scores)(make_estimator, X, y, keep, X_score, y_score,
                                 _validation_row_brier_and_accuracy)
        for proposed, X_score, y_score in parts for keep in (present, without(proposed))
    )
    kept, removed = np.concatenate(scored[0::2], axis=1), np.concatenate(scored[1::2], axis=1)
    clearer, error = beats_keeping_every_row([kept[0], removed[0]], 1, min_z)
    accuracy_lost = removed[1].mean() < kept[1].mean()
    if not clearer or accuracy_lost:
        share = np.mean([len(proposed) for proposed, _, _ in parts]) / present.sum()
        why = (f"their removal lowers accuracy from {kept[1].mean():.1%} to {removed[1].mean():.1%}"
               if clearer else
               f"removing them scored a Brier score of {-removed[0].mean():.4g} against "
               f"{-kept[0].mean():.4g} without removal, not better by {min_z:g} standard "
               f"errors ({error:.2g})")
        warnings.warn(
            f"removal_ratio='auto' does not remove the {share:.1%} suspected rows: on the "
            f"{kept.shape[1]} validation rows of tasks with two or more of them (each "
            f"scored by a ranking made without it) {why}; shares of the noise model's ranking are "
            "judged instead.",
            UserWarning,
        )
    return clearer and not accuracy_lost


def removal_length_on_validation(make_estimator, X, y, present, parts, *, min_z=1.0,
                                 n_jobs=None):
    """How many rows of a ranking to remove, chosen on validation rows: the
    fewest whose removal scores within one standard error of the best, and
    none unless the best beats keeping every row by ``min_z`` standard errors.

    ``parts`` holds ``(ranked, X_score, y_score)``: each ranking's prefixes
    (``AUTO_RATIOS`` of the ``present`` rows) are removed, the model is
    refitted and it scores the rows ``X_score`` (accuracy, or squared error
    for a regressor); the per-row scores of all parts are pooled, so that a
    ranking made without some validation rows is judged on those rows alone.
    Standard errors are those of the per-row differences between removals
    (paired: every removal is scored on the same rows). Keeping every row
    comes with a warning that says why. The refits run in parallel with
    ``n_jobs`` (joblib).
    """
    n_rows = present.sum()
    lengths = removal_lengths(n_rows)

    def kept(ranked, length):
        keep = present.copy()
        keep[ranked[:length]] = False
        return keep

    scored = Parallel(n_jobs=n_jobs)(
        delayed(_removal_scores)(make_estimator, X, y, kept(ranked, length), X_score, y_score)
        for ranked, X_score, y_score in parts for length in lengths
    )
    # one array per length, the parts' rows one after the other
    scores = [np.concatenate(scored[position::len(lengths)]) for position in range(len(lengths))]
    chosen, top, error = first_within_one_se(scores)
    clear, error_of_keeping = beats_keeping_every_row(scores, top, min_z)
    if chosen and clear:
        return lengths[chosen]
    means = [score.mean() for score in scores]
    measure, sign = (("accuracy", 1) if predicts_classes(make_estimator(), y)
                     else ("mean squared error", -1))
    rows = (f"the {len(scores[0])} validation rows of tasks with two or more of them"
            + (" (each scored by a ranking made without it)" if len(parts) > 1 else ""))
    if top == 0:
        why = f"no removal scored better on {rows}"
    else:
        how_close = (
            f"within one standard error ({error:.2g})" if not chosen else
            f"less than {min_z:g} standard errors ({error_of_keeping:.2g}) apart"
        )
        why = (
            f"removing the {lengths[top] / n_rows:.1%} lowest ranked rows scored {measure} "
            f"{sign * means[top]:.4g} on {rows} against {sign * means[0]:.4g} without "
            f"removal, {how_close}"
        )
    warnings.warn(
        f"removal_ratio='auto' keeps every row: {why}. Pass a number as removal_ratio "
        "to remove rows anyway.",
        UserWarning,
    )
    return 0
