"""Transformers for the task-column layout: transform the features, keep the task column."""

import numpy as np
from sklearn.compose import ColumnTransformer

from .utils import resolve_task_col

__all__ = ["make_feature_transformer"]


class _TaskColumnSelector:
    """Column selector for :class:`~sklearn.compose.ColumnTransformer`: a
    boolean mask of the task column (``task=True``) or of every other column."""

    def __init__(self, task_col, task):
        self.task_col = task_col
        self.task = task

    def __call__(self, X):
        names = list(X.columns) if hasattr(X, "columns") else None
        mask = np.zeros(X.shape[1], dtype=bool)
        mask[resolve_task_col(self.task_col, X.shape[1], names)] = True
        return mask if self.task else ~mask

    def __repr__(self):
        which = "the task column" if self.task else "all but the task column"
        return f"<{which} (task_col={self.task_col!r})>"


def make_feature_transformer(transformer, *, task_col=-1):
    """Apply ``transformer`` to the features of ``X`` only, passing the task column through last.

    A scaler in front of a skmtl estimator would rescale the task column
    too, turning task ``3`` into ``1.22``. This returns a
    :class:`~sklearn.compose.ColumnTransformer` that applies
    ``transformer`` to every column except the task column, and appends the
    task column unchanged as the last column, so the estimator after it
    keeps its default ``task_col=-1``.

    Parameters
    ----------
    transformer : estimator, "drop" or "passthrough"
        Transformer of the feature columns, e.g. ``StandardScaler()``.
    task_col : int or str, default=-1
        Position or (for DataFrames) name of the task column of the input.

    Returns
    -------
    ColumnTransformer
        Its output has the transformed features, then the task column, and
        is dense (``sparse_threshold=0``): a ``OneHotEncoder()`` works as it
        is.
        With ``.set_output(transform="pandas")`` the columns keep their
        names, and the task column keeps its dtype: pass task ids beyond
        ``2**53`` that way (a numpy output stacks them next to float
        features as float64, which merges neighbouring ids).

    See Also
    --------
    sklearn.compose.make_column_transformer : The general tool.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.compose import make_feature_transformer
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> model = make_pipeline(make_feature_transformer(StandardScaler()), MultiTaskRidge())
    >>> model.fit(X, y)[-1].tasks_
    array([0, 1, 2])
    """
    return ColumnTransformer(
        [
            ("features", transformer, _TaskColumnSelector(task_col, task=False)),
            ("task", "passthrough", _TaskColumnSelector(task_col, task=True)),
        ],
        # dense always: the estimators read the task column row by row and take no sparse
        # X, and a sparse output (a OneHotEncoder's) cannot hold a text task column
        sparse_threshold=0,
        verbose_feature_names_out=False,
    )


def _input_task_col(estimator):
    """The task column of the data ``estimator`` is fitted on.

    The estimator's own ``task_col``; for a :class:`~sklearn.pipeline.Pipeline`
    whose first step came from :func:`make_feature_transformer`, that step's
    ``task_col`` (the task column of the raw input, wherever it lies), else
    the final step's (steps before it keep the columns in place).
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline):
        return estimator.get_params().get("task_col", -1)
    first = estimator.steps[0][1]
    if isinstance(first, ColumnTransformer):
        selectors = [columns for _, _, columns in first.transformers
                     if isinstance(columns, _TaskColumnSelector) and columns.task]
        if selectors:
            return selectors[0].task_col
    return _input_task_col(estimator.steps[-1][1])

