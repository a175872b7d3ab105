"""Out-of-fold estimates of which training rows carry corrupted targets."""

import numbers

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import gammaln, logsumexp
from scipy.stats import norm
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.metrics import roc_auc_score
from sklearn.utils import Bunch, _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_features, column_or_1d
from tqdm.auto import tqdm

from ..linear_model._base import MultiTaskLinearModel
from ..model_selection import TaskStratifiedKFold
from ..utils import infer_target_kind, preview_labels, task_labels
from ..utils._tasks import final_step, final_step_param, quiet_inner_task_warnings

_TINY = 1e-12
# pseudo-rows that shrink a task's inlier spread toward the pooled one
_PRIOR_ROWS = 5
# how clearly the features must beat each task's most frequent label before
# noise is called class-conditional (one-sided paired test over rows)
BEATS_MAJORITY_LEVEL = 0.1
# a full matrix that reads at least this share of every class as flipped: where the
# features are weak the plain model leaves room for noise both ways and the fit fills
# both, so the matrix cannot tell which class was read as which; removals on such
# matrices all lost on development data (CES11 and smoking, 12 seeds, 1 to 37 points)
CLASS_CONDITIONAL_MAX_SMALLEST_FLIP = 0.125
# the rows whose given labels can contradict a class-conditional matrix: this share of the
# held-out rows (at least SUREST_ROWS_MIN) that the plain out-of-fold model places surest in
# each class (2 % chosen over 1 % and 5 % on the records of 181 classification settings;
# benchmarks/RESULTS.md, "Thirty-first session")
SUREST_ROWS_SHARE, SUREST_ROWS_MIN = 0.02, 20
# rounds of rerank_without_suspects: the suspects rarely settle (a few tens of rows
# keep changing places), and the gain at the noise model's count still grew from the
# third round to the fifth (benchmarks/RESULTS.md, "Ranked again without the suspects")
RERANK_ROUNDS = 5


def reads_every_class_flipped(transition):
    """The smallest share of a class that ``transition`` reads as another, and
    whether it reaches ``CLASS_CONDITIONAL_MAX_SMALLEST_FLIP``."""
    smallest = float((1 - np.diag(transition)).min())
    return smallest, smallest >= CLASS_CONDITIONAL_MAX_SMALLEST_FLIP


def _fit_predict(estimator, X, y, weights, rows, held_out, classes):
    """Fit ``estimator`` (in place) on ``rows`` (classification: one copy per
    class weighted by the posterior of that class); return its predictions of
    the ``held_out`` rows and the fitted estimator. A linear model of skmtl
    keeps its coefficients alone for its next warm start: five folds' training
    data held between the steps of EM would cost memory linear in the rows."""
    weight = final_step_param(estimator, "sample_weight", fit=True)  # a pipeline routes it to its last step
    if classes is None:
        est = estimator.fit(_safe_indexing(X, rows), y[rows], **{weight: weights[rows]})
        predicted = est.predict(_safe_indexing(X, held_out))
    else:
        copies = np.tile(rows, len(classes))
        labels = np.repeat(classes, len(rows))
        w = weights[rows].T.ravel()
        used = w > _TINY
        est = estimator.fit(_safe_indexing(X, copies[used]), labels[used], **{weight: w[used]})
        predicted = np.zeros((len(held_out), len(classes)))
        predicted[:, np.searchsorted(classes, est.classes_)] = est.predict_proba(
            _safe_indexing(X, held_out))
    last = final_step(est)[0]  # a pipeline's model is its last step
    if isinstance(last, MultiTaskLinearModel):
        last._forget_training_data()
    return predicted, est


def keep_every_class_in_training(folds, y):
    """``folds`` with the rows of any class their held-out part would take
    wholly from its training part moved into that training part: a class too
    rare to spread over the folds is trained on everywhere and never judged.
    A fold left with nothing held out is dropped."""
    out = []
    for train, test in folds:
        lost = np.isin(y[test], np.setdiff1d(y[test], y[train]))
        if lost.any():
            train, test = np.sort(np.concatenate([train, test[lost]])), test[~lost]
        if len(test):
            out.append((train, test))
    return out


def _fold_models(estimator, n_folds):
    """One clone of ``estimator`` per fold, to be refitted by :func:`_out_of_fold`
    as the weights change. skmtl's linear models start each refit where the
    last ended (``warm_start``): their objective is convex, so that changes
    the time alone; any other estimator starts as it was given."""
    models = [clone(estimator) for _ in range(n_folds)]
    if isinstance(final_step(estimator)[0], MultiTaskLinearModel):  # bare or a pipeline's last step
        for model in models:
            model.set_params(**{final_step_param(model, "warm_start"): True})
    return models


def _out_of_fold(models, X, y, weights, folds, classes, n_jobs):
    """Predictions of each fold's held-out rows by its model of ``models``
    (:func:`_fold_models`) fitted on the rest, and the fitted models."""
    with quiet_inner_task_warnings(task_labels=False):  # a fold may hold a whole small task
        jobs = Parallel(n_jobs=n_jobs)(
            delayed(_fit_predict)(model, X, y, weights, train, test, classes)
            for model, (train, test) in zip(models, folds)
        )
    shape = (len(y),) if classes is None else (len(y), len(classes))
    out = np.full(shape, np.nan)
    for (_, test), (pred, _) in zip(folds, jobs):
        out[test] = pred
    return out, [model for _, model in jobs]


def _noise_model_folds(X, y, cv, random_state, task_col, classes):
    """Task-stratified folds of one draw of ``random_state``; for classes,
    with the rows of any class a held-out part would take trained on."""
    seed = check_random_state(random_state).randint(2**31)
    folds = list(TaskStratifiedKFold(cv, shuffle=True, random_state=seed, task_col=task_col).split(X, y))
    return keep_every_class_in_training(folds, y) if classes else folds


def _training_without(train, kept, y):
    """The ``kept`` rows of ``train``, and those of any class they would lose."""
    keep = kept[train]
    return train[keep | np.isin(y[train], np.setdiff1d(y[train], y[train[keep]]))]


def lowest(scores, candidates, n):
    """The ``n`` candidates with the lowest scores (stable order)."""
    return candidates[np.argsort(scores[candidates], kind="stable")[:n]]


def rerank_without_suspects(estimator, X, y, noise, n_suspects, *, cv, task_col,
                            random_state, X_clean=None, y_clean=None, n_jobs=None,
                            max_rounds=RERANK_ROUNDS, verbose=0):
    """Label quality again, each row's class predicted out of fold by a model
    fitted without the ``n_suspects`` rows of lowest quality and with the
    trusted rows (``X_clean``, ``y_clean``) in every training part, read
    through the class ``transition`` of ``noise`` (a result of
    :func:`estimate_label_noise`); repeated with the new lowest as suspects,
    ``max_rounds`` times at most and until the suspects repeat.

    A model fitted on every noisy label bends toward the flipped rows near
    its boundary, which are the ones that cost most accuracy; without the
    suspects, and held by the trusted rows, it ranks them lower. The matrix
    keeps the correction for noise that reads one class as another (under
    noise alike for every class the ranking is that of the probability of
    the given class). The folds are drawn as :func:`estimate_label_noise`
    draws them: with the same ``random_state`` (or a copy of the one it
    drew from), the same folds. Returns the quality (NaN for rows no fold
    holds out) and the number of rounds; a progress bar with ``verbose``.
    """
    _, y = _task_labels_and_targets(X, y, task_col)
    n_rows = len(y)
    folds = _noise_model_folds(X, y, cv, random_state, task_col, classes=True)
    if X_clean is not None:
        X, y, _, folds = _with_trusted_rows(X, y, folds, X_clean, y_clean, task_col, classes=True)
    classes, given = np.unique(y, return_inverse=True)
    one_hot = np.eye(len(classes))[given]

    def suspects_of(quality):  # the rows no fold holds out (NaN) are never suspects
        return np.sort(lowest(quality, np.flatnonzero(np.isfinite(quality)), n_suspects))

    suspects = suspects_of(noise.label_quality)
    reads_given = noise.transition[:, given[:n_rows]].T  # P(given | true), a row per row
    progress = tqdm(total=max_rounds, disable=not verbose, desc="ranked again without suspects")
    for n_round in range(1, max_rounds + 1):
        progress.update()
        kept = np.ones(len(y), dtype=bool)
        kept[suspects] = False
        parts = [(_training_without(train, kept, y), test) for train, test in folds]
        joint = _out_of_fold(_fold_models(estimator, len(parts)), X, y, one_hot, parts, classes,
                             n_jobs)[0][:n_rows] * reads_given
        with np.errstate(invalid="ignore", divide="ignore"):
            quality = joint[np.arange(n_rows), given[:n_rows]] / joint.sum(axis=1)
        again = suspects_of(quality)
        if np.array_equal(again, suspects):
            break
        suspects = again
    progress.close()
    return quality, n_round


def p_value_of_gain(differences):
    """One-sided paired test (normal approximation over rows, as McNemar's test
    for two classifiers) that the mean of ``differences`` is above 0."""
    spread = differences.std(ddof=1)
    if not spread > 0:
        return 0.0 if differences.mean() > 0 else 1.0
    return float(norm.sf(differences.mean() / (spread / np.sqrt(len(differences)))))


def task_majority_out_of_fold(given, folds, task_index):
    """Per held-out row, the most frequent given label (an index into the
    classes) of its task among the training rows of its fold, or of all
    those training rows where its task has none: what a model predicts whose
    features say nothing. -1 for rows no fold holds out."""
    n_tasks, n_classes = task_index.max() + 1, given.max() + 1
    majority = np.full(len(given), -1)
    for train, test in folds:
        counts = np.zeros((n_tasks, n_classes))
        np.add.at(counts, (task_index[train], given[train]), 1)
        overall = np.bincount(given[train], minlength=n_classes).argmax()
        has_rows = counts.sum(axis=1) > 0
        majority[test] = np.where(
            has_rows[task_index[test]], counts.argmax(axis=1)[task_index[test]], overall
        )
    return majority


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 3, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "task_col": [numbers.Integral, str],
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "noise_kind": [StrOptions({"auto", "alike", "class-conditional"})],
        "X_clean": ["array-like", None],
        "y_clean": ["array-like", None],
        "class_prior": ["array-like", dict, None],
    },
    prefer_skip_nested_validation=True,
)
def estimate_label_noise(
    estimator, X, y, *, cv=5, max_iter=10, tol=1e-3, task_col=-1, n_jobs=None,
    random_state=None, verbose=0, noise_kind="auto", X_clean=None, y_clean=None,
    class_prior=None,
):
    """Probability that each row's target is right, learnt from the noisy data
    (and, where you have them, rows whose targets you trust).

    Expectation-maximization around any estimator that takes
    ``sample_weight``, each row predicted by a model fitted on the other
    folds (:class:`~skmtl.model_selection.TaskStratifiedKFold`), so that a
    corrupted row cannot vouch for itself:

    * **classes** (``estimator`` is a classifier): the given label is the
      true class passed through a class-to-class transition matrix
      ``T[true, given]``, learnt jointly with the model of the true class
      (the noise-adaptation model of Bootkrajang and Kabán, 2012). A row's
      quality is the posterior probability that its given label is its true
      class. Noise that flips one class more often than the other (class
      conditional noise) is modelled, which out-of-fold confidence alone
      cannot do: there the model fitted on noisy labels inherits the noise.
      Each task's labels may move more or less than the matrix says (a bad
      annotator, site or sensor): a task's moves are scaled by a factor shrunk
      toward 1, and where the tasks' shares of moved labels vary no more than
      chance allows, every task has the shared matrix.
    * **measurements** (a regressor): a row is an inlier, its residual
      normal with its task's own spread (shrunk toward the pooled spread,
      so that tasks the shared model fits less well are not called
      outliers), or an outlier, normal with one large spread, in its task's
      own share (shrunk toward the pooled share, so that outliers crowding
      into a few of many tasks, a bad site or sensor, are not read as a wide
      spread of those tasks); a row's quality is its posterior probability
      of being an inlier.

    Each round refits the estimator with every row weighted by the
    posterior of what it truly is (classes: one weighted copy of the row per
    class), so corrupted rows stop pulling the model toward their targets.

    Rows whose targets you trust (``X_clean``, ``y_clean``: a clean
    validation part) join every fit as rows known to be right; they are never
    judged. From noisy labels alone, noise that turns one class into another
    can be told from a shift of the class balance only where the features
    place some rows surely in a class (``benchmarks/selection_twins.py``
    builds one noisy data set that both explain); trusted rows show the model
    the true classes, and so pin down the transition matrix.

    Parameters
    ----------
    estimator : estimator with ``fit(X, y, sample_weight=...)``
        A classifier with ``predict_proba``, or a regressor; cloned.
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Features plus the task column (``task_col``); every row needs a task
        label.
    y : array-like of shape (n_samples,)
    cv : int, default=5
        Number of task-stratified folds.
    max_iter : int, default=10
        Expectation-maximization rounds at most; each costs ``cv`` fits. The
        rounds go by threes, two steps and one extrapolated from them
        (SQUAREM), which converges in far fewer rounds than plain EM.
    tol : float, default=1e-3
        Stop when no row's quality (nor noise parameter) moves by more than
        ``tol`` over three rounds.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seed of the folds.
    verbose : int, default=0
        Progress bar over the rounds when positive.
    noise_kind : {"auto", "alike", "class-conditional"}, default="auto"
        Classes only: the kind of noise to fit (see ``noise_kind`` below);
        ``"auto"`` chooses it from the data. Name it where you know it, say
        a labelling process known to confuse the classes alike.
    X_clean : array-like or DataFrame of shape (n_clean, n_columns), default=None
        Rows whose targets you trust, laid out as ``X`` (same columns, task
        column included; tasks need not be those of ``X``).
    y_clean : array-like of shape (n_clean,), default=None
        Their targets; classes must be among those of ``y``.
    class_prior : array-like of shape (n_classes,) or dict, default=None
        Classes only, without trusted rows: the true share of each class (in
        the order of the sorted classes, or a dict from class to share), where
        you know it. The transition
        matrix is then fitted among those that turn it into the given labels'
        balance (``class_prior @ transition`` equals the given shares of the
        held-out rows), which pins the one direction of the matrix that noisy
        labels cannot tell from a shift of the class balance; the noise is
        read as class-conditional.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``label_quality`` (n_samples,): probability that the row's target is
        right; NaN for rows no fold holds out (a task's only row).
        ``noise_rate``: the estimated share of corrupted rows (mean of
        ``1 - label_quality``). ``tasks`` and ``task_noise_rate``: the sorted task
        labels and the estimated share of corrupted rows in each (NaN for a
        task of one row): a task far above the rest is one whose labels went
        bad (an annotator, a site, a sensor), which task relatedness alone
        cannot tell from a task merely unlike the others. ``task_prior_rows``:
        how many pseudo-rows of the pooled noise each task's own is shrunk
        with (classes: estimated from how much the tasks' shares of moved
        labels vary beyond chance, inf where they share the matrix;
        measurements: 5). ``evidence``: how
        much better the noise model predicts the given targets of ``X`` (not
        the trusted rows, which no fold holds out) out of fold than the plain
        model, in AIC units (twice the log-likelihood gain minus two per noise
        parameter; a task's outlier share counts as far as its rows can move it
        from the pooled one; for measurements with each model's task spreads
        weighed by the prior they are shrunk with, relative to the model's
        pooled spread); at or below 0 the data show no corruption the
        model can tell from ordinary error. ``noise_kind``: ``"alike"``
        (classes; noise that flips every class alike, one rate),
        ``"class-conditional"`` (classes; a full transition matrix, chosen by
        BIC where it fits clearly better and where the plain out-of-fold model
        predicts the given labels clearly better than each task's most frequent
        label, a one-sided paired test at p < 0.1 (``beats_majority_p_value``):
        a matrix that reads one class as another more often than back can be
        told from a shift of the class balance only through rows the features
        place in a class; and not where the matrix reads at least 12.5 % of
        every class as flipped, which says the features leave room for noise
        both ways, not which way it went; with trusted rows, where BIC prefers it) or ``"outliers"``
        (measurements). ``count_scale``: True where the targets are counts of
        a Poisson model (:class:`~skmtl.MultiTaskPoisson`, scikit-learn's
        ``PoissonRegressor``), compared with the predictions on the
        square-root scale, ``2 sqrt(y)``, where Poisson noise has about one
        spread at every mean. ``transition`` (classes only, else None): ``T[i, j]``,
        the estimated probability that a row of true class ``classes[i]`` is
        labelled ``classes[j]``. ``classes`` (or None). ``posterior`` (classes
        only, else None; n_samples, n_classes): the probability of each true
        class, NaN rows where ``label_quality`` is. ``beats_majority_p_value``
        (classes only, else None): that test's p-value. At or above 0.1 with
        noise read as alike and no trusted rows, the noisy labels cannot tell
        such noise from a share of one class turned into the commoner label:
        ``label_quality`` suspects the rarer label's rows first, as alike noise
        implies, where the turned rows would carry the commoner one
        (``benchmarks/selection_twins.py``). ``surest_rows_given`` (classes
        only, else None; n_classes,): per class c, the share labelled c of
        the ``n_surest_rows`` rows (2 % of the held-out rows, at least 20)
        that the plain out-of-fold model places surest in c; under the
        matrix it is at most about the largest ``transition[:, c]``, so a
        clearly higher share contradicts the matrix, and ``MTIFSelector``
        removes nothing on it. ``plain_auc`` (classes only, else None): how
        well the features alone rank the given labels, the AUC of the plain
        out-of-fold model's probabilities (one class against the rest,
        averaged over the classes where they are more than two; NaN where a
        class has no held-out row): a matrix that reads a share of one class
        as labelled as another is told from a different class balance only
        where the features place some rows surely in a class. ``n_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskLogistic
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.selection import estimate_label_noise
    >>> X, y = make_multitask_classification(n_tasks=4, n_samples=80, n_features=5, random_state=0)
    >>> flipped = np.random.default_rng(0).random(len(y)) < 0.2
    >>> y[flipped] = 1 - y[flipped]
    >>> noise = estimate_label_noise(MultiTaskLogistic(), X, y, random_state=0)
    >>> noise.label_quality.shape, noise.transition.shape
    ((320,), (2, 2))
    >>> bool(noise.label_quality[flipped].mean() < noise.label_quality[~flipped].mean())
    True
    """
    labels, y = _task_labels_and_targets(X, y, task_col)
    classes = predicts_classes(estimator, y)
    if class_prior is not None and (X_clean is not None or noise_kind == "alike"
                                    or not classes):
        raise ValueError(
            "class_prior fits the transition matrix of a classifier's noisy labels; "
            + ("rows whose labels you trust pin it down already: leave class_prior out."
               if X_clean is not None else
               "noise_kind='alike' fixes it to one rate: leave one of them out."
               if classes else "a regressor has none: leave it out.")
        )
    if class_prior is not None:
        class_prior = checked_class_prior(class_prior, np.unique(y))
    folds = _noise_model_folds(X, y, cv, random_state, task_col, classes=classes)
    n_given = len(y)
    if X_clean is not None or y_clean is not None:
        X, y, labels, folds = _with_trusted_rows(
            X, y, folds, X_clean, y_clean, task_col, classes=classes
        )
    held = np.zeros(len(y), dtype=bool)
    for _, test in folds:
        held[test] = True
    if not held.any():
        raise ValueError(
            "No task of X has two rows, so no row can be held out and predicted by a "
            "model that did not see it; check task_col."
        )
    all_tasks, task_index = np.unique(labels, return_inverse=True)
    if classes:
        model = _ClassNoise(y, held, folds, task_index, noise_kind, anchored=len(y) > n_given,
                            class_prior=class_prior)
    elif noise_kind != "auto":
        raise ValueError(
            f"noise_kind={noise_kind!r} applies to classes; a regressor's targets are "
            "judged as inliers or outliers. Leave noise_kind='auto'."
        )
    else:
        model = _Outliers(y, held, task_index, counts=is_count_model(estimator))
    progress = tqdm(total=max_iter, disable=not verbose, desc="estimate_label_noise")
    first = []

    # the fold models are refitted as the weights change (parallel jobs return copies)
    models = _fold_models(estimator, len(folds))

    def em_step(state):
        model.set_state(state)
        predicted, models[:] = _out_of_fold(
            models, X, model.fit_target, model.weights, folds, model.classes, n_jobs
        )
        if not first:
            first.append(model.plain_loglik(predicted))
        model.update(predicted)
        progress.update()
        return model.get_state(), predicted

    # EM crawls where much is missing (which labels are wrong); SQUAREM
    # (Varadhan and Roland, 2008) extrapolates two steps into a longer one
    state, plain = em_step(model.get_state())
    predicted, n_iter = plain, 1
    while n_iter + 3 <= max_iter:
        once, _ = em_step(state)
        twice, _ = em_step(once)
        r, v = once - state, twice - 2 * once + state
        alpha = min(-np.linalg.norm(r) / max(np.linalg.norm(v), _TINY), -1.0)
        jumped = model.project(state - 2 * alpha * r + alpha**2 * v)
        new_state, predicted = em_step(jumped)
        n_iter += 3
        change = np.abs(new_state - state).max()
        state = new_state
        if change < tol:
            break
    progress.close()
    model.set_state(state)
    model.finish(plain, predicted)
    # AIC: the predictions are out of fold; only the noise parameters are fitted in sample
    evidence = 2 * (model.loglik(predicted) + model.log_prior_gain - first[0] - model.n_params)
    quality = model.quality()[:n_given]
    # the tasks of the noisy rows (a task of trusted rows alone is not judged)
    tasks, task_index = np.unique(task_index[:n_given], return_inverse=True)
    tasks = all_tasks[tasks]
    judged = np.isfinite(quality)
    corrupted = np.bincount(task_index[judged], weights=1 - quality[judged], minlength=len(tasks))
    counted = np.bincount(task_index[judged], minlength=len(tasks))
    with np.errstate(invalid="ignore", divide="ignore"):
        task_noise_rate = corrupted / counted
    posterior = model.posterior()
    return Bunch(
        label_quality=quality,
        noise_rate=float(np.nanmean(1 - quality)),
        tasks=tasks,
        task_noise_rate=task_noise_rate,
        evidence=float(evidence),
        noise_kind=model.kind,
        count_scale=model.kind == "outliers" and model.counts,
        beats_majority_p_value=model.beats_majority_p_value,
        surest_rows_given=model.surest_rows_given,
        n_surest_rows=model.n_surest_rows,
        plain_auc=model.plain_auc,
        task_prior_rows=model.task_prior_rows,
        transition=model.transition,
        classes=model.classes,
        posterior=None if posterior is None else posterior[:n_given],
        class_prior=class_prior,
        n_iter=n_iter,
    )


def _task_labels_and_targets(X, y, task_col, names=("X", "y")):
    """The task labels of ``X`` and ``y`` as a 1-d array; errors call them ``names``."""
    labels, missing = task_labels(X, task_col)
    if missing.any():
        raise ValueError(
            f"Some rows of {names[0]} have a missing task label; drop them before estimating "
            "label noise."
        )
    y = column_or_1d(y, warn=True)
    if len(y) != len(labels):
        raise ValueError(
            f"{names[0]} has {len(labels)} rows but {names[1]} has {len(y)}; they must match."
        )
    return labels, y


def _with_trusted_rows(X, y, folds, X_clean, y_clean, task_col, classes):
    """``X``, ``y``, the task labels and ``folds`` with the trusted rows appended
    to the data and to every training part (never held out); ``classes``: the
    targets are classes, those of ``y_clean`` must be among ``y``'s."""
    if X_clean is None or y_clean is None:
        raise ValueError(
            "Give both X_clean and y_clean (the trusted rows and their targets), or neither."
        )
    # MTIFSelector passes its X_val, y_val: the messages name both
    _, y_clean = _task_labels_and_targets(
        X_clean, y_clean, task_col, names=("X_clean (MTIFSelector: X_val)", "y_clean (y_val)")
    )
    extra = np.setdiff1d(y_clean, y) if classes else []
    if len(extra):
        raise ValueError(
            f"The trusted targets (y_clean; MTIFSelector: y_val) have classes "
            f"{extra.tolist()} that y lacks; a noise model reads noisy labels into the "
            "classes of y. Drop those trusted rows."
        )
    frames = hasattr(X, "columns"), hasattr(X_clean, "columns")
    if (frames[0] != frames[1] or _num_features(X) != _num_features(X_clean)
            or (all(frames) and list(X.columns) != list(X_clean.columns))):
        raise ValueError(
            "The trusted rows (X_clean; MTIFSelector: X_val) must be laid out as X: the same "
            "columns, in the same order. In a pipeline, mtifselector__X_val skips the steps "
            "before the selector: transform it with them first (pipe[:i].transform(X_val) for "
            "the selector at step i), or put the selector first."
        )
    if all(frames):
        import pandas as pd

        X = pd.concat([X, X_clean], ignore_index=True)
    else:
        X = np.concatenate([np.asarray(X), np.asarray(X_clean)])
    trusted = np.arange(len(y), len(y) + len(y_clean))
    folds = [(np.concatenate([train, trusted]), test) for train, test in folds]
    # labels of the whole, so that a task labelled alike in both is one task
    return X, np.concatenate([y, y_clean]), task_labels(X, task_col)[0], folds


def _ranking_auc(given, proba, n_classes):
    """AUC of ``proba`` (n_rows, n_classes) against the class indices
    ``given``: one class against the rest, averaged over the classes; NaN
    where a class has no row."""
    if len(np.unique(given)) < n_classes:
        return float("nan")
    if n_classes == 2:
        return float(roc_auc_score(given, proba[:, 1]))
    return float(roc_auc_score(given, proba, multi_class="ovr", labels=np.arange(n_classes)))


def checked_class_prior(class_prior, classes):
    """``class_prior`` (shares in the order of ``classes``, or a dict from
    class to share) as an array of shares in the order of ``classes``;
    ValueError, in the user's words, where it is not one share of at least 0
    per class summing to 1."""
    if isinstance(class_prior, dict):
        if set(class_prior) != set(classes.tolist()):
            raise ValueError(
                f"class_prior names the classes {preview_labels(sorted(class_prior, key=str))}, "
                f"but y has {preview_labels(classes)}: give the true share of each."
            )
        class_prior = [class_prior[label] for label in classes.tolist()]
    prior = np.asarray(class_prior, dtype=float)
    if prior.shape != (len(classes),):
        raise ValueError(
            f"class_prior has {prior.size} entries, but y has {len(classes)} classes "
            f"{preview_labels(classes)}: give the true share of each class, in that order."
        )
    if not (prior >= 0).all() or not np.isclose(prior.sum(), 1):
        raise ValueError(
            f"class_prior must hold shares of at least 0 that sum to 1; got "
            f"{prior.tolist()} (sum {prior.sum():.4g})."
        )
    return prior


def smallest_flows(class_prior, given_balance):
    """The transition matrix ``T[true, given]`` that turns the true balance
    ``class_prior`` into ``given_balance`` by the smallest flows: each class
    with a larger true than given share sends its surplus to the classes
    with a smaller one, in proportion to their deficits.

    Examples
    --------
    >>> from skmtl.selection._noise import smallest_flows
    >>> smallest_flows([0.5, 0.5], [0.65, 0.35]).round(2).tolist()
    [[1.0, 0.0], [0.3, 0.7]]
    """
    class_prior, given_balance = np.asarray(class_prior, float), np.asarray(given_balance, float)
    surplus = np.clip(class_prior - given_balance, 0, None)
    deficit = np.clip(given_balance - class_prior, 0, None)
    flows = np.outer(surplus, deficit) / max(deficit.sum(), _TINY)
    transition = flows / np.maximum(class_prior, _TINY)[:, None]
    np.fill_diagonal(transition, 1 - transition.sum(axis=1))
    return transition


def transition_with_balance(counts, class_prior, given_balance):
    """The transition matrix ``T[true, given]`` of largest expected log-likelihood
    ``sum(counts * log(T))`` (``counts[true, given]``: the E-step's expected
    counts) among those that turn the true balance ``class_prior`` into
    ``given_balance`` (``class_prior @ T == given_balance``).

    A convex problem (concave objective, linear constraints), solved by SLSQP
    from a point inside the constraints: halfway between the smallest flows
    (:func:`smallest_flows`) and the matrix whose every row is the given
    balance, both of which satisfy them. Without the constraints the answer
    is ``counts`` normalized by row."""
    n_classes = len(class_prior)
    start = (smallest_flows(class_prior, given_balance) + given_balance) / 2
    counts = np.maximum(np.asarray(counts, float), 0.0)
    scale = max(counts.sum(), _TINY)

    def objective(flat):
        transition = np.maximum(flat, _TINY)
        return -(counts.ravel() * np.log(transition)).sum() / scale, -counts.ravel() / transition / scale

    rows = np.kron(np.eye(n_classes), np.ones(n_classes))  # row sums
    columns = np.kron(class_prior, np.eye(n_classes))[:-1]  # given shares (the last one follows)
    constraints = {"type": "eq", "fun": lambda flat: np.concatenate(
        [rows @ flat - 1, columns @ flat - given_balance[:-1]]),
        "jac": lambda flat: np.vstack([rows, columns])}
    fitted = minimize(objective, start.ravel(), jac=True, method="SLSQP", constraints=constraints,
                      bounds=[(_TINY, 1.0)] * n_classes**2, options={"ftol": 1e-12, "maxiter": 200})
    transition = np.clip(fitted.x.reshape(n_classes, n_classes), 0.0, 1.0)
    return transition / transition.sum(axis=1, keepdims=True)


def task_move_scales(clean, given, task, transition, max_iter=200, tol=1e-10):
    """How much each task's labels move, relative to what ``transition`` moves.

    A task's matrix is the shared one with its moves scaled,
    ``I + scale * (transition - I)``, and its scale is shrunk toward 1 (the
    shared matrix) by ``prior_rows`` pseudo-rows, estimated by moments (a
    beta-binomial concentration): the excess of the tasks' shares of moved
    labels (each row's posterior at scale 1) around the shares their rows
    imply (the matrix's moves of their true classes, at the rate the
    posteriors read for each given label), over the most the tasks would vary
    by chance were every moved label seen (a bound above the variance of
    posteriors). Where there is no excess the tasks share the matrix (scale 1,
    ``prior_rows`` inf): a bad annotator's task stands out, ordinary noise
    does not. The scales are then the EM fixed point of each task's share of
    moved labels under its own matrix, shrunk toward its implied share.

    Parameters
    ----------
    clean : ndarray of shape (n_rows, n_classes)
        Probability of each true class from the features alone.
    given : ndarray of shape (n_rows,)
        Index of each row's given label.
    task : ndarray of shape (n_rows,)
        Index of each row's task.
    transition : ndarray of shape (n_classes, n_classes)
        The shared matrix, ``T[true, given]``.

    Returns
    -------
    scales : ndarray of shape (task.max() + 1,)
        The factor of each task's moves (1 for a task without rows).
    prior_rows : float
    """
    n_rows, n_classes = clean.shape
    n_tasks = int(task.max()) + 1
    counts = np.bincount(task, minlength=n_tasks).astype(float)
    stays = np.diag(transition)[given]
    kept = clean[np.arange(n_rows), given]
    moved_in = np.einsum("nc,cn->n", clean, transition[:, given]) - kept * stays

    def moved(scales):
        scale = scales[task]
        stay = kept * (1 - scale * (1 - stays))
        return 1 - stay / np.maximum(stay + scale * moved_in, _TINY)

    shares = moved(np.ones(n_tasks))
    share = shares.mean()
    # each task's expected share of moves, at the rate the posteriors read for each given
    # label rather than one rate for all: where one class was turned into another, tasks
    # rich in it move more, which is no task's own noise (RESULTS, "Forty-fourth session")
    implied = clean @ (1 - np.diag(transition))
    implied *= (np.bincount(given, weights=shares, minlength=n_classes)
                / np.maximum(np.bincount(given, weights=implied, minlength=n_classes), _TINY))[given]
    expected = np.bincount(task, weights=implied, minlength=n_tasks) / np.maximum(counts, 1)
    seen = counts > 0
    excess = (np.sum(counts * (np.bincount(task, weights=shares, minlength=n_tasks)
                               / np.maximum(counts, 1) - expected) ** 2)
              - seen.sum() * share * (1 - share)) / n_rows
    if excess <= 0 or expected[seen].min() <= _TINY:
        return np.ones(n_tasks), np.inf
    prior_rows = max(share * (1 - share) / excess - 1, 0.0)
    # no row of a task moved more often than to a label drawn at random
    largest = (n_classes - 1) / n_classes / max((1 - np.diag(transition)).max(), _TINY)
    scales = np.ones(n_tasks)
    for _ in range(max_iter):  # EM for each task's scale under the shrinkage
        updated = np.clip(
            (np.bincount(task, weights=moved(scales), minlength=n_tasks) + prior_rows * expected)
            / np.maximum((counts + prior_rows) * expected, _TINY), 0.0, largest)
        updated[~seen] = 1.0
        done = np.abs(updated - scales).max() < tol
        scales = updated
        if done:
            break
    return scales, prior_rows


def _uniform_noise(n_classes, rate):
    """Transition matrix of noise that moves a share ``rate`` of every class
    to the other classes alike."""
    transition = np.full((n_classes, n_classes), rate / (n_classes - 1))
    np.fill_diagonal(transition, 1 - rate)
    return transition


class _ClassNoise:
    """Latent true class; the given label drawn from ``T[true]``. Only the
    ``held`` rows (those some fold predicts) are updated; the others keep
    their given label (trusted rows, with ``anchored``, are among them). With
    ``class_prior`` the matrix is fitted among those that turn it into the
    given balance of the held rows."""

    log_prior_gain = 0.0  # the evidence's prior terms (the outlier model's spreads)

    def __init__(self, y, held, folds, task_index, kind, anchored=False, class_prior=None):
        self.classes, self.given = np.unique(y, return_inverse=True)
        if len(self.classes) < 2:
            raise ValueError(
                f"y has one class ({self.classes[:1].tolist()[0]!r}); label noise needs two or more."
            )
        n_classes = len(self.classes)
        if class_prior is not None:
            kind = "class-conditional"
            self.given_balance = np.bincount(self.given[held], minlength=n_classes) / held.sum()
        self.class_prior = class_prior
        self.anchored = anchored
        self.held = held
        self.kind = kind
        self.majority = task_majority_out_of_fold(self.given, folds, task_index)
        self.task = task_index
        self.fit_target = y
        self.weights = np.eye(n_classes)[self.given]  # posterior of the true class
        # a zero of the matrix stays zero under EM, so the start has none: with the
        # balance, 10 % of the way from the smallest flows to every row the given balance
        self.transition = (_uniform_noise(n_classes, 0.1) if class_prior is None else
                           0.9 * smallest_flows(class_prior, self.given_balance)
                           + 0.1 * self.given_balance)
        # the balance constraints leave (n_classes - 1) ** 2 free parameters
        self.n_params = n_classes * (n_classes - 1) if class_prior is None else (n_classes - 1) ** 2

    def _log_joint(self, proba):
        given = self.given[self.held]
        return (np.log(np.maximum(proba[self.held], _TINY))
                + np.log(np.maximum(self.transition[:, given].T, _TINY)))

    def plain_loglik(self, proba):
        given = self.given[self.held]
        return float(np.log(np.maximum(proba[self.held][np.arange(len(given)), given], _TINY)).sum())

    def loglik(self, proba):
        return float(logsumexp(self._log_joint(proba), axis=1).sum())

    def update(self, proba):
        log_joint = self._log_joint(proba)
        posterior = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
        self.weights[self.held] = posterior
        given = self.given[self.held]
        counts = np.stack([
            np.bincount(given, weights=posterior[:, i], minlength=len(self.classes))
            for i in range(len(self.classes))
        ])
        self.transition = (
            counts / np.maximum(counts.sum(axis=1, keepdims=True), _TINY) if self.class_prior is None
            else transition_with_balance(counts, self.class_prior, self.given_balance)
        )

    def finish(self, plain, fitted):
        """Unless the kind was named, choose between noise that flips every
        class alike (one parameter) and class-conditional noise (the full
        matrix): the full matrix where BIC prefers it and the plain model's
        features predict the given labels (else its asymmetry may be a class
        balance the features cannot see); then the posterior of each row
        from the plain out-of-fold model, corrected by it, with each task's
        moves scaled where the tasks' shares of moves differ beyond chance
        (:func:`task_move_scales`).

        The plain model's confidence ranks rows better than the refitted
        model's, which the rows the EM believes mislabelled have shaped; the
        matrix decides how the classes' rankings interleave (alike noise
        shared by every task: exactly as the plain confidence does)."""
        n_classes = len(self.classes)
        rows = np.flatnonzero(self.held)
        given = self.given[rows]
        clean = np.maximum(fitted[rows], _TINY)

        def loglik(transition):
            likelihood = np.einsum("nc,cn->n", clean, transition[:, given])
            return float(np.log(np.maximum(likelihood, _TINY)).sum())

        alike = minimize_scalar(
            lambda rate: -loglik(_uniform_noise(n_classes, rate)),
            bounds=(0.0, (n_classes - 1) / n_classes), method="bounded",
        ).x
        hits = (plain[rows].argmax(axis=1) == given).astype(float)
        self.beats_majority_p_value = p_value_of_gain(hits - (self.majority[rows] == given))
        self.n_surest_rows = min(len(rows),
                                 max(SUREST_ROWS_MIN, int(np.ceil(SUREST_ROWS_SHARE * len(rows)))))
        surest = np.argsort(-plain[rows], axis=0, kind="stable")[:self.n_surest_rows]
        self.surest_rows_given = (given[surest] == np.arange(n_classes)).mean(axis=0)
        self.plain_auc = _ranking_auc(given, plain[rows], n_classes)
        if self.kind == "auto":
            # BIC: a consistent choice; the full matrix must earn its extra parameters
            gain = 2 * (loglik(self.transition) - loglik(_uniform_noise(n_classes, alike)))
            _, both_ways = reads_every_class_flipped(self.transition)
            clear = gain > np.log(len(rows)) * (self.n_params - 1) and (
                self.anchored or (self.beats_majority_p_value < BEATS_MAJORITY_LEVEL and not both_ways))
            self.kind = "class-conditional" if clear else "alike"
        if self.kind == "alike":
            self.transition = _uniform_noise(n_classes, alike)
            self.n_params = 1
        clean = np.linalg.lstsq(self.transition.T, plain[rows].T, rcond=None)[0].T
        clean = np.clip(clean, _TINY, None)
        clean /= clean.sum(axis=1, keepdims=True)
        task = self.task[rows]  # a task no fold holds out has no rows here, and keeps scale 1
        scales, self.task_prior_rows = task_move_scales(clean, given, task, self.transition)
        stays = np.eye(n_classes)[given]
        joint = clean * (stays + scales[task][:, None] * (self.transition[:, given].T - stays))
        self.weights[rows] = joint / joint.sum(axis=1, keepdims=True)

    def get_state(self):
        return np.concatenate([self.weights.ravel(), self.transition.ravel()])

    def project(self, state):
        """Back onto probabilities after an extrapolation."""
        state = np.clip(state, 1e-6, 1.0)
        n_classes = len(self.classes)
        weights = state[: -n_classes**2].reshape(-1, n_classes)
        transition = state[-n_classes**2:].reshape(n_classes, n_classes)
        weights[~self.held] = np.eye(n_classes)[self.given[~self.held]]
        weights /= weights.sum(axis=1, keepdims=True)
        transition /= transition.sum(axis=1, keepdims=True)
        return np.concatenate([weights.ravel(), transition.ravel()])

    def set_state(self, state):
        n_classes = len(self.classes)
        self.weights = state[: -n_classes**2].reshape(-1, n_classes).copy()
        self.transition = state[-n_classes**2:].reshape(n_classes, n_classes).copy()

    def quality(self):
        quality = self.weights[np.arange(len(self.given)), self.given]
        return np.where(self.held, quality, np.nan)

    def posterior(self):
        return np.where(self.held[:, None], self.weights, np.nan)


def predicts_classes(estimator, y):
    """Whether ``estimator`` fits ``y`` as classes: its own kind where it
    declares one, else (a ``SharedBottomNet`` whose task kinds are inferred
    in fit) the kind skmtl infers from ``y`` (:func:`~skmtl.utils.infer_target_kind`)."""
    if is_classifier(estimator) or is_regressor(estimator):
        return is_classifier(estimator)
    return infer_target_kind(y)[0] == "classification"


def on_count_scale(values):
    """Counts on the square-root scale, where Poisson noise has about one spread
    at every mean (``2 sqrt(y)``: variance about 1; Bartlett, 1936)."""
    return 2.0 * np.sqrt(np.maximum(values, 0.0))


def is_count_model(estimator):
    """Whether ``estimator`` (or a pipeline's last step) models counts as Poisson."""
    from sklearn.linear_model import PoissonRegressor

    from ..linear_model import MultiTaskPoisson

    return isinstance(final_step(estimator)[0], (MultiTaskPoisson, PoissonRegressor))


def _log_relative_variance_prior(ratio):
    """Summed log density of each task's variance divided by the pooled one under the
    inverse-gamma prior whose mode is the shrinkage by ``_PRIOR_ROWS`` pseudo-rows
    (shape ``_PRIOR_ROWS / 2 - 1``, scale ``_PRIOR_ROWS / 2``): scale-free, so that the
    two models' tasks are each judged against their own pooled spread."""
    shape, scale = _PRIOR_ROWS / 2 - 1, _PRIOR_ROWS / 2
    ratio = np.maximum(ratio, _TINY)
    return float(np.sum(shape * np.log(scale) - gammaln(shape) - (shape + 1) * np.log(ratio)
                        - scale / ratio))


class _Outliers:
    """Residuals from a normal mixture: inliers with each task's own spread,
    outliers with one large spread shared by all tasks, in each task's own
    share.

    Tasks differ in how well the shared model fits them; one inlier spread
    for all would call the ordinary residuals of a task unlike the others
    outliers. And outliers crowd into some tasks (a bad site or sensor): with
    one share for all, an outlier in such a task is as unlikely a priori as
    anywhere, and where tasks are many a wide inlier spread of that task
    explains its outliers better. A task's spread and share are shrunk toward
    the pooled ones by ``_PRIOR_ROWS`` pseudo-rows, so that a task of two rows
    has them too.
    """

    transition = None
    classes = None
    kind = "outliers"
    beats_majority_p_value = surest_rows_given = n_surest_rows = plain_auc = None  # classes only
    task_prior_rows = _PRIOR_ROWS
    log_prior_gain = 0.0

    def __init__(self, y, held, task, counts=False):
        self.held = held
        self.fit_target = np.asarray(y, dtype=float)
        # counts are compared on the square-root scale: Poisson noise grows with the mean,
        # and one normal spread per task read a task's high counts as outliers
        self.counts = counts
        self._scale = on_count_scale if counts else np.asarray
        # residuals in units of the targets' spread: the floors on spreads (_TINY) are then
        # relative, and the model reads targets in any unit alike (1e-13 no longer looks clean)
        spread = np.std(self._scale(self.fit_target[held]))
        self.unit = spread if spread > 0 else 1.0
        self.task = task[held]
        self.n_tasks = int(task.max()) + 1
        self.weights = np.ones(len(y))  # posterior of being an inlier
        self.shares = None
        counts = np.bincount(self.task, minlength=self.n_tasks)
        # the pooled share and spread, and each task's share as far as its own
        # rows move it from the pooled one (the plain model has the spreads too)
        self.n_params = 2 + float(np.sum(counts / (counts + _PRIOR_ROWS)))

    def _residual(self, predicted):
        return (self._scale(self.fit_target) - self._scale(predicted))[self.held] / self.unit

    def _shrunk(self, values, weights, pooled):
        """Per task, the ``weights``-weighted mean of ``values`` shrunk toward ``pooled``."""
        sums = np.bincount(self.task, weights=weights * values, minlength=self.n_tasks)
        counts = np.bincount(self.task, weights=weights, minlength=self.n_tasks)
        return (sums + _PRIOR_ROWS * pooled) / (counts + _PRIOR_ROWS)

    def _task_scales(self, residual, weights):
        """Each task's spread of ``residual`` weighted by ``weights``, shrunk
        toward the pooled spread."""
        pooled = np.sum(weights * residual**2) / max(weights.sum(), _TINY)
        return np.maximum(np.sqrt(self._shrunk(residual**2, weights, pooled)), _TINY)

    def _log_parts(self, residual):
        scale, share = self.scales[self.task], self.shares[self.task]
        inlier = np.log(share) + norm.logpdf(residual, scale=scale)
        outlier = np.log1p(-share) + norm.logpdf(
            residual, scale=np.maximum(self.outlier_scale, 3 * scale))
        return inlier, outlier

    def plain_loglik(self, predicted):
        residual = self._residual(predicted)
        scale = self._task_scales(residual, np.ones(len(residual)))
        return float(norm.logpdf(residual, scale=scale[self.task]).sum())

    def loglik(self, predicted):
        return float(np.logaddexp(*self._log_parts(self._residual(predicted))).sum())

    def update(self, predicted):
        residual = self._residual(predicted)
        if self.shares is None:
            # robust start: every task from the pooled median absolute residual. A
            # task's own median is inflated where outliers crowd into it, and EM then
            # explains them by a wide inlier spread of that task
            bulk = 1.4826 * np.median(np.abs(residual))
            self.scales = np.full(self.n_tasks, max(bulk, _TINY))
            self.outlier_scale = max(np.sqrt(np.mean(residual**2)), 3 * bulk)
            self.shares = np.full(self.n_tasks, 0.9)
        inlier, outlier = self._log_parts(residual)
        posterior = np.exp(inlier - np.logaddexp(inlier, outlier))
        self.weights[self.held] = posterior
        self.shares = np.clip(
            self._shrunk(posterior, np.ones(len(posterior)), posterior.mean()), 1e-3, 1 - 1e-3)
        self.scales = self._task_scales(residual, posterior)
        spread = np.sqrt(np.sum((1 - posterior) * residual**2) / max((1 - posterior).sum(), _TINY))
        self.outlier_scale = max(spread, _TINY)

    def finish(self, plain, fitted):
        """The log prior of each task's spread relative to its model's pooled one,
        noise model minus plain model, for the evidence.

        Both models shrink a task's variance toward their pooled one by ``_PRIOR_ROWS``
        pseudo-rows, which is the mode under an inverse-gamma prior; the evidence
        compares the two at those modes, prior included. Without it, a task whose
        rows are 40-60 % outliers (a bad site) is explained as well by one wide
        normal of that task, 5 times the pooled spread, as by inliers of the pooled
        spread and outliers: a scale mixture gains on the inliers alone and pays the
        mixing share. The prior says how unusual such a wide task is; a task
        genuinely noisier (2-3 times the pooled spread) costs both models alike,
        since the noise model reads its rows as inliers of a wide task too."""
        residual = self._residual(fitted)
        weights = self.weights[self.held]
        pooled = np.sum(weights * residual**2) / max(weights.sum(), _TINY)
        first = self._residual(plain)
        self.log_prior_gain = (
            _log_relative_variance_prior(self.scales**2 / max(pooled, _TINY))
            - _log_relative_variance_prior(
                self._task_scales(first, np.ones(len(first)))**2 / max(np.mean(first**2), _TINY))
        )

    def get_state(self):
        if self.shares is None:
            return np.concatenate([self.weights, [np.nan] * (1 + 2 * self.n_tasks)])
        return np.concatenate([self.weights, self.shares, [self.outlier_scale], self.scales])

    def project(self, state):
        """Back onto valid values after an extrapolation."""
        state = state.copy()
        n, k = len(self.weights), self.n_tasks
        state[:n] = np.clip(state[:n], 0.0, 1.0)
        state[:n][~self.held] = 1.0
        state[n:n + k] = np.clip(state[n:n + k], 1e-3, 1 - 1e-3)
        state[n + k:] = np.maximum(state[n + k:], _TINY)
        return state

    def set_state(self, state):
        n, k = len(self.weights), self.n_tasks
        self.weights = state[:n].copy()
        if np.isfinite(state[n]):
            self.shares, self.outlier_scale = state[n:n + k].copy(), state[n + k]
            self.scales = state[n + k + 1:].copy()

    def quality(self):
        return np.where(self.held, self.weights, np.nan)

    def posterior(self):
        return None
