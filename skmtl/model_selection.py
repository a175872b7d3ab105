"""Splitters that respect the task column: no task vanishes from a training part."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import _safe_indexing, check_consistent_length, check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, validate_params
from sklearn.utils.multiclass import type_of_target

from .utils import task_labels

__all__ = ["TaskStratifiedKFold", "TaskShuffleSplit", "task_train_test_split", "holdout_candidates"]


def _strata(X, y, task_col):
    """Integer task code and within-task stratum of each row.

    The within-task stratum is the class of ``y`` for classification targets,
    0 otherwise. Rows with a missing task label get task code -1.
    """
    labels, missing = task_labels(X, task_col)
    task = np.full(len(labels), -1, dtype=np.intp)
    if not missing.all():
        _, task[~missing] = np.unique(labels[~missing].astype(str), return_inverse=True)
    if y is not None and len(y) != len(task):
        raise ValueError(f"X has {len(task)} rows but y has {len(y)}; they must match.")
    if y is not None and np.ndim(y) == 2 and np.shape(y)[1] == 1:  # a column vector
        y = np.asarray(y).ravel()
    if y is not None and type_of_target(y) in ("binary", "multiclass"):
        _, cls = np.unique(np.asarray(y), return_inverse=True)
    else:
        cls = np.zeros(len(task), dtype=np.intp)
    return task, cls


def _stratified_order(task, cls, rng):
    """Order of the rows that can be held out, grouped by task then class.

    Rows with a missing task label and rows alone in their task are left out:
    they always stay in the training part. Within a (task, class) stratum
    the rows are shuffled when ``rng`` is given, else kept in input order.
    """
    eligible = np.flatnonzero(task >= 0)
    eligible = eligible[np.bincount(task[eligible])[task[eligible]] >= 2]
    tiebreak = np.arange(len(eligible)) if rng is None else rng.permutation(len(eligible))
    order = np.lexsort((tiebreak, cls[eligible], task[eligible]))
    return eligible[order]


def holdout_candidates(X, y=None, *, task_col=-1):
    """Which rows a task-respecting splitter may hold out.

    Every row with a task label, except a task's only row: the splitters of
    this module never hold those out, so that no task vanishes from a
    training part. A selector or a command line can count them to choose how
    many folds are possible.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Data with the task column.
    y : array-like of shape (n_samples,), default=None
        Targets; only their length is checked.
    task_col : int or str, default=-1
        Position, or DataFrame column name, of the task label in ``X``.

    Returns
    -------
    mask : ndarray of shape (n_samples,) of bool
        True for the rows that can be held out.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import holdout_candidates
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 1], [0.4, np.nan]])
    >>> holdout_candidates(X).tolist()          # task 1 has one row; row 3 has no task
    [True, True, False, False]
    """
    task, cls = _strata(X, y, task_col)
    mask = np.zeros(len(task), dtype=bool)
    mask[_stratified_order(task, cls, None)] = True
    return mask


class _TaskSplitter(BaseCrossValidator):
    """``split`` and ``get_n_splits`` of the splitters on the task column."""

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object, default=None
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Generate indices of the training and test rows of each split.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Data with the task column (``task_col``).
        y : array-like of shape (n_samples,), default=None
            Target; classification targets are stratified within each task.
        groups : None
            Ignored; present for API compatibility.

        Yields
        ------
        train : ndarray
            Positions of the training rows.
        test : ndarray
            Positions of the test rows.
        """
        yield from super().split(X, y, groups)


class TaskStratifiedKFold(_TaskSplitter):
    """K-fold cross-validation stratified on the task column of ``X``.

    Every task is spread evenly over the folds, so no task vanishes from a
    training part: a task with at least two rows keeps at least one row in
    every training part, and a task with a single row is never held out (that
    row is in every training part). For classification targets the classes
    are also spread evenly within each task. Rows with a missing task label
    are never held out either. skmtl cross-fits with this splitter wherever
    it splits data itself.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Shuffle the rows within each task (and class) before assigning them
        to folds; otherwise they are taken in the order of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; set it only with ``shuffle=True`` (as in
        :class:`~sklearn.model_selection.KFold`, a seed without the shuffle is
        refused: it would have no effect).
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.

    Notes
    -----
    The rows of each task (and, within a task, of each class) are laid out one
    after the other and dealt to the folds in turn, so fold sizes differ by at
    most one and so do the counts of each task, and of each class within a
    task, across folds. Where that deal would leave a class out of a test
    fold while it has a row for each (a rare class in tasks whose sizes are
    multiples of ``n_splits`` lands in the same fold of every task), each
    task's deal starts at the fold that spreads the classes most evenly.
    Rows that are never held out (see above) appear in no test fold, so
    :func:`~sklearn.model_selection.cross_val_predict`, which needs every
    row in a test fold, works only where every task has two rows or more
    and every row a task label. In
    :func:`~sklearn.model_selection.learning_curve`, pass ``shuffle=True``:
    it trains on the first rows of each training part, which are then not
    the first tasks only.

    See Also
    --------
    TaskShuffleSplit : Random held-out parts of a chosen size.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 1], [0.5, 1], [0.6, 2]])
    >>> for train, test in TaskStratifiedKFold(n_splits=2).split(X):
    ...     print(train, test)
    [1 3 5] [0 2 4]
    [0 2 4 5] [1 3]
    """

    @validate_params(
        {
            "n_splits": [Interval(numbers.Integral, 2, None, closed="left")],
            "shuffle": ["boolean"],
            "random_state": ["random_state"],
            "task_col": [numbers.Integral, str],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, n_splits=5, *, shuffle=False, random_state=None, task_col=-1):
        if not shuffle and random_state is not None:
            raise ValueError(
                f"random_state={random_state!r} has no effect with shuffle=False: leave "
                "random_state at None, or pass shuffle=True."
            )
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.task_col = task_col

    def _iter_test_masks(self, X, y=None, groups=None):
        task, cls = _strata(X, y, self.task_col)
        rng = check_random_state(self.random_state) if self.shuffle else None
        order = _stratified_order(task, cls, rng)
        if len(order) < self.n_splits:
            alone = (task >= 0).sum() and len(order) == 0
            raise ValueError(
                f"Cannot split {len(order)} rows that can be held out into "
                f"n_splits={self.n_splits} folds (rows alone in their task or "
                "with a missing task label are never held out). "
                + ("Every row is alone in its task: is task_col (now "
                   f"{self.task_col!r}) the column of task labels?" if alone else "Lower n_splits.")
            )
        fold = np.full(len(task), -1)
        fold[order] = np.arange(len(order)) % self.n_splits
        if _leaves_a_class_out(fold, cls, self.n_splits):
            fold[order] = _class_balanced_deal(task[order], cls[order], self.n_splits)
        for k in range(self.n_splits):
            yield fold == k


def _leaves_a_class_out(fold, cls, n_splits):
    """Whether a class of ``n_splits`` held-out rows or more misses a test fold or,
    all in one, a training part (the plain deal puts a rare class in the same
    folds of every task where the tasks' sizes are multiples of ``n_splits``)."""
    held = fold >= 0
    for c in np.unique(cls[held]):
        counts = np.bincount(fold[held & (cls == c)], minlength=n_splits)
        if counts.sum() >= n_splits and (counts == 0).any():
            return True
    return False


def _class_balanced_deal(task, cls, n_splits):
    """Folds of rows laid out by task then class: each task's rows are dealt in
    turn from the fold that keeps the fold sizes, then each class's count per
    fold, most even (so a task's and a (task, class)'s counts still differ by at
    most one across folds)."""
    fold = np.empty(len(task), dtype=int)
    sizes = np.zeros(n_splits)
    counts = np.zeros((cls.max() + 1, n_splits))
    starts = np.flatnonzero(np.r_[True, task[1:] != task[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(task)]):
        dealt = np.arange(stop - start)
        best = None
        for offset in range(n_splits):
            f = (offset + dealt) % n_splits
            new_sizes = sizes + np.bincount(f, minlength=n_splits)
            new_counts = counts.copy()
            np.add.at(new_counts, (cls[start:stop], f), 1)
            cost = (np.sum(new_sizes**2), np.sum(new_counts**2))
            if best is None or cost < best[0]:
                best = (cost, f, new_sizes, new_counts)
        _, fold[start:stop], sizes, counts = best
    return fold


def _holdout_mask(task, cls, test_size, rng):
    """Boolean mask of a task-stratified held-out part of ``test_size`` rows
    (an int) or share (a float)."""
    order = _stratified_order(task, cls, rng)
    # a share of the rows that can be held out: counting the others would take
    # more than its share from each task
    if isinstance(test_size, numbers.Integral):
        most = len(order) - len(np.unique(task[order]))  # every task keeps a training row
        if test_size > most:
            raise ValueError(
                f"test_size={test_size} rows is more than the {most} that can be held out while "
                "every task keeps a training row (rows alone in their task or with a missing "
                "task label always stay in the training part); pass fewer rows, or a share as a "
                "float in (0, 1)."
            )
        n_test = int(test_size)
    else:
        n_test = int(np.ceil(test_size * len(order)))
    if n_test == 0:
        raise ValueError(
            f"test_size={test_size} holds out no row: no task has two rows (rows alone in "
            "their task or with a missing task label always stay in the training part)."
        )
    # systematic sampling along the task-grouped order: every task and class
    # gets its share of held-out rows, up to one row
    rate = n_test / len(order)
    position = np.arange(len(order) + 1) + (0.0 if rng is None else rng.uniform())
    picked = np.diff(np.floor(position * rate)) > 0
    test = np.zeros(len(task), dtype=bool)
    test[order[picked]] = True
    # a task must keep one training row: give back its last held-out row
    for t in np.unique(task[test]):
        rows = task == t
        if test[rows].all():
            test[np.flatnonzero(rows & test)[-1]] = False
    held_out = np.bincount(cls[order])
    if any(test[cls == c].all() and (1 - rate) * held_out[c] >= 3 for c in np.unique(cls[order])):
        # the same rounding in every task held out all of a class that should have kept
        # three training rows or more (one positive a task)
        test = _holdout_by_randomized_rounding(task, cls, order, n_test, rng)
    return test


def _holdout_by_randomized_rounding(task, cls, order, n_test, rng):
    """A held-out part of ``n_test`` rows of ``order`` whose counts per task, then
    per class within a task, are their shares rounded up or down at random
    (in proportion to the fraction), so no class loses every training row by
    the same rounding in every task."""
    rng = check_random_state(rng if rng is not None else 0)
    test = np.zeros(len(task), dtype=bool)

    def rounded(shares):
        # systematic randomized rounding: sums to round(shares.sum()), each share up or down
        edges = np.floor(np.cumsum(np.r_[0.0, shares]) + rng.uniform())
        return np.diff(edges).astype(int)

    tasks, sizes = np.unique(task[order], return_counts=True)
    per_task = np.minimum(rounded(n_test * sizes / sizes.sum()), sizes - 1)
    for t, n_t in zip(tasks, per_task):
        rows = order[task[order] == t]
        classes, counts = np.unique(cls[rows], return_counts=True)
        permuted = rng.permutation(len(classes))  # no class first in every task
        per_class = np.empty(len(classes), dtype=int)
        per_class[permuted] = rounded((n_t * counts / counts.sum())[permuted])
        for c, n_c in zip(classes, per_class):
            members = rows[cls[rows] == c]
            test[rng.permutation(members)[:n_c]] = True
    return test


class TaskShuffleSplit(_TaskSplitter):
    """Random held-out parts stratified on the task column of ``X``.

    Each split holds out ``test_size`` of the rows that can be held out,
    drawn at random: every task (and, for classification targets, every
    class within a task) contributes its share, up to one row, as in
    :class:`TaskStratifiedKFold`. How many rows each task and class gives
    follows from their sizes (the same in every split); which rows, at
    random. Where that rounding, the same in every task, would hold out all
    of a class that should keep three training rows or more (one positive in
    each task), each task's and class's count is rounded up or down at
    random instead.
    Every task keeps at least one row in every training part; a task with a
    single row and rows with a missing task label are never held out. As in
    :class:`~sklearn.model_selection.ShuffleSplit`, the held-out parts of
    different splits may overlap.

    Parameters
    ----------
    n_splits : int, default=10
        Number of splits, at least 1.
    test_size : float or int, default=0.1
        Share of the rows that can be held out (rows alone in their task or
        without a task label cannot) held out, in (0, 1); the count is
        rounded up, as in :class:`~sklearn.model_selection.ShuffleSplit`. An
        int is the number of rows held out, spread over the tasks and
        classes as a share is. A task whose share would take all its rows
        gives one back to its training part.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws; an int gives the same splits at every call of
        :meth:`split`. The first split of ``random_state=s`` holds out the
        test rows of ``task_train_test_split(..., random_state=s)``.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.

    See Also
    --------
    TaskStratifiedKFold : Every row held out once, in ``n_splits`` folds.
    task_train_test_split : One split, returned as the rows themselves.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskShuffleSplit
    >>> X = np.array([[0.1, 0], [0.2, 0], [0.3, 0], [0.4, 0], [0.5, 1], [0.6, 1], [0.7, 2]])
    >>> for train, test in TaskShuffleSplit(3, test_size=0.3, random_state=0).split(X):
    ...     print(train, test)
    [0 1 2 4 6] [3 5]
    [0 1 3 4 6] [2 5]
    [0 1 2 5 6] [3 4]
    """

    @validate_params(
        {
            "n_splits": [Interval(numbers.Integral, 1, None, closed="left")],
            "test_size": [Interval(numbers.Integral, 1, None, closed="left"),
                          Interval(RealNotInt, 0, 1, closed="neither")],
            "random_state": ["random_state"],
            "task_col": [numbers.Integral, str],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, n_splits=10, *, test_size=0.1, random_state=None, task_col=-1):
        self.n_splits = n_splits
        self.test_size = test_size
        self.random_state = random_state
        self.task_col = task_col

    def _iter_test_masks(self, X, y=None, groups=None):
        task, cls = _strata(X, y, self.task_col)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            yield _holdout_mask(task, cls, self.test_size, rng)


@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like"],
        "test_size": [Interval(numbers.Integral, 1, None, closed="left"),
                      Interval(RealNotInt, 0, 1, closed="neither")],
        "task_col": [numbers.Integral, str],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def task_train_test_split(X, y, *arrays, test_size=0.25, task_col=-1, shuffle=True, random_state=None):
    """Split data into training and test parts stratified on the task column.

    Each task (and, for classification targets, each class within a task)
    contributes its share of ``test_size`` to the test part, up to one row,
    and every task keeps at least one training row. Rows alone in their task
    or with a missing task label always stay in the training part. Unlike
    :func:`sklearn.model_selection.train_test_split` it needs ``X`` (the task
    column does the stratifying) and ``y`` first; further arrays of as many
    rows (sample weights, say) are split alike.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Data with the task column (``task_col``).
    y : array-like of shape (n_samples,)
        Target.
    *arrays : array-likes of n_samples rows
        Split with the same rows as ``X`` and ``y``.
    test_size : float or int, default=0.25
        Share of the rows that can be held out put in the test part, in
        (0, 1); the count is rounded up, as in
        :func:`sklearn.model_selection.train_test_split`. An int is the
        number of test rows, spread over the tasks and classes as a share is.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.
    shuffle : bool, default=True
        Pick the test rows at random within each task and class; otherwise
        spread them evenly in the order of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle.

    Returns
    -------
    X_train, X_test, y_train, y_test, ... : array-like
        Row subsets of ``X``, ``y`` and each of ``arrays``, in that order, of
        the same container types.

    See Also
    --------
    TaskShuffleSplit : The same held-out rows as positions, for several splits.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.model_selection import task_train_test_split
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=[50, 10, 4], random_state=0)
    >>> X_train, X_test, y_train, y_test = task_train_test_split(
    ...     X, y, test_size=0.2, random_state=0)
    >>> np.unique(X_test[:, -1], return_counts=True)[1]   # 20% of each task
    array([10,  2,  1])
    """
    check_consistent_length(X, y, *arrays)
    task, cls = _strata(X, np.asarray(y), task_col)
    rng = check_random_state(random_state) if shuffle else None
    test = _holdout_mask(task, cls, test_size, rng)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    return [
        _safe_indexing(a, idx) for a in (X, y, *arrays) for idx in (train_idx, test_idx)
    ]
