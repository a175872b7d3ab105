"""Converting between the task-column layout and per-task arrays."""

import numpy as np
from sklearn.utils import check_array, check_consistent_length

from ._tasks import (
    _task_column, missing_task_mask, normalize_task_labels, resolve_task_col, text_columns_as_object,
)


def stack_tasks(Xs, ys):
    """Stack per-task arrays into the task-column layout.

    Parameters
    ----------
    Xs : dict of {task: array of shape (n_k, n_features)} or sequence of arrays
        Features of each task. A sequence labels its tasks ``0 .. K-1``.
    ys : dict or sequence of arrays of shape (n_k,)
        Targets of each task, in the same order or with the same keys.

    Returns
    -------
    X : ndarray of shape (sum n_k, n_features + 1)
        Features with the task label as the last column.
    y : ndarray of shape (sum n_k,)

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import stack_tasks
    >>> X, y = stack_tasks([np.zeros((2, 3)), np.ones((1, 3))], [[1, 2], [3]])
    >>> X[:, -1]
    array([0., 0., 1.])
    >>> y
    array([1, 2, 3])
    """
    if isinstance(Xs, dict):
        if not isinstance(ys, dict) or set(Xs) != set(ys):
            raise ValueError("Xs and ys must be dicts with the same task keys.")
        labels = list(Xs)
        Xs, ys = [Xs[t] for t in labels], [ys[t] for t in labels]
    else:
        labels = list(range(len(Xs)))
        if len(ys) != len(Xs):
            raise ValueError(f"Got {len(Xs)} feature arrays but {len(ys)} target arrays.")
    if not labels:
        raise ValueError("stack_tasks needs at least one task.")
    blocks, targets, task_column = [], [], []
    for label, X_k, y_k in zip(labels, Xs, ys):
        X_k = check_array(X_k, ensure_min_samples=1)
        y_k = np.asarray(y_k).ravel()
        check_consistent_length(X_k, y_k)
        blocks.append(X_k)
        targets.append(y_k)
        task_column.extend([label] * len(X_k))
    task_column = np.asarray(task_column)
    X = np.vstack(blocks)
    # labels the features' dtype cannot hold exactly (ids beyond 2**53 in float64,
    # 2.5 next to integer features) are kept as objects
    exact = False
    if task_column.dtype.kind in "iuf":
        with np.errstate(invalid="ignore"):
            converted = task_column.astype(X.dtype)
            exact = np.array_equal(converted.astype(task_column.dtype), task_column)
    if exact:
        X = np.column_stack([X, converted])
    else:
        X = np.column_stack([X.astype(object), task_column.astype(object)])
    return X, np.concatenate(targets)


def split_tasks(X, y, task_col=-1):
    """Split the task-column layout into per-task arrays.

    Rows with a missing task label are dropped.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_columns)
    y : array-like of shape (n_samples,)
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column.

    Returns
    -------
    dict of {task: (X_k, y_k)}
        Tasks in sorted order; ``X_k`` without the task column.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import split_tasks
    >>> X = np.array([[0.5, 0], [1.5, 1], [2.5, 0]])
    >>> parts = split_tasks(X, np.array([1.0, 2.0, 3.0]))
    >>> sorted(parts)
    [0, 1]
    >>> parts[0][1]
    array([1., 3.])
    """
    names = list(X.columns) if hasattr(X, "columns") else None
    X = text_columns_as_object(X)
    X_arr = check_array(X, dtype=None, ensure_all_finite=False)
    y = np.asarray(y)
    check_consistent_length(X_arr, y)
    idx = resolve_task_col(task_col, X_arr.shape[1], names)
    labels = _task_column(X, X_arr, idx)
    missing = missing_task_mask(labels)
    labels = normalize_task_labels(labels[~missing])
    X_arr, y = np.delete(X_arr[~missing], idx, axis=1), y[~missing]
    if X_arr.dtype == object:
        try:
            X_arr = X_arr.astype(float)
        except (TypeError, ValueError):
            pass
    # numpy scalars become Python ones so that keys print and compare plainly
    return {
        getattr(t, "item", lambda: t)(): (X_arr[labels == t], y[labels == t])
        for t in np.unique(labels)
    }
