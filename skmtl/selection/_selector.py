"""MTIF-guided data selection as a scikit-learn transformer (and imbalanced-learn sampler)."""

import copy
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import TransformerTags, _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import column_or_1d, has_fit_parameter
from tqdm.auto import tqdm

from ..base import keep_state_on_error, validation_given
from ..compose import _input_task_col
from ..model_selection import TaskStratifiedKFold
from ..utils import (
    check_result_memory, check_task_X, encode_fitted_tasks, missing_task_mask, normalize_task_labels,
    preview_labels, resolve_task_col, task_labels,
)
from ..utils._tasks import feature_spread, final_step, quiet_inner_task_warnings, warn_if_unlike_training
from ._auto import (
    CLEAR_GAIN_Z,
    label_noise_removal_count,
    lowest,
    lowest_keeping_every_class,
    moves_the_balance_away,
    proposed_removal_on_validation,
    removal_length_on_validation,
    removal_lengths,
)
from ._noise import checked_class_prior, estimate_label_noise, predicts_classes, rerank_without_suspects
from ._output import SelectorOutputMixin
from ._ranking import draw_splits, measure_influence, target_task_weights

# removal_ratio="auto" with "influence" and validation data: folds of the
# validation rows (the best removal must beat keeping every row by CLEAR_GAIN_Z
# standard errors on the rows its ranking did not see)
_VALIDATION_FOLDS = 5


def _rows_that_can_be_held_out(task_sizes):
    """Rows of the tasks with at least two: a task's only row is never held out."""
    return int(task_sizes[task_sizes >= 2].sum())


# fewer validation rows judging a removal than this make it fragile: on 48 (the
# cancer data of survival, 50 trusted rows) removal_ratio="auto" removed 30 % of the
# rows at one random_state and none at two others
FEW_JUDGING_ROWS = 100


def _warn_if_few_judged(n_removed, n_judging):
    """Warn where rows go on the evidence of few validation rows."""
    if n_removed and n_judging < FEW_JUDGING_ROWS:
        warnings.warn(
            f"removal_ratio='auto' removes {n_removed} rows on the evidence of {n_judging} "
            f"validation rows (of tasks with two or more of them), fewer than "
            f"{FEW_JUDGING_ROWS}: so few rows let chance decide, and another random_state may "
            "remove other rows or none. A few hundred trusted rows make the choice steadier.",
            UserWarning,
        )


def _check_targets_given(y):
    """Refuse targets that are missing (NaN, None, pandas NA) or infinite."""
    bad = missing_task_mask(y)
    if y.dtype.kind in "fc":
        bad |= ~np.isfinite(y)
    if bad.any():
        raise ValueError(
            f"y is missing or infinite in {bad.sum()} of its {len(y)} rows (the first at "
            f"position {np.flatnonzero(bad)[0]}): the selector judges each row's given "
            "target, so remove those rows or impute their targets before selecting."
        )


class MTIFSelector(SelectorOutputMixin, BaseEstimator):
    """Drop the training rows that hurt the model, inside a scikit-learn pipeline.

    The selector ranks the training rows and removes the lowest ranked, in
    one of two ways:

    * **without clean data** (the default when ``fit`` gets no validation
      data): ``strategy="label-noise"`` ranks rows by the probability that
      their target is right, learnt from the noisy data alone by
      :func:`~skmtl.selection.estimate_label_noise` (a noise model around
      ``estimator``, each row judged by models that did not see it);
    * **against validation data you trust** (``fit(X, y, X_val=, y_val=)``):
      ``"label-noise"`` with the validation rows trusted (the default: they
      show the noise model which way the targets went wrong), or
      ``strategy="influence"``, the MTIF paper's data selection, which ranks
      rows by their total influence on all tasks' validation losses (the sum
      over target tasks of ``estimator.influence``, optionally weighted).

    ``removal_ratio="auto"`` (the default) decides how many: with the noise
    model, the estimated share of corrupted rows, but only where removing it
    clearly raises an estimate of the clean score on held-out folds (else it
    keeps every row and warns). With validation data every removal is judged
    on validation rows its ranking did not see: it is made again without
    each of 5 task-stratified folds of the validation rows and judged on
    that fold (paired over its rows), and rows go only where it beats
    keeping every row by two standard errors there (a warning says why when
    none do). For classes the noise model trusting the validation rows first
    proposes as many rows as it expects corrupted, ranked again without
    them: a model fitted without these suspects, with the trusted rows,
    predicts every row out of fold, read through the noise model's class
    matrix, and its lowest become the suspects, for up to 5 rounds (a model
    fitted on the flipped rows bends toward those near its boundary, the
    ones that cost most); they go if they lower the Brier score clearly and
    do not lower accuracy. Otherwise, and for ``"influence"``, shares of 0,
    2.5, 5, 10, 15, 20 and 30 % of the ranking are judged by accuracy
    (squared error for a regressor), and the smallest share within one
    standard error of the best goes. Judged on the rows that made the
    ranking, removals look better than they are, and lost accuracy on clean
    data (see the user guide). A regressor's noise model is the exception:
    its gross errors stand out on the rows it trusted too, and it takes the
    smallest of those shares whose refitted model's squared error on the
    validation rows is within one standard error of the best (judged on
    unseen folds it kept less of the gain).

    In a :class:`~sklearn.pipeline.Pipeline`, ``fit_transform`` marks the
    removed rows by setting their task label to missing (NaN, or None for
    object/string task columns), and the skmtl estimator that follows fits
    without them; ``transform`` (at predict and score time) returns ``X``
    unchanged. **It must therefore sit directly in front of a skmtl
    estimator** (or any estimator that ignores rows with a missing task
    label); the steps in between must keep those rows' labels missing. Most
    scikit-learn estimators there fail with ``ValueError: Input X contains
    NaN``; those that take missing values (``HistGradientBoosting*``, trees)
    read the missing label as a missing feature and fit the removed rows
    too, without a word. For any other estimator, drop the rows with
    :meth:`fit_resample` (``sampler=True`` inside an
    :class:`imblearn.pipeline.Pipeline`).

    Parameters
    ----------
    estimator : estimator
        The model that ranks the rows, cloned before use; pass the model you
        will fit after the selector (with its tuned ``alpha``) for the ranking
        to describe that model. ``"label-noise"`` needs ``fit(X, y,
        sample_weight=...)`` and, for classes, ``predict_proba`` (any
        scikit-learn classifier or regressor that takes weights, or a
        pipeline whose last step does: the weights go to that step).
        ``"influence"`` needs ``influence(X_val, y_val)`` returning
        ``(n_fit_rows, n_tasks)`` scores with columns following ``tasks_``
        and positive entries for helpful rows, as the skmtl estimators do.
        A ``task_col`` parameter of it is set to the selector's; one that
        names another column of ``X`` is refused.
    removal_ratio : float or "auto", default="auto"
        Fraction of the training rows (those with a task label) to remove,
        in [0, 1): ``floor(removal_ratio * n_rows)`` rows, fewer where only
        the last row of a class would be left to remove (a classifier keeps
        every class); or ``"auto"`` (above). ``"auto"`` needs
        ``strategy="label-noise"`` or validation data.
    strategy : {"auto", "label-noise", "influence", "random"}, default="auto"
        ``"auto"``: ``"label-noise"``, with or without validation data (with
        it, its removals lost more than 0.1 point in none of the study's 53
        classification settings and gained more in sum than the influence
        ranking's; see the user guide). ``"influence"`` without validation
        data scores against held-out parts of the (noisy) training data (``cv``,
        ``validation_fraction``); where labels are noisy this ranks
        corrupted rows poorly (see the user guide). ``"random"`` removes as
        many rows drawn at random (a baseline; no model is fitted).
    noise_kind : {"auto", "alike", "class-conditional"}, default="auto"
        ``"label-noise"``, classes only: the kind of noise the noise model
        fits (:func:`~skmtl.selection.estimate_label_noise`). ``"auto"``
        chooses from the data (``label_noise_.noise_kind``); name it where
        you know how the labels went wrong.
    class_prior : dict or array-like of shape (n_classes,), default=None
        ``"label-noise"`` with ``removal_ratio="auto"``, classes, no
        validation data: the true share of each class, where you know it (a
        prevalence, a base rate): a dict maps every class label to its
        share, an array follows the sorted labels (as ``classes_`` of
        scikit-learn classifiers). Noisy labels alone cannot tell a class
        whose rows were partly labelled as another from features that place
        no row surely in that class. Where the noise model reads
        class-conditional noise whose implied class balance is closer to
        ``class_prior`` than the given labels' balance is, it fits the
        transition matrix again among those that turn ``class_prior`` into
        the given balance, and the removal goes on that reading (on weak
        features too); where the reading moves the balance away from
        ``class_prior``, every row is kept (noise read as alike for every
        class is not checked against it, with a warning that says so, and
        ``noise_kind="alike"`` ignores it with a warning). None (the default) removes a
        class-conditional reading only where the features rank the given
        labels with an out-of-fold AUC of 0.75 or more, and warns the
        balance it assumes.
    target_weights : dict or array-like of shape (n_tasks,), default=None
        ``"influence"`` only (other strategies ignore it, with a warning).
        Weight of each target task in the total influence. None weights all
        tasks equally (the paper's total influence). A dict maps task labels
        to weights (tasks not listed get weight 0, so ``{"a": 1}`` selects the
        rows that help task ``"a"``); an array follows the sorted task labels
        (``tasks_``). Weights must be non-negative, not all zero.
    step : float or None, default=None
        ``"influence"`` only (other strategies ignore it, with a warning).
        Re-score as rows go: remove ``max(1, floor(step * n_rows))`` rows
        (``n_rows``: those with a task label) at a time, then refit the
        estimator on the rows left and score them again, until
        ``removal_ratio`` is reached, the way
        :class:`~sklearn.feature_selection.RFE` removes features. The
        first-order influence describes small changes to the fitted model;
        after a large removal the model, and the ranking, move. None removes
        every row from one scoring, as the MTIF paper does. Each round costs
        one scoring (``n_rounds_``). The selector's own folds (int ``cv``) and
        held-out part are drawn afresh each round, splits given as ``cv``
        once; either is restricted to the rows left. With
        ``removal_ratio="auto"`` and validation data the rounds run to the
        largest share tried (30 %); a smaller share removes the first rows of
        that sequence, exactly the rows a run to that share removes.
    cv : int, cross-validation generator or iterable, default=5
        Folds of the out-of-fold estimates. ``"label-noise"``: the number of
        :class:`~skmtl.model_selection.TaskStratifiedKFold` folds (an int).
        ``"influence"`` without validation data (cross-fitting): for each
        split, the estimator is fitted on the training part and its rows are
        scored against the held-out part; a row's influence is the mean over
        the splits where it was fitted. An int is the number of folds of
        :class:`~skmtl.model_selection.TaskStratifiedKFold` (shuffled with
        ``random_state``); when fewer rows can be held out (a task's only row
        never is), as many folds as rows, with a warning.
    validation_fraction : float or None, default=None
        ``"influence"`` only. If set, score against a single task-stratified
        held-out part of this share of the rows instead of cross-fitting: one
        fit instead of ``cv``, but the held-out rows are never scored and
        always kept.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.
    sampler : bool, default=False
        Set to True inside an :class:`imblearn.pipeline.Pipeline`:
        imbalanced-learn refuses steps that offer both ``transform`` and
        ``fit_resample``, so True hides ``transform`` and ``fit_transform``.
        ``fit_resample`` is available either way.
    n_jobs : int, default=None
        Number of folds fitted in parallel (joblib); with
        ``removal_ratio="auto"`` and validation data, also the refits that
        judge each share.
    random_state : int, RandomState instance or None, default=None
        Seed of the folds, the held-out part and the random strategy. With a
        fixed seed the whole selection is reproducible.
    verbose : int, default=0
        Show progress bars over the folds and rounds when positive.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_kept,)
        Indices of the kept rows of the ``X`` given to ``fit``. Rows with a
        missing task label in that ``X`` count as neither kept nor removed.
    removal_ratio_ : float
        The share of the rows (those with a task label) removed.
    strategy_ : str
        The strategy used (``"auto"`` resolved).
    scores_ : ndarray of shape (n_samples,)
        The ranking score; the lowest are removed (within each round with
        ``step``). ``"label-noise"``: the probability that the row's target is
        right (for a classifier with ``removal_ratio="auto"`` and validation
        data whose suspects went, as ranked again without them;
        ``label_noise_`` keeps the noise model's own). ``"influence"``: the
        weighted total influence. ``"random"``: random draws. NaN for rows
        that cannot be removed.
    label_noise_ : :class:`~sklearn.utils.Bunch` or None
        With ``"label-noise"``, what :func:`estimate_label_noise` returned
        (the estimated ``noise_rate``, the class ``transition`` matrix, the
        ``evidence`` of noise); else None.
    influence_ : ndarray of shape (n_samples, n_tasks) or None
        With ``"influence"``, the influence of each row of ``X`` on each
        task's held-out loss, columns following ``tasks_``; positive = the row
        helps. NaN for rows never scored (held-out rows with
        ``validation_fraction``, rows with a missing task label) and tasks
        never held out. With ``step``, each row's latest score: a removed
        row's from the round that removed it, a row not scored in a later
        round (held out then) its earlier one. None with the other
        strategies, and when the ``(n_samples, n_tasks)`` array would exceed
        skmtl's ``max_result_memory`` (:func:`skmtl.config_context`): the
        rows are then ranked by the mean over the splits of their weighted
        total (the estimator's ``influence_total``), with a warning.
    n_rounds_ : int
        Number of scorings made: 1 without ``step`` (0 with
        ``strategy="random"`` or when no row could be held out); with
        ``removal_ratio="auto"`` and validation data, those of the ranking
        against all of it (the rankings of its folds are not counted): for
        a classifier's noise model whose suspects went, 1 plus its rounds
        without them.
    tasks_ : ndarray of shape (n_tasks,)
        Sorted task labels of the rows of ``X``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    estimate_label_noise : The noise model behind ``"label-noise"``.
    fewest_removed_within_one_se : Refit rule for ``GridSearchCV`` over the ratio.
    skmtl.model_selection.TaskStratifiedKFold : The default folds.

    Notes
    -----
    Which scoring to use when (``benchmarks/RESULTS.md`` has the study):
    without clean labels, ``"label-noise"``: it ranks corrupted rows as well
    as out-of-fold confidence where noise flips every class alike, and far
    better where it flips one class into another (class-conditional noise),
    where plain confidence fails. With a validation set you trust,
    ``"label-noise"`` again, its rows trusted; ``"influence"`` against it,
    the MTIF paper's setting, gained less in the study. Influence measured
    against noisy held-out labels (``"influence"`` without validation data)
    ranks corrupted rows little better than chance: a model whose outputs
    the flipped rows shrink fits noisy held-out labels better, so those rows
    look helpful.

    Finding corrupted rows and gaining accuracy from their removal are not
    the same: removing the least confident rows also removes clean rows near
    the decision boundary. ``removal_ratio="auto"`` therefore removes only
    where held-out folds say it raises the estimated clean score (3
    task-stratified folds, the rows ranked again on each training part, a
    one-sided paired test), and how clear the gain must be follows the kind
    of noise (``label_noise_.noise_kind``). Class-conditional noise moves the
    decision boundary and removing the flips moves it back: a gain of the
    estimated clean score on average suffices (p < 0.5), where the balanced
    accuracy on the given labels, which needs no estimated transition matrix
    (a wrong one confirms itself), gains clearly (p < 0.05), or, where the
    estimated clean score gains beyond chance (p < 1e-4), does not clearly
    fall (removing rows of one class turned into the other raises accuracy
    while the balanced accuracy on the given labels can stay flat); where
    the matrix reads 45 % or more of some class as flipped, the gain beyond
    chance is needed in any case (such a reading can be the features'
    weakness read as flips, and removing them raises the balanced accuracy
    while accuracy falls); and where more of the 2 % of rows the features
    place surest in some class are labelled with it than the matrix allows
    (one-sided binomial p < 0.01), the matrix is wrong and nothing is
    removed. Noisy labels cannot tell a class-conditional reading from
    features that place no row surely in the class read as hidden, so
    without a known class balance nothing is removed on it where the
    features rank the given labels below an out-of-fold AUC of 0.75
    (``label_noise_.plain_auc``), and a removal warns the true share of the
    class read as hidden that it assumes, against the given share. Where
    you know the true class balance give it as ``class_prior``: the removal
    then goes only where the balance the reading implies comes closer to
    it, with the matrix fitted to it. Noise is
    called class-conditional only where the features predict the given labels
    clearly better than each task's most frequent label (otherwise the
    noise rates cannot be told from the class balance), and not where the
    estimated matrix reads at least 12.5 % of every class as flipped, the
    sign that the features leave room for noise both ways, not which way it
    went (with ``noise_kind="class-conditional"`` named, nothing is removed
    on such a matrix without validation data). Noise that flips
    every class alike leaves the best classifier where it was, and a linear
    model often loses more from the clean rows removed than it gains: the
    gain must be clear (p < 0.01); where the features do not beat each
    task's most frequent label either, the warning says that the labels
    cannot tell which class's rows to suspect
    (``label_noise_.beats_majority_p_value``). Outliers of a measurement may
    not pull the fit (p < 0.1).

    Without validation data, rows can only be held out in tasks with at
    least two rows. When no task has two rows (every row its own task, as
    when ``task_col`` names a feature by mistake) it warns and keeps every
    row, so that a pipeline still runs, as
    :class:`~sklearn.feature_selection.SelectKBest` keeps every feature when
    asked for more than there are. A task's only row is never judged nor
    removed by ``"label-noise"`` (``"random"`` draws from every row).

    With ``"influence"``, a row the scoring model did not fit scores 0
    (removing it changes nothing to first order), so it ranks in the middle
    and is rarely removed. Models that hold rows out internally, such as
    ``SharedBottomNet(early_stopping=True)``, therefore judge those rows
    not at all and remove them only at large ratios (past the rows that
    score below 0); score with ``early_stopping=False``.

    The pipeline and the model fitted on the kept rows alone agree exactly:
    ``make_pipeline(selector, est).fit(X, y)`` gives the same ``est`` as
    ``est.fit(X[selector.sample_indices_], y[selector.sample_indices_])``.

    The selector takes no ``sample_weight``: it ranks and counts every row
    with a task label alike (the ``"label-noise"`` strategy weighs rows
    itself). Drop the rows you mean to ignore (weight 0) before it; with
    scikit-learn's metadata routing, weights requested by the estimator
    after it reach that estimator only.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from skmtl import MultiTaskLogistic
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.selection import MTIFSelector
    >>> X, y = make_multitask_classification(n_tasks=4, n_samples=300, n_features=5, random_state=1)
    >>> rng = np.random.default_rng(1)
    >>> flipped = (y == 1) & (rng.random(len(y)) < 0.3)    # 30 % of positives read 0
    >>> y[flipped] = 0
    >>> pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), random_state=0), MultiTaskLogistic())
    >>> selector = pipe.fit(X, y)[0]
    >>> selector.strategy_, round(selector.removal_ratio_, 2), float(round(flipped.mean(), 2))
    ('label-noise', 0.11, 0.16)
    >>> removed = np.setdiff1d(np.arange(len(y)), selector.sample_indices_)
    >>> float(round(flipped[removed].mean(), 2))           # 4 times the corruption rate
    0.65
    >>> selector = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, random_state=0)
    >>> Xt = selector.fit_transform(X, y)                  # removed rows lose their task
    >>> int(np.isnan(Xt[:, -1]).sum())
    120
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "removal_ratio": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "strategy": [StrOptions({"auto", "label-noise", "influence", "random"})],
        "noise_kind": [StrOptions({"auto", "alike", "class-conditional"})],
        "class_prior": [dict, "array-like", None],
        "target_weights": [dict, "array-like", None],
        "step": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "cv": ["cv_object"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "task_col": [numbers.Integral, str],
        "sampler": ["boolean"],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        removal_ratio="auto",
        *,
        strategy="auto",
        noise_kind="auto",
        class_prior=None,
        target_weights=None,
        step=None,
        cv=5,
        validation_fraction=None,
        task_col=-1,
        sampler=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.removal_ratio = removal_ratio
        self.strategy = strategy
        self.noise_kind = noise_kind
        self.class_prior = class_prior
        self.target_weights = target_weights
        self.step = step
        self.cv = cv
        self.validation_fraction = validation_fraction
        self.task_col = task_col
        self.sampler = sampler
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @keep_state_on_error
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Score the rows of ``X`` and choose the ones to keep.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features plus the task column (``task_col``).
        y : array-like of shape (n_samples,)
        X_val, y_val : array-like, default=None
            Validation data (with the task column) to measure the influence
            against, as in the MTIF paper: the estimator is fitted once on
            all of ``X`` (with ``step``, once per round on the rows left)
            and every row is scored; ``cv`` and ``validation_fraction`` are
            then ignored. ``"label-noise"``: its rows are trusted
            (``X_clean`` of :func:`~skmtl.selection.estimate_label_noise`).
            With ``removal_ratio="auto"`` the rows are ranked again with 4
            of 5 folds of it, to judge the removals on the fifth (but for a
            regressor's noise model; see the class docstring). Some of its
            task labels must be tasks of ``X``; its rows of other tasks are
            left out, with a warning. In a pipeline pass them as
            ``mtifselector__X_val=`` / ``mtifselector__y_val=`` (they skip
            the steps before the selector, and ``GridSearchCV`` slices fit
            arguments as long as ``X``).

        Returns
        -------
        self
        """
        self._validate_params()
        validation_given(X_val, y_val)  # both or neither, whatever the strategy
        features, labels = check_task_X(self, X, reset=True)
        self._check_estimator_task_col()
        y = column_or_1d(y, warn=True)
        if len(y) != len(labels):
            raise ValueError(f"X has {len(labels)} rows but y has {len(y)}; they must match.")
        _check_targets_given(y)
        present = ~missing_task_mask(labels)
        if not present.any():
            raise ValueError("Every row of X has a missing task label; nothing to select from.")
        self.tasks_, task_sizes = np.unique(normalize_task_labels(labels[present]), return_counts=True)
        n_held = _rows_that_can_be_held_out(task_sizes)
        weights = target_task_weights(self.target_weights, self.tasks_)
        rng = check_random_state(self.random_state)
        self.strategy_ = self._resolve_strategy(X_val is not None)
        class_prior = self._checked_class_prior(y[present], X_val is not None)
        if X_val is not None and self.strategy_ != "random":
            X_val, y_val = self._validation_of_training_tasks(X_val, y_val, features)
        self.influence_, self.label_noise_ = None, None
        n_rows = present.sum()
        auto = isinstance(self.removal_ratio, str)
        n_remove = 0 if auto else int(np.floor(self.removal_ratio * n_rows + 1e-9))
        with quiet_inner_task_warnings():  # X's task column was checked above, once
            if self.strategy_ == "random":
                self.scores_ = np.where(present, rng.uniform(size=len(y)), np.nan)
                self.n_rounds_ = 0
                removed = self._lowest(np.flatnonzero(present), n_remove, y, present)
            elif self.strategy_ == "label-noise":
                removed = self._remove_by_label_noise(X, y, X_val, y_val, n_held, present, n_remove,
                                                      rng, class_prior)
            elif auto:
                most = removal_lengths(n_rows)[-1]
                removed, _ = self._remove_judged_on_unseen_validation(
                    X, y, X_val, y_val, present,
                    lambda X_part, y_part: (None, self._remove_by_influence(
                        X, y, X_part, y_part, n_held, present, most, weights, rng)),
                    rng)
            else:
                removed = self._remove_by_influence(X, y, X_val, y_val, n_held, present, n_remove,
                                                    weights, rng)
        keep = present.copy()
        keep[removed] = False
        emptied = np.setdiff1d(self.tasks_, labels[keep])
        if len(emptied):
            warnings.warn(
                f"the selection removed every row of {len(emptied)} task(s) "
                f"{preview_labels(emptied)}: a model fitted after the selector sees none of "
                "their rows and predicts them as a task not seen in fit. Lower "
                "removal_ratio to keep them.",
                UserWarning,
            )
        self.sample_indices_ = np.flatnonzero(keep)
        self.removal_ratio_ = float(len(removed) / n_rows)
        self._removed = removed
        return self

    def _resolve_strategy(self, validation):
        strategy = "label-noise" if self.strategy == "auto" else self.strategy
        ignored = [name for name in ("step", "target_weights") if getattr(self, name) is not None]
        if ignored and strategy != "influence":
            verbs = ("applies", "is") if len(ignored) == 1 else ("apply", "are")
            warnings.warn(
                f"{' and '.join(ignored)} {verbs[0]} only to strategy='influence' and "
                f"{verbs[1]} ignored by strategy={strategy!r}"
                + (" (what strategy='auto' uses)" if self.strategy == "auto" else "")
                + ". Pass strategy='influence' to rank rows by their influence, or leave "
                f"{' and '.join(ignored)} out.",
                UserWarning,
            )
        last = final_step(self.estimator)[0]
        if strategy == "label-noise" and not has_fit_parameter(last, "sample_weight"):
            raise TypeError(
                f"strategy={strategy!r} (what strategy='auto' uses) fits the estimator with row "
                f"weights, and {type(last).__name__}.fit takes no sample_weight; use "
                "an estimator that does (every skmtl and most scikit-learn models), or "
                "strategy='influence' with validation data."
            )
        if strategy == "influence" and not hasattr(self.estimator, "influence"):
            raise TypeError(
                f"strategy={strategy!r} ranks rows by the estimator's influence, and "
                f"{type(self.estimator).__name__} has no influence method; use a skmtl "
                "estimator or strategy='label-noise'."
            )
        if not isinstance(self.removal_ratio, str):
            return strategy
        if strategy == "random" or (strategy == "influence" and not validation):
            raise ValueError(
                f"removal_ratio='auto' with strategy={strategy!r} has nothing to choose "
                "the ratio by: "
                + ("random scores say nothing of which rows are corrupted, with validation data "
                   "or without. " if strategy == "random" else
                   "it needs strategy='label-noise' (the estimated share of corrupted rows) or "
                   "validation data (fit(X, y, X_val=..., y_val=...)). ")
                + "Give removal_ratio a number, or tune it with GridSearchCV."
            )
        return strategy

    def _checked_class_prior(self, y, validation):
        """``class_prior`` as shares in the order of the sorted classes of ``y``,
        or None (with a warning where it is given but has no use)."""
        if self.class_prior is None:
            return None
        if not (self.strategy_ == "label-noise" and isinstance(self.removal_ratio, str)
                and predicts_classes(self.estimator, y) and not validation):
            why = (": it judges removal_ratio='auto' with strategy='label-noise' for a "
                   "classifier without validation data"
                   + (", and rows whose labels you trust decide the removal here" if validation
                      else "") + ". Leave class_prior out.")
        elif self.noise_kind == "alike":
            why = (" with noise_kind='alike': it checks and fits class-conditional noise only "
                   "(noise alike for every class reads no class as hidden). Leave class_prior "
                   "out, or let noise_kind='auto' choose the kind.")
        else:
            why = None
        if why:
            warnings.warn(f"class_prior is ignored{why}", UserWarning)
            return None
        return checked_class_prior(self.class_prior, np.unique(y))

    def _remove_by_label_noise(self, X, y, X_val, y_val, n_held, present, n_remove, rng,
                               class_prior):
        """Rank rows by the estimated probability that their target is right."""
        self.scores_ = np.full(len(y), np.nan)
        self.n_rounds_ = 0
        if not isinstance(self.cv, numbers.Integral):
            raise ValueError(
                f"strategy='label-noise' cross-fits its own task-stratified folds and "
                f"takes an int cv (the number of folds); got cv={self.cv!r}."
            )
        n_folds = self._n_own_folds(n_held)
        if n_folds == 0:
            return np.empty(0, dtype=np.intp)
        rows = np.flatnonzero(present)
        auto = isinstance(self.removal_ratio, str)

        def scored_rows(random_state=rng, **known):  # rows known to be right (or the class
            # balance) join the noise model
            self.label_noise_ = noise = estimate_label_noise(
                self._make_estimator(), _safe_indexing(X, rows), y[rows], cv=n_folds,
                task_col=self.task_col, n_jobs=self.n_jobs, random_state=random_state,
                verbose=self.verbose, noise_kind=self.noise_kind, **known,
            )
            self.scores_[rows] = noise.label_quality
            self.n_rounds_ = 1
            return rows[np.isfinite(noise.label_quality)]

        most = removal_lengths(len(rows))[-1]
        again = {}  # the last ranking again without the suspects: scores and rounds

        def suspects_and_ranking(X_trusted, y_trusted):
            """The rows the noise model expects corrupted, ranked again without
            them, and its own ranking (the lowest ``most``)."""
            # the rounds refit on the noise model's own folds, their seed drawn again
            # from a copy: ``rng`` draws as without them, so where the suspects are
            # refused the shares are judged exactly as they would be without the rounds
            same_folds = copy.deepcopy(rng)
            scored = scored_rows(X_clean=X_trusted, y_clean=y_trusted)
            n_suspects = int(round(np.sum(1 - self.scores_[scored])))
            again["scores"] = np.full(len(y), np.nan)
            again["scores"][rows], again["rounds"] = rerank_without_suspects(
                self._make_estimator(), _safe_indexing(X, rows), y[rows], self.label_noise_,
                n_suspects, cv=n_folds, task_col=self.task_col, random_state=same_folds,
                X_clean=X_trusted, y_clean=y_trusted, n_jobs=self.n_jobs, verbose=self.verbose,
            )
            ranked_again = rows[np.isfinite(again["scores"][rows])]
            return (lowest_keeping_every_class(again["scores"], ranked_again, n_suspects, y, present),
                    self._lowest(scored, most, y, present))

        # a regressor's gross errors stand out on the trusted rows too: judged on
        # unseen folds, its removals kept 78 % of the gain (benchmarks/RESULTS.md)
        if X_val is not None and auto and predicts_classes(self.estimator, y):
            removed, suspected = self._remove_judged_on_unseen_validation(
                X, y, X_val, y_val, present, suspects_and_ranking, rng)
            if suspected:
                self.scores_, self.n_rounds_ = again["scores"], 1 + again["rounds"]
            return removed
        if X_val is not None:
            scored = scored_rows(X_clean=X_val, y_clean=y_val)
        elif class_prior is None:
            scored = scored_rows()
        else:
            # the known balance fits the matrix where the noisy labels alone read one class
            # turned into another toward it (the fit on a copy of the random state, so
            # that the fit with the balance draws the same folds as it would alone)
            scored = scored_rows(random_state=copy.deepcopy(rng))
            if self.label_noise_.noise_kind != "class-conditional":
                warnings.warn(
                    "class_prior is not used: the noise model reads the noise as alike for "
                    "every class, which hides no class in another; class_prior checks and fits "
                    "only readings of one class turned into another.",
                    UserWarning,
                )
            elif not moves_the_balance_away(self.label_noise_, y[rows], class_prior):
                scored = scored_rows(class_prior=class_prior)
        if X_val is not None and auto:
            ranked = self._lowest(scored, most, y, present)
            removed = ranked[:removal_length_on_validation(
                self._make_estimator, X, y, present, [(ranked, X_val, y_val)],
                n_jobs=self.n_jobs)]
            _warn_if_few_judged(len(removed), len(y_val))
            return removed
        if auto:
            n_remove = label_noise_removal_count(
                self._make_estimator, _safe_indexing(X, rows), y[rows], self.label_noise_,
                n_folds=n_folds, task_col=self.task_col, n_jobs=self.n_jobs,
                class_prior=class_prior,
            )
        if n_remove > len(scored):
            raise ValueError(
                f"removal_ratio={self.removal_ratio} asks to remove {n_remove} rows, but "
                f"only {len(scored)} rows could be held out and scored (a task's only row "
                "never is). Lower removal_ratio."
            )
        return self._lowest(scored, n_remove, y, present)

    def _remove_by_influence(self, X, y, X_val, y_val, n_held, present, n_remove, weights, rng):
        """Score, remove the lowest, and (with ``step``) repeat on the rows left."""
        n_rows = present.sum()
        per_round = max(1, n_remove if self.step is None else int(np.floor(self.step * n_rows + 1e-9)))
        # splits a user gave are drawn once (a generator is used up by one pass)
        given_splits, n_folds = None, None
        own = dict(cv=self.cv, validation_fraction=self.validation_fraction, task_col=self.task_col)
        totals_only = self._totals_only(len(y))
        self.influence_ = None if totals_only else np.full((len(y), len(self.tasks_)), np.nan)
        self.scores_ = np.full(len(y), np.nan)
        self.n_rounds_ = 0
        if X_val is None:
            if self.validation_fraction is None and not isinstance(self.cv, numbers.Integral):
                given_splits = draw_splits(X, y, rng, **own)
            else:
                n_folds = self._n_own_folds(n_held)
                if n_folds == 0:
                    return np.empty(0, dtype=np.intp)
        remaining, removed = present.copy(), []
        n_rounds = max(1, -(-n_remove // per_round))  # ceil
        rounds = tqdm(total=n_rounds, disable=not self.verbose or n_rounds == 1,
                      desc="MTIFSelector rounds")
        while self.n_rounds_ == 0 or len(removed) < n_remove:
            if X_val is not None:
                splits = [(np.flatnonzero(remaining), None)]
            else:  # the user's splits once; the selector's own afresh each round
                splits = (given_splits if given_splits is not None
                          else draw_splits(X, y, rng, n_folds=n_folds, **own))
            rows = np.flatnonzero(remaining)
            influence = measure_influence(
                self._make_estimator(), X, y, X_val, y_val, splits, remaining, self.tasks_,
                weights=weights if totals_only else None, every_class=predicts_classes(self.estimator, y),
                n_jobs=self.n_jobs, verbose=self.verbose, leave=self.step is None,
            )[rows]
            # rows not scored this round keep their last scores
            if totals_only:
                rows, influence = rows[np.isfinite(influence)], influence[np.isfinite(influence)]
                self.scores_[rows] = influence
            else:
                scored = np.isfinite(influence)
                rows, scored, influence = (a[scored.any(axis=1)] for a in (rows, scored, influence))
                self.influence_[rows] = influence
                self.scores_[rows] = np.where(scored, influence, 0.0) @ weights
            self.n_rounds_ += 1
            n_drop = min(per_round, n_remove - len(removed))
            if n_drop > len(rows):
                why = (
                    "the held-out rows are not scored. Lower removal_ratio or use "
                    "cross-fitting (cv)"
                    if self.validation_fraction is not None
                    else "rows in no training part of the cv splits, or only in those whose "
                    "held-out part has no row of their tasks, are not scored. Lower "
                    "removal_ratio or use splits whose training parts cover every row"
                )
                raise ValueError(
                    f"removal_ratio={self.removal_ratio} asks to remove {n_remove} of "
                    f"{n_rows} rows, but scoring {self.n_rounds_} scored only {len(rows)} "
                    f"of the {remaining.sum()} rows left ({why})."
                )
            dropped = self._lowest(rows, n_drop, y, remaining)
            removed.extend(dropped)
            remaining[dropped] = False
            rounds.update()
            if not len(dropped):  # only the last rows of classes are left to remove
                break
        rounds.close()
        return np.asarray(removed, dtype=np.intp)

    def _lowest(self, candidates, n, y, kept):
        """The ``n`` candidates of lowest ``scores_``; for a classifier, never the
        last row of a class among the rows ``kept``."""
        if predicts_classes(self.estimator, y):
            return lowest_keeping_every_class(self.scores_, candidates, n, y, kept)
        return lowest(self.scores_, candidates, n)

    def _totals_only(self, n_samples):
        """Whether ``influence_`` (n_samples x n_tasks) would exceed skmtl's
        ``max_result_memory``, so that rows are ranked by the estimator's
        ``influence_total`` and ``influence_`` is not kept (with a warning)."""
        has_totals = hasattr(self.estimator, "influence_total")
        instead = (
            "influence_ is not kept (None) and the rows are ranked by each one's weighted "
            f"total influence ({type(self.estimator).__name__}.influence_total), which needs "
            "no n_samples x n_tasks array" if has_totals else
            f"{type(self.estimator).__name__} has no influence_total to rank the rows by "
            "their totals instead"
        )
        try:
            check_result_memory(
                n_samples * len(self.tasks_), f"influence_ ({n_samples} x {len(self.tasks_)})",
                instead,
            )
        except MemoryError as exc:
            if not has_totals:
                raise
            warnings.warn(str(exc), UserWarning)
            return True
        return False

    def _check_estimator_task_col(self):
        """Refuse an estimator whose own ``task_col`` names another column of X:
        the selector reads X's task column by its own and sets the estimator's
        to it, so the estimator's would be overridden without a word."""
        own = _input_task_col(self.estimator)
        if isinstance(own, numbers.Integral) and own == -1:  # the default: the selector's is used
            return
        try:
            same = resolve_task_col(own, self.n_features_in_, getattr(self, "feature_names_in_", None))
        except ValueError:
            same = None
        if same != self._task_col_index:
            raise ValueError(
                f"The estimator reads the task column task_col={own!r}, but the selector reads "
                f"task_col={self.task_col!r} and would fit the estimator with it. Give the selector "
                f"the same: MTIFSelector(..., task_col={own!r}).")

    def _make_estimator(self):
        est = clone(self.estimator)
        if "task_col" in est.get_params():
            est.set_params(task_col=self.task_col)
        return est

    def _remove_judged_on_unseen_validation(self, X, y, X_val, y_val, present, rank, rng):
        """``removal_ratio="auto"`` with validation data: removals judged on
        each of 5 task-stratified folds of the validation rows by rankings
        made without that fold.

        ``rank(X_part, y_part)`` returns ``(proposed, ranked)``, made with the
        validation rows given (the ranking with all of them, made last, sets
        the fitted attributes): rows proposed ahead of the evidence (None for
        none) and the rows to remove first, most harmful first. The proposed
        rows go where removing them clearly lowers the Brier score on the
        unseen folds and does not lower accuracy there
        (:func:`proposed_removal_on_validation`); otherwise the ranking is cut
        where the shares clearly gain there. Judged on the rows that made it,
        a ranking's removals look better than they are (on clean data they
        lost accuracy). Returns the rows and whether they are the proposed
        ones."""
        _, sizes = np.unique(task_labels(X_val, self.task_col)[0], return_counts=True)
        n_folds = min(_VALIDATION_FOLDS, _rows_that_can_be_held_out(sizes))
        parts = []
        if n_folds >= 2:
            folds = TaskStratifiedKFold(n_folds, shuffle=True, random_state=rng.randint(2**31),
                                        task_col=self.task_col).split(X_val, y_val)
            for train, test in folds:
                parts.append((rank(_safe_indexing(X_val, train), y_val[train]),
                              _safe_indexing(X_val, test), y_val[test]))
        proposed, ranked = rank(X_val, y_val)
        if not parts:
            warnings.warn(
                "removal_ratio='auto' keeps every row: fewer than two validation rows share "
                "a task, so no removal can be judged on validation rows its ranking did not "
                "see. Pass a number as removal_ratio to remove rows anyway.",
                UserWarning,
            )
            return ranked[:0], False
        n_judging = sum(len(y_score) for _, _, y_score in parts)
        if proposed is not None and proposed_removal_on_validation(
                self._make_estimator, X, y, present,
                [(rows, X_score, y_score) for (rows, _), X_score, y_score in parts],
                n_jobs=self.n_jobs):
            _warn_if_few_judged(len(proposed), n_judging)
            return proposed, True
        parts = [(ranking, X_score, y_score) for (_, ranking), X_score, y_score in parts]
        removed = ranked[:removal_length_on_validation(
            self._make_estimator, X, y, present, parts, min_z=CLEAR_GAIN_Z,
            n_jobs=self.n_jobs)]
        _warn_if_few_judged(len(removed), n_judging)
        return removed, False

    def _validation_of_training_tasks(self, X_val, y_val, features):
        """The rows of ``X_val`` and ``y_val`` of tasks seen in ``X``; a warning
        naming the others, an error when there are no such rows (``features``:
        those of ``X``, to tell an ``X_val`` that skipped a pipeline's steps)."""
        val_features, labels = check_task_X(self, X_val, reset=False, input_name="X_val")
        warn_if_unlike_training(
            self, feature_spread(features), val_features,
            fix="In a pipeline, mtifselector__X_val skips the steps before the selector: "
                "transform it with them first (pipe[:i].transform(X_val) for the selector at "
                "step i).")
        y_val = column_or_1d(y_val, warn=True)
        if len(y_val) != len(labels):
            raise ValueError(
                f"X_val has {len(labels)} rows but y_val has {len(y_val)}; they must match.")
        known = encode_fitted_tasks(labels, self.tasks_, rows="rows of X_val") >= 0
        if not known.any():
            labels = np.unique(labels[~missing_task_mask(labels)])
            given = preview_labels(labels) if len(labels) else "(none given)"
            raise ValueError(
                f"None of the task labels of X_val {given} is a task of X "
                f"{preview_labels(self.tasks_)}: the rows are judged on validation rows of "
                "the tasks the model is fitted on. Give X_val rows of the training tasks, "
                "with the same labels and task_col as X."
            )
        if not known.all():  # named only when some rows are left to judge on
            encode_fitted_tasks(labels, self.tasks_, rows="rows of X_val",
                                fitted="the tasks of X", unseen="warn",
                                consequence="the selector leaves them out.")
        judged = np.flatnonzero(known)
        return _safe_indexing(X_val, judged), y_val[judged]

    def _n_own_folds(self, n_held):
        """Folds for the selector's own splits: ``cv``, fewer (with a warning) when
        fewer rows (``n_held``) can be held out, 0 (and a warning: every row is
        kept) when none can."""
        if n_held == 0:
            warnings.warn(
                "No task of X has two rows, so no row can be held out and scored by a "
                "model that did not see it, and every row is kept. Check that task_col "
                f"({self.task_col!r}) is the task column, or pass validation data: "
                "fit(X, y, X_val=..., y_val=...).",
                UserWarning,
            )
            return 0
        if self.validation_fraction is None and n_held < self.cv:
            warnings.warn(
                f"Only {n_held} rows of X can be held out (a task's only row never is), "
                f"fewer than cv={self.cv}: cross-fitting with {n_held} folds.",
                UserWarning,
            )
            return n_held
        return self.cv

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a sampler (sampler=True) hides transform: scikit-learn must not check it as a transformer
        tags.transformer_tags = None if self.sampler else TransformerTags()
        tags.target_tags.required = True
        return tags
