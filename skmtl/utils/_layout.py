"""The task layout of a data set, read once from its task column."""

from dataclasses import dataclass, field

import numpy as np

from ._tasks import encode_tasks, missing_task_mask, normalize_task_labels


def task_groups(row_tasks, n_tasks):
    """``(k, rows of task k)`` for every task that has rows, in task order.

    One sort instead of a mask per task: ``O(n log n)``, not ``O(n K)``.
    Rows with a negative task index (no task) are in no group.

    Parameters
    ----------
    row_tasks : ndarray of shape (n_rows,)
        Task index of each row, -1 for rows without a task.
    n_tasks : int
        Number of tasks.

    Yields
    ------
    task : int
        Index of a task that has rows.
    rows : ndarray of int
        Positions of its rows, increasing.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import task_groups
    >>> [(int(k), rows.tolist()) for k, rows in task_groups(np.array([1, 0, 1, -1]), 3)]
    [(0, [1]), (1, [0, 2])]
    """
    order = np.argsort(row_tasks, kind="stable")
    bounds = np.searchsorted(row_tasks[order], np.arange(n_tasks + 1))
    for k in np.flatnonzero(np.diff(bounds)):
        yield k, order[bounds[k]:bounds[k + 1]]


@dataclass(frozen=True)
class TaskLayout:
    """Which rows belong to which task: the task column read once.

    Parameters
    ----------
    labels : ndarray of shape (n_rows,)
        Task label of each row (NaN or None where missing), as returned by
        :func:`task_labels`.
    tasks : ndarray of shape (n_tasks,), default=None
        The tasks to encode against (e.g. a fitted ``tasks_``); when None,
        the sorted distinct labels of the rows with positive
        ``sample_weight``: the tasks a fit on these rows has.
    sample_weight : ndarray of shape (n_rows,), default=None
        Row weights, for choosing the tasks; every row counts when None.

    Attributes
    ----------
    missing : ndarray of shape (n_rows,) of bool
        Rows without a task label.
    row_task : ndarray of shape (n_rows,) of int
        Index of each row's task in ``tasks``; -1 where the label is missing
        or not in ``tasks``.
    counts : ndarray of shape (n_tasks,) of int
        Rows per task.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import TaskLayout
    >>> layout = TaskLayout(np.array(["b", "a", None, "b"], dtype=object))
    >>> layout.tasks.tolist(), layout.row_task.tolist(), layout.counts.tolist()
    (['a', 'b'], [1, 0, -1, 1], [1, 2])
    """

    labels: np.ndarray
    tasks: np.ndarray = None
    sample_weight: np.ndarray = field(default=None, repr=False)
    missing: np.ndarray = field(init=False, repr=False)
    row_task: np.ndarray = field(init=False, repr=False)
    counts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        missing = missing_task_mask(self.labels)
        tasks = self.tasks
        if tasks is None:
            weighed = ~missing if self.sample_weight is None else ~missing & (self.sample_weight > 0)
            # integers: int64 even where missing labels left the column as objects
            tasks = np.unique(normalize_task_labels(self.labels[weighed]))
        row_task = encode_tasks(self.labels, tasks)
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "missing", missing)
        object.__setattr__(self, "row_task", row_task)
        object.__setattr__(self, "counts", np.bincount(row_task[row_task >= 0], minlength=len(tasks)))

    def groups(self):
        """``(k, rows of task k)`` for every task that has rows (see :func:`task_groups`).

        Returns
        -------
        groups : generator of (int, ndarray)
        """
        return task_groups(self.row_task, len(self.tasks))
