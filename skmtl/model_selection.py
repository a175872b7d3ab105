"""Splitters that respect the task column: no task vanishes from a training part."""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, validate_params
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
        Seed of the shuffle; only used when ``shuffle=True``.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.

    Notes
    -----
    The rows of each task (and, within a task, of each class) are laid out one
    after the other and dealt to the folds in turn, so fold sizes differ by at
    most one and so do the counts of each task and class across folds. Rows
    that are never held out (see above) appear in no test fold.

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
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.task_col = task_col

    def _iter_test_masks(self, X, y=None, groups=None):
        task, cls = _strata(X, y, self.task_col)
        rng = check_random_state(self.random_state) if self.shuffle else None
        order = _stratified_order(task, cls, rng)
        if len(order) < self.n_splits:
            raise ValueError(
                f"Cannot split {len(order)} rows that can be held out into "
                f"n_splits={self.n_splits} folds (rows alone in their task or "
                "with a missing task label are never held out). Lower n_splits."
            )
        fold = np.full(len(task), -1)
        fold[order] = np.arange(len(order)) % self.n_splits
        for k in range(self.n_splits):
            yield fold == k


def _holdout_mask(task, cls, test_size, rng):
    """Boolean mask of a task-stratified held-out part of ``test_size`` share."""
    order = _stratified_order(task, cls, rng)
    n_test = int(np.ceil(test_size * len(task)))
    if n_test > len(order):
        raise ValueError(
            f"test_size={test_size} asks for {n_test} held-out rows, but only "
            f"{len(order)} rows can be held out (rows alone in their task or "
            "with a missing task label always stay in the training part). "
            "Lower test_size."
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
    return test


class TaskShuffleSplit(_TaskSplitter):
    """Random held-out parts stratified on the task column of ``X``.

    Each split holds out ``test_size`` of the rows, drawn at random: every
    task (and, for classification targets, every class within a task)
    contributes its share, up to one row, as in :class:`TaskStratifiedKFold`.
    Every task keeps at least one row in every training part; a task with a
    single row and rows with a missing task label are never held out. As in
    :class:`~sklearn.model_selection.ShuffleSplit`, the held-out parts of
    different splits may overlap.

    Parameters
    ----------
    n_splits : int, default=10
        Number of splits, at least 1.
    test_size : float, default=0.1
        Share of the rows held out, in (0, 1); the count is rounded up, as in
        :class:`~sklearn.model_selection.ShuffleSplit`. A task whose share
        would take all its rows gives one back to its training part.
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
    [2 3 4 6] [0 1 5]
    [0 2 4 6] [1 3 5]
    [1 3 5 6] [0 2 4]
    """

    @validate_params(
        {
            "n_splits": [Interval(numbers.Integral, 1, None, closed="left")],
            "test_size": [Interval(numbers.Real, 0, 1, closed="neither")],
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
        "test_size": [Interval(numbers.Real, 0, 1, closed="neither")],
        "task_col": [numbers.Integral, str],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def task_train_test_split(X, y, *, test_size=0.25, task_col=-1, shuffle=True, random_state=None):
    """Split data into training and test parts stratified on the task column.

    Each task (and, for classification targets, each class within a task)
    contributes its share of ``test_size`` to the test part, up to one row,
    and every task keeps at least one training row. Rows alone in their task
    or with a missing task label always stay in the training part.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_columns)
        Data with the task column (``task_col``).
    y : array-like of shape (n_samples,)
        Target.
    test_size : float, default=0.25
        Share of the rows in the test part, in (0, 1); the count is rounded
        up, as in :func:`sklearn.model_selection.train_test_split`.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of ``X``.
    shuffle : bool, default=True
        Pick the test rows at random within each task and class; otherwise
        spread them evenly in the order of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle.

    Returns
    -------
    X_train, X_test, y_train, y_test : array-like
        Row subsets of ``X`` and ``y``, of the same container types.

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
    task, cls = _strata(X, np.asarray(y), task_col)
    rng = check_random_state(random_state) if shuffle else None
    test = _holdout_mask(task, cls, test_size, rng)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    return [
        _safe_indexing(a, idx) for a in (X, y) for idx in (train_idx, test_idx)
    ]
