"""The task-column data layout: one row per sample, the task label in a column of X."""

import numbers
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from ._magnitude import _unsafe_scale, check_magnitude


def missing_task_mask(labels):
    """Boolean mask of missing task labels (NaN, None or pandas NA).

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Task labels, as :func:`task_labels` returns them.

    Returns
    -------
    missing : ndarray of shape (n_rows,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import missing_task_mask
    >>> missing_task_mask(np.array([0.0, np.nan, 2.0])).tolist()
    [False, True, False]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        return np.isnan(labels)
    if labels.dtype.kind != "O":
        return np.zeros(labels.shape, dtype=bool)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        return np.array([v is None or (isinstance(v, float) and v != v) for v in labels])
    return np.asarray(pd.isna(labels), dtype=bool)


def normalize_task_labels(labels):
    """Task labels as int64 where they hold integers, else unchanged.

    A task column in a float array (as :func:`stack_tasks` builds) holds
    ``3.0`` for task ``3``; mapping it back makes ``tasks_`` show the user's
    labels. Floats are cast only when every value is an integer that float64
    represents exactly (``|x| <= 2**53``): beyond that, casting would merge
    or overflow distinct labels, so they stay floats.

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Task labels without missing values.

    Returns
    -------
    labels : ndarray of shape (n_rows,)

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import normalize_task_labels
    >>> normalize_task_labels(np.array([3.0, 1.0])).tolist()
    [3, 1]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "O" and len(labels) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in labels
    ):
        # the values of a nullable or categorical integer column: keep them exact
        integral = all(isinstance(v, numbers.Integral) for v in labels)
        try:
            labels = labels.astype(np.int64 if integral else float)
        except OverflowError:  # Python ints beyond int64: kept exactly, as objects
            return labels
    if (
        labels.dtype.kind == "f"
        and np.all(np.abs(labels) <= 2**53)
        and np.all(labels == np.round(labels))
    ):
        return labels.astype(np.int64)
    if labels.dtype.kind in "US":
        return labels.astype(object)
    return labels


def resolve_task_col(task_col, n_columns, feature_names=None):
    """Position of the task column in X; a clear error if there is none.

    Parameters
    ----------
    task_col : int or str
        Position (negative counts from the end) or column name.
    n_columns : int
        Number of columns of X.
    feature_names : array-like of str, default=None
        Column names of X, needed when ``task_col`` is a name.

    Returns
    -------
    index : int
        Non-negative position of the task column.

    Examples
    --------
    >>> from skmtl.utils import resolve_task_col
    >>> resolve_task_col(-1, 4), resolve_task_col("school", 3, ["a", "school", "b"])
    (3, 1)
    """
    if isinstance(task_col, str):
        if feature_names is None:
            raise ValueError(
                f"task_col={task_col!r} is a column name, but X has no column "
                "names. Pass a pandas DataFrame (whose column names are all strings: "
                "scikit-learn reads no names from others, e.g. integers; "
                "X.columns = X.columns.astype(str) gives them), or give task_col as an integer "
                "position (default -1, the last column). In a pipeline, a step before "
                "this one returned an array: skmtl.compose.make_feature_transformer puts "
                "the task column last (use task_col=-1 after it), or keep the names with "
                "set_output(transform='pandas')."
            )
        names = list(feature_names)
        if task_col not in names:
            raise ValueError(
                f"task_col={task_col!r} is not a column of X. Columns are: {names}."
            )
        return names.index(task_col)
    if isinstance(task_col, numbers.Integral) and not isinstance(task_col, bool):
        if not -n_columns <= task_col < n_columns:
            raise ValueError(
                f"task_col={task_col} is out of range for X with {n_columns} "
                "columns; the task label must be one of the columns of X."
            )
        return int(task_col) % n_columns
    raise TypeError(f"task_col must be an int or a str, got {task_col!r}.")


def text_columns_as_object(X):
    """``X`` with the non-numeric extension columns of a DataFrame (categorical,
    pyarrow text) as object columns; any other ``X`` as it is.

    ``check_array(X, dtype=None)`` casts a frame to float when one of its
    columns is a bool or a nullable or pyarrow number and none is of object
    or pandas' ``StringDtype``: a categorical or pyarrow-text task column
    beside such a feature failed with ``Cannot cast str dtype to float64``.
    Only the dtypes change: a shallow copy, the same names and index.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_rows, n_columns)

    Returns
    -------
    X : array-like or DataFrame of shape (n_rows, n_columns)

    Examples
    --------
    >>> import pandas as pd
    >>> from skmtl.utils._tasks import text_columns_as_object
    >>> X = pd.DataFrame({"a": [True, False], "task": pd.Categorical(["s1", "s2"])})
    >>> text_columns_as_object(X).dtypes.astype(str).tolist()
    ['bool', 'object']
    """
    dtypes = getattr(X, "dtypes", None)
    if not hasattr(X, "iloc") or not hasattr(dtypes, "__iter__"):
        return X
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    text = [j for j, dtype in enumerate(dtypes)
            if not isinstance(dtype, np.dtype) and not is_numeric_dtype(dtype)
            and not is_bool_dtype(dtype)]
    if not text:
        return X
    X = X.copy(deep=False)
    for j in text:
        X.isetitem(j, X.iloc[:, j].astype(object))
    return X


def check_task_X(estimator, X, *, reset, input_name="X"):
    """Validate X for a skmtl estimator and separate its task column.

    Sets ``n_features_in_`` / ``feature_names_in_`` when ``reset``, and the
    position of the task column, which later calls (``reset=False``) reuse
    so that a fitted estimator ignores a ``task_col`` changed after fit.

    Parameters
    ----------
    estimator : estimator instance
        Has a ``task_col`` parameter.
    X : array-like or DataFrame of shape (n_rows, n_columns)
        Features plus the task column.
    reset : bool
        True in ``fit``, False afterwards.
    input_name : str, default="X"
        How error messages name ``X`` (``"X_val"`` for validation data).

    Returns
    -------
    features : ndarray of shape (n_rows, n_columns - 1)
        The other columns, as floats.
    labels : ndarray of shape (n_rows,)
        The normalized task label of each row (missing labels kept as NaN/None).

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.utils import check_task_X
    >>> features, labels = check_task_X(MultiTaskRidge(), np.array([[0.5, 1], [1.5, 2]]), reset=True)
    >>> features.ravel().tolist(), labels.tolist()
    ([0.5, 1.5], [1, 2])
    """
    if _is_dask(X):
        if reset:
            raise TypeError(
                f"{type(estimator).__name__} does not take a Dask {input_name}: compute it first "
                f"({input_name}.compute()). Only MultiTaskRidge fits a Dask collection.")
        # predict, score, influence: the rows are needed in memory; computed here (for a
        # lazy prediction, X.map_partitions(model.predict))
        X = X.compute()
    X = text_columns_as_object(X)
    try:
        X_array = validate_data(
            estimator, X, reset=reset, dtype=None, ensure_all_finite=False,
            ensure_min_samples=1,
        )
    except TypeError as exc:
        if not sp.issparse(X):
            raise
        # scikit-learn's words first (its checks look for "sparse"), then what to do in a pipeline
        raise TypeError(
            f"{exc} {type(estimator).__name__} reads the task label of each row from a column "
            f"of {input_name}, which takes a dense {input_name}. A ColumnTransformer with a "
            "OneHotEncoder returns a sparse matrix when its output is mostly zeros: pass it "
            "sparse_threshold=0 (or the encoder sparse_output=False)."
        ) from exc
    except ValueError as exc:
        if input_name == "X" and (reset or "features, but" not in str(exc)):
            raise
        if input_name == "X":  # predict, score: scikit-learn's words first, as its checks expect
            raise ValueError(f"{exc} X needs the columns of the X given to fit, task column "
                             "included.") from exc
        # scikit-learn's messages call every input X
        raise ValueError(
            f"Invalid {input_name} (it needs the columns of the X given to fit, task "
            f"column included): {exc}"
        ) from exc
    task_idx = None if reset else getattr(estimator, "_task_col_index", None)
    if task_idx is None:  # in fit; or a model of another family, fitted without this function
        task_idx = resolve_task_col(getattr(estimator, "task_col", -1), X_array.shape[1],
                                    getattr(estimator, "feature_names_in_", None))
    if reset:
        estimator._task_col_index = task_idx
    labels = _task_column(X, X_array, task_idx)
    features = np.delete(X_array, task_idx, axis=1)
    try:
        features = _as_float(features)
    except (TypeError, ValueError) as exc:
        raise type(exc)(_non_numeric_message(estimator, features, task_idx, reset, input_name, exc)) from exc
    features = check_array(features, ensure_min_features=0, input_name=input_name, estimator=estimator)
    _check_magnitude(features, estimator, task_idx, input_name)
    labels, missing = _labels_with_missing(labels)
    if reset:
        present = normalize_task_labels(labels[~missing])  # numbers, not objects, if any missing
        _warn_if_inexact(present)
        _warn_if_not_task_ids(estimator, present, task_idx)
    return features, labels


def final_step(estimator, X=None):
    """The estimator that reads the task column, and ``X`` as it sees it: a
    fitted :class:`~sklearn.pipeline.Pipeline`'s last step and ``X`` through
    the steps before it, else both as given (``X`` None stays None)."""
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline):
        return estimator, X
    return estimator[-1], (None if X is None else estimator[:-1].transform(X))


def final_step_param(estimator, name, *, fit=False):
    """``name`` as ``set_params`` spells it for the final step:
    ``"<last step>__name"`` for a :class:`~sklearn.pipeline.Pipeline`. With
    ``fit=True``, as ``fit`` takes it: ``name`` itself where scikit-learn's
    metadata routing is enabled (the pipeline routes it to the steps that
    request it, and says how to request it where none does)."""
    from sklearn import get_config
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline) or (fit and get_config().get("enable_metadata_routing", False)):
        return name
    return f"{estimator.steps[-1][0]}__{name}"


# a column of UNLIKE_TRAINING_ROWS validation rows or more whose median lies this many of
# the training column's standard deviations from its mean was not transformed as the
# training data was: a distribution's median lies within one standard deviation of its
# mean, and the median of 5 rows beyond 5 needs 3 of them beyond it (a 0/1 column of
# 1 % ones: 3 ones in 5 rows, p = 1e-5)
UNLIKE_TRAINING_SPREADS = 5
UNLIKE_TRAINING_ROWS = 5
UNLIKE_TRAINING = "looks transformed unlike the rows"


# what an estimator's validation data that looks untransformed should go through
TRANSFORM_X_VAL = ("In a pipeline, pass X_val through the steps before the model, e.g. "
                   "pipe[-1].task_relatedness(pipe[:-1].transform(X_val), y_val).")


def feature_spread(features, rows=None, block_rows=65536):
    """Each feature column's mean and standard deviation over ``rows`` (a mask;
    every row when None), NaN ignored, which :func:`warn_if_unlike_training`
    compares validation rows with. Read in blocks of rows: ``nanstd`` of a
    selection of a million rows of 50 features held three copies of it at
    once, most of a fit's peak memory."""
    rows = np.arange(len(features)) if rows is None else np.flatnonzero(rows)
    blocks = [rows[start:start + block_rows] for start in range(0, len(rows), block_rows)]
    sums, counts = np.zeros(features.shape[1]), np.zeros(features.shape[1])
    for block in blocks:
        values = features[block]
        known = ~np.isnan(values)
        sums += np.where(known, values, 0.0).sum(axis=0)
        counts += known.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):  # a column all NaN: no mean, no spread
        mean = sums / counts
        squares = np.zeros(features.shape[1])
        for block in blocks:
            deviation = features[block] - mean
            squares += np.where(np.isnan(deviation), 0.0, deviation**2).sum(axis=0)
        return mean, np.sqrt(squares / counts)


def check_validation_rows(estimator, X_val, y_val):
    """The validation rows of a fitted skmtl estimator: ``(features, y_val,
    task index)`` of the rows of tasks seen in fit (the others dropped with a
    warning), checked as fit checks its own (non-finite targets named as
    ``y_val``) and warned about where they look transformed unlike the
    training rows."""
    from sklearn.utils.validation import column_or_1d

    features, labels = check_task_X(estimator, X_val, reset=False, input_name="X_val")
    warn_if_unlike_training(estimator, estimator._feature_spread, features, fix=TRANSFORM_X_VAL)
    y_val = column_or_1d(y_val)
    check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val", estimator=estimator)
    if len(y_val) != len(features):
        raise ValueError(f"X_val has {len(features)} rows but y_val has {len(y_val)}.")
    row_task = encode_fitted_tasks(
        labels, estimator.tasks_, rows="validation rows", unseen="warn",
        consequence="they are ignored.",
    )
    keep = row_task >= 0
    return features[keep], y_val[keep], row_task[keep]


def warn_if_unlike_training(estimator, spread, val_features, *, input_name="X_val", fix=""):
    """Warn where a feature of validation rows is centred far outside the
    training rows' (``UNLIKE_TRAINING_SPREADS`` of their standard deviations;
    ``spread`` as :func:`feature_spread` returns it), which a scaler applied to
    one and not the other does: the pipeline's steps skipped, say. ``fix``
    says how to transform it. ``spread`` None (a fit that kept no rows, as
    from Dask partitions): nothing to compare with."""
    if spread is None:
        return
    mean, std = spread
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(val_features, axis=0)
    distance = np.abs(centre - mean) / np.where(std > 0, std, np.inf)
    distance = np.where(np.isfinite(distance), distance, 0.0)
    if (not len(distance) or len(val_features) < UNLIKE_TRAINING_ROWS
            or distance.max() <= UNLIKE_TRAINING_SPREADS):
        return
    worst = int(np.argmax(distance))
    position = np.delete(np.arange(len(mean) + 1), estimator._task_col_index)[worst]
    shown = mean[worst] if abs(mean[worst]) > 1e-9 * std[worst] else 0.0  # not -5e-15
    warnings.warn(
        f"{input_name}'s column {_column_name(estimator, position)} is centred at "
        f"{centre[worst]:.4g}, {distance[worst]:.0f} standard deviations from its mean in the "
        f"training data ({shown:.3g} ± {std[worst]:.3g}): {input_name} {UNLIKE_TRAINING} "
        f"{type(estimator).__name__} was fitted on. {fix}",
        UserWarning,
    )


def _column_name(estimator, position):
    """A column of X as the user knows it: its name, else its position."""
    names = getattr(estimator, "feature_names_in_", None)
    return repr(str(names[position])) if names is not None else str(position)


def _as_float(features):
    """``features`` as float64, pandas' missing values (``pd.NA`` of a nullable
    column next to a text task column, ``None``) read as NaN, so that
    ``check_array`` reports them as scikit-learn does (``Input X contains NaN``)."""
    try:
        return features.astype(float)
    except (TypeError, ValueError):
        if features.dtype.kind != "O":
            raise
        missing = missing_task_mask(features.ravel()).reshape(features.shape)
        if not missing.any():
            raise
        filled = features.copy()
        filled[missing] = np.nan
        return filled.astype(float)


def _non_numeric_message(estimator, features, task_idx, reset, input_name, exc):
    """Which feature columns are not numbers; a task column given as one, in fit."""
    bad = []
    for j, column in enumerate(features.T):
        try:
            _as_float(column)
        except (TypeError, ValueError):
            bad.append(_column_name(estimator, j + (j >= task_idx)))
    if len(bad) == 1 and reset:
        fix = (
            f"If column {bad[0]} holds the task labels, pass task_col={bad[0]} "
            f"(task_col={estimator.task_col!r} reads column {_column_name(estimator, task_idx)}); "
            "otherwise encode"
        )
    else:
        fix = "Encode"
    return (
        f"Every column of {input_name} except the task column must be numeric; "
        f"column{'s' if len(bad) > 1 else ''} {', '.join(bad)} could not be converted "
        f"to float ({exc}). {fix} categorical features first, e.g. with OneHotEncoder."
    )


def _check_magnitude(features, estimator, task_idx, input_name):
    """:func:`check_magnitude` per feature column, named as the user knows it."""
    unsafe = np.flatnonzero(_unsafe_scale(features, axis=0))
    if not len(unsafe):
        return
    column = unsafe[0] + (unsafe[0] >= task_idx)  # position in X
    check_magnitude(
        features[:, unsafe[0]], f"{input_name}'s column {_column_name(estimator, column)}",
        "multiply or divide it by a power of ten, or standardize the features with "
        "skmtl.compose.make_feature_transformer(StandardScaler())",
    )


def _task_column(X, X_array, task_idx):
    """Raw task labels of ``X``: from a DataFrame, in the column's own dtype.

    ``X_array`` (``X`` validated with ``dtype=None``) is float64 for a frame of
    numeric columns, which merges int64 labels above ``2**53`` (e.g. user ids).
    """
    if not hasattr(X, "iloc"):
        return X_array[:, task_idx]
    column = X.iloc[:, task_idx]
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy()
    # nullable, categorical and string columns: their values, with NA kept missing
    return column.astype(object).to_numpy()


def _labels_with_missing(labels):
    """Normalized labels (None where missing, then as an object array) and the missing mask."""
    missing = missing_task_mask(labels)
    _check_one_label_type(np.asarray(labels)[~missing])
    _check_finite_labels(np.asarray(labels)[~missing])
    if not missing.any():
        return normalize_task_labels(labels), missing
    out = np.full(len(labels), None, dtype=object)
    if not missing.all():
        out[~missing] = normalize_task_labels(labels[~missing])
    return out, missing


def _check_finite_labels(labels):
    """An infinite task label is a broken value (a division by zero upstream), not a task."""
    numbers_only = labels if labels.dtype.kind == "f" else np.array(
        [v for v in labels if isinstance(v, float)] if labels.dtype.kind == "O" else [], dtype=float)
    if np.isinf(numbers_only).any():
        raise ValueError(
            "The task column holds infinite values; task labels must be finite, or missing "
            "(NaN or None) for rows that belong to no task. Fix or drop those rows.")


def _check_one_label_type(labels):
    """Task labels must be all numbers or all strings: ``1`` and ``"1"`` would be two tasks."""
    if labels.dtype.kind != "O":
        return
    kinds = {isinstance(v, (str, bytes)) for v in labels}
    if len(kinds) > 1:
        number = next(v for v in labels if not isinstance(v, (str, bytes)))
        text = next(v for v in labels if isinstance(v, (str, bytes)))
        raise ValueError(
            f"The task column mixes numbers and strings (e.g. {number!r} and {text!r}); "
            "give every task label the same type, e.g. convert the column with .astype(str)."
        )


def task_labels(X, task_col):
    """Normalized task label of each row of ``X`` and the mask of missing labels.

    ``X`` is not otherwise validated.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_rows, n_columns)
        Features plus the task column.
    task_col : int or str
        Position or name of the task column.

    Returns
    -------
    labels : ndarray of shape (n_rows,)
        Task labels (None where missing).
    missing : ndarray of shape (n_rows,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import task_labels
    >>> labels, missing = task_labels(np.array([[0.5, 1.0], [1.5, np.nan]]), task_col=-1)
    >>> labels.tolist(), missing.tolist()
    ([1, None], [False, True])
    """
    names = list(X.columns) if hasattr(X, "columns") else None
    X = text_columns_as_object(X)
    X_array = check_array(X, dtype=None, ensure_all_finite=False)
    idx = resolve_task_col(task_col, X_array.shape[1], names)
    return _labels_with_missing(_task_column(X, X_array, idx))


def _warn_if_inexact(labels):
    """Warn when float task labels are integers beyond ``2**53``, where float64 merges ids."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and np.any(np.abs(labels[np.isfinite(labels)]) > 2**53):
        warnings.warn(
            f"{TASK_IDS_BEYOND_FLOAT} 2**53 held as floats, which cannot tell "
            "neighbouring ids apart: distinct tasks may have been merged. Pass X as a "
            "pandas DataFrame with an integer task column, or as an object array that "
            "holds the ids as Python ints.",
            UserWarning,
        )


def _warn_if_not_task_ids(estimator, labels, task_idx):
    """Warn when the task column does not look like task ids: ids rescaled by
    a scaler in front of the estimator (non-integer numbers with a scaler's
    signature), or a feature in its place (other non-integer numbers, or a
    label of its own for every one of ten rows or more)."""
    labels = np.asarray(labels)
    column = _column_name(estimator, task_idx)
    task_col = "" if estimator.task_col == -1 else f", task_col={estimator.task_col!r}"
    distinct, sizes = np.unique(labels, return_counts=True)
    looks = _scaler_signature(labels)
    if looks is not None:
        warnings.warn(
            f"{TASK_LABELS_OF_X} (column {column}) are non-integer numbers with {looks} "
            f"(e.g. {preview_labels(distinct, 3)}): the task column looks scaled, e.g. by a "
            "scaler in front of the estimator, and each scaled value is taken as a task label. "
            "Scale the features only: make_pipeline(skmtl.compose.make_feature_transformer("
            f"StandardScaler(){task_col}), {type(estimator).__name__}()) passes the task column "
            "through unchanged, as the last column.",
            UserWarning,
        )
        return
    inexact = labels.dtype.kind == "f" and np.any(distinct[np.isfinite(distinct)] % 1 != 0)
    single = int((sizes == 1).sum())
    if inexact or (len(labels) >= 10 and len(distinct) == len(labels)) or (
            len(distinct) >= SINGLE_ROW_TASKS_CHECKED and single > len(distinct) / 2):
        what = ("are non-integer numbers" if inexact
                else f"give each of the {len(labels)} rows a task of its own"
                if len(distinct) == len(labels)
                else f"make {len(distinct)} tasks of {len(labels)} rows, {single} of them of a "
                     "single row")
        where = (f"task_col={estimator.task_col!r}" if estimator.task_col != -1
                 else "the last column, task_col=-1")
        warnings.warn(
            f"{TASK_LABELS_OF_X} (column {column}) {what} (e.g. "
            f"{preview_labels(distinct, 3)}): is this column the task ids? skmtl reads each "
            f"row's task from {where}. If it is a feature, add a column of task ids "
            "last or set task_col to the column (its name, for a DataFrame) that holds them.",
            UserWarning,
        )


def _scaler_signature(labels):
    """Which scikit-learn scaler's output non-integer float labels look like
    (``StandardScaler``, ``RobustScaler``, ``MinMaxScaler``, ``MaxAbsScaler``), or None."""
    if labels.dtype.kind != "f" or not len(labels) or not np.all(np.isfinite(labels)):
        return None
    # loose: rows left out after scaling (missing labels, a selector) shift these a little
    q1, median, q3 = np.percentile(labels, [25, 50, 75])
    signatures = {
        "mean about 0 and standard deviation about 1":
            abs(labels.mean()) < 0.25 and abs(labels.std() - 1.0) < 0.25,
        "median about 0 and inter-quartile range about 1":
            abs(median) < 0.25 and abs(q3 - q1 - 1.0) < 0.25,
        # MinMaxScaler's x * scale + offset ends within rounding of 0 and 1
        "range [0, 1]": np.allclose([labels.min(), labels.max()], [0.0, 1.0]),
        "range [-1, 1] and largest magnitude exactly 1": np.abs(labels).max() == 1.0,
    }
    return next((text for text, match in signatures.items() if match), None)


def _label_type(labels):
    """``"str"``, ``"int"`` or ``"float"`` (non-integer numbers) for normalized labels."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "biu":
        return "int"
    if labels.dtype.kind == "f":
        return "float"
    if labels.dtype.kind in "US" or isinstance(labels.flat[0], (str, bytes)):
        return "str"
    return "int" if isinstance(labels.flat[0], numbers.Integral) else "float"


def preview_labels(labels, limit=5):
    """``[a, b, ...]`` with the first ``limit`` labels as Python values (``1`` vs ``'1'``).

    For error messages that name task labels.

    Parameters
    ----------
    labels : ndarray
        Task labels.
    limit : int, default=5
        How many to show.

    Returns
    -------
    text : str

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import preview_labels
    >>> preview_labels(np.array([1, 2, 3]), limit=2)
    '[1, 2, ...]'
    """
    shown = [getattr(v, "item", lambda v=v: v)() for v in labels[:limit]]
    return "[" + ", ".join(map(repr, shown)) + (", ...]" if len(labels) > limit else "]")


def _type_hint(given_type, fitted_type):
    """How to make task labels of ``given_type`` match the fitted ones."""
    scaled = (
        "non-integer task labels usually come from a scaler applied to the task column: "
        "scale the features only, with skmtl.compose.make_feature_transformer"
    )
    if fitted_type == "float":
        return f"the fitted tasks are non-integer numbers; {scaled}, and refit"
    hint = f"convert the task column, e.g. with .astype({fitted_type})"
    return f"{hint}; {scaled}" if given_type == "float" else hint


# the phrase of the warning about unseen tasks, for callers that expect them
UNSEEN_TASKS = "belong to tasks not seen in fit"
# the starts of the warnings about task labels that do not look like task ids
TASK_LABELS_OF_X = "The task labels of X"
# from this many tasks on, a task column with more than half of its tasks of a single row
# is questioned: a measurement (a horsepower, an age) read as task ids
SINGLE_ROW_TASKS_CHECKED = 20
TASK_IDS_BEYOND_FLOAT = "Some task labels are integers beyond"


@contextmanager
def quiet_inner_task_warnings(task_labels=True):
    """Within: no warnings about unseen tasks or validation rows unlike a
    refit's (and with ``task_labels``, about task labels that do not look like
    task ids) from the fits and predictions a method makes on parts of its own
    ``X``.

    Inner folds leave out the rows of small tasks by design, and a method that
    checked the task column of ``X`` itself has said what it had to: repeated
    for every fold, such warnings drown the method's own. Jobs of
    ``sklearn.utils.parallel.Parallel`` inherit the filters.
    """
    with warnings.catch_warnings():
        if task_labels:
            warnings.filterwarnings("ignore", message=TASK_LABELS_OF_X, category=UserWarning)
            warnings.filterwarnings("ignore", message=TASK_IDS_BEYOND_FLOAT, category=UserWarning)
        warnings.filterwarnings("ignore", message=f".*{UNSEEN_TASKS}", category=UserWarning)
        warnings.filterwarnings("ignore", message=f".*{UNLIKE_TRAINING}", category=UserWarning)
        yield


def encode_fitted_tasks(labels, tasks, *, rows="rows of X", unseen="ignore", consequence="",
                        missing="ignore",
                        fitted="the fitted tasks, those with a row of positive sample_weight,"):
    """Index of each label in the fitted ``tasks``: -1 for missing labels and unseen tasks.

    For predict and influence time. When no label was seen in fit and the
    labels are of another type than ``tasks`` (strings, integers or
    non-integer numbers: ``"1"`` given for task ``1``, or a task column
    scaled after fit), raise a ``ValueError`` that shows both. Otherwise
    labels not in ``tasks`` are ignored silently, warned about or raise
    (``unseen``), in a message naming them and ending with ``consequence``:
    all-new labels of the fitted type are legitimate new tasks (scikit-learn's
    checks predict held-out rows whose task labels are all new).

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Task labels, as :func:`check_task_X` returns them.
    tasks : ndarray of shape (n_tasks,)
        The fitted ``tasks_``.
    rows : str, default="rows of X"
        How messages name the rows.
    unseen : {"ignore", "warn", "error"}, default="ignore"
        What to do with labels not in ``tasks``.
    consequence : str, default=""
        End of the message about unseen labels.
    missing : {"ignore", "error"}, default="ignore"
        ``"error"``: raise a ``ValueError`` when a label is missing (at
        predict time every row needs a task).
    fitted : str, default="the fitted tasks, those with a row of positive sample_weight,"
        How the message about unseen labels names ``tasks``.

    Returns
    -------
    row_task : ndarray of shape (n_rows,) of int

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import encode_fitted_tasks
    >>> encode_fitted_tasks(np.array([2, 5, 1]), np.array([1, 2])).tolist()
    [1, -1, 0]
    """
    present = ~missing_task_mask(labels)
    if missing == "error" and not present.all():
        raise ValueError(
            f"{(~present).sum()} {rows} have a missing task label; every row needs a task "
            "to be predicted."
        )
    row_task = encode_tasks(labels, tasks)
    new = present & (row_task < 0)
    if not new.any():
        return row_task
    given = np.unique(normalize_task_labels(np.asarray(labels)[new]))
    given_type, fitted_type = _label_type(given), _label_type(tasks)
    if not (row_task[present] >= 0).any() and given_type != fitted_type:
        raise ValueError(
            f"None of the task labels of the {rows} were seen in fit: they are "
            f"{given_type} {preview_labels(given)}, but the estimator was fitted on "
            f"{fitted_type} tasks {preview_labels(tasks)}. Task labels must match exactly "
            f"(1 and '1' are different tasks): {_type_hint(given_type, fitted_type)}."
        )
    if unseen != "ignore":
        message = (
            f"{new.sum()} {rows} {UNSEEN_TASKS}: {preview_labels(given)} ({fitted} are "
            f"{preview_labels(tasks)}); {consequence}"
        )
        if unseen == "error":
            raise ValueError(message)
        if new.sum() > present.sum() / 2:  # folds that hold out whole tasks, most likely
            message += (
                f" They are {new.sum()} of the {present.sum()}: to cross-validate, "
                "skmtl.model_selection.TaskStratifiedKFold keeps every task in every training "
                "part."
            )
        warnings.warn(message, UserWarning)
    return row_task


def encode_tasks(labels, tasks):
    """Index of each label in ``tasks``; -1 for labels not in ``tasks`` or missing.

    Parameters
    ----------
    labels : array-like of shape (n_rows,)
        Task labels.
    tasks : array-like of shape (n_tasks,)
        Distinct task labels.

    Returns
    -------
    row_task : ndarray of shape (n_rows,) of int

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import encode_tasks
    >>> encode_tasks(np.array(["b", "c", None], dtype=object), ["a", "b"]).tolist()
    [1, -1, -1]
    """
    labels, tasks = np.asarray(labels), np.asarray(tasks)
    missing = missing_task_mask(labels)
    if not len(tasks):
        return np.full(len(labels), -1, dtype=np.intp)
    numeric = labels.dtype.kind in "biuf" and tasks.dtype.kind in "biuf"
    if numeric or labels.dtype.kind == tasks.dtype.kind == "U":  # sortable alike: vectorized
        order = np.argsort(tasks, kind="stable")
        place = np.minimum(np.searchsorted(tasks[order], labels), len(tasks) - 1)
        found = ~missing & (tasks[order[place]] == labels)
        return np.where(found, order[place], -1).astype(np.intp)
    index = {t: i for i, t in enumerate(tasks)}  # mixed or object labels
    return np.array(
        [-1 if m else index.get(v, -1) for v, m in zip(labels, missing)], dtype=np.intp
    )


def _is_dask(X):
    # not imported at the top: skmtl.base imports skmtl.influence, which imports skmtl.utils
    from ..base import is_dask_collection

    return is_dask_collection(X)



_SAME_TASKS = "label its rows (sources) and columns (targets) by the same tasks, once each."


def task_matrix(matrix, tasks=None, *, name="affinity"):
    """A square task-by-task matrix (row = source, column = target) as floats,
    and its task labels.

    A DataFrame is read by its labels: its columns are put in the order of
    its index (a frame whose rows were sorted alone stays right), labels that
    differ only in type match by their text (``pd.read_csv(..., index_col=0)``
    reads numeric task labels as numbers in the index and as text in the
    header), and with ``tasks`` the rows and columns follow ``tasks``. Labels
    that do not match raise an error naming them. Anything else (an array, a
    nested list) is read by position; its labels are ``tasks`` (None when not
    given).
    """
    if hasattr(matrix, "columns") and hasattr(matrix, "index") and hasattr(matrix, "reindex"):
        index, columns = list(matrix.index), list(matrix.columns)
        order = matching_positions(columns, index, name, "columns", "index", every=True)
        A = check_array(matrix, dtype=float, ensure_all_finite="allow-nan", input_name=name)
        A, labels = A[:, order], np.asarray(index)
        if tasks is not None:
            rows = matching_positions(index, tasks, name, "index", "tasks of the data", every=False)
            A, labels = A[np.ix_(rows, rows)], np.asarray(tasks)
    else:
        A = check_array(matrix, dtype=float, ensure_all_finite="allow-nan", input_name=name)
        labels = None if tasks is None else np.asarray(tasks)
    if A.shape != (A.shape[0], A.shape[0]):
        raise ValueError(f"{name} must be a square (n_tasks, n_tasks) matrix; got shape {A.shape}.")
    return A, labels


def values_by_task(values, tasks, name, what, of, every, fix):
    """``values`` given by task label (a dict or a pandas Series) as an array in the
    order of ``tasks``, labels matched as :func:`matching_positions` matches them
    (its other arguments); anything else as it is, read by position."""
    if not (isinstance(values, dict) or hasattr(values, "index") and hasattr(values, "iloc")):
        return values
    labels, items = zip(*values.items()) if len(values) else ((), ())
    return np.asarray(items)[matching_positions(labels, tasks, name, what, of, every, fix)]


def matching_positions(labels, wanted, name, what, of, every, fix=_SAME_TASKS):
    """Positions in ``labels`` of each of ``wanted`` (by value, else by text);
    ``every``: ``labels`` must hold nothing else. The error names ``name``'s
    ``what`` and the ``of`` they should be, then ``fix``."""
    for key in (lambda v: v, str):
        keys = [key(v) for v in labels]
        if len(set(keys)) != len(keys):
            continue
        where = {k: i for i, k in enumerate(keys)}
        found = [where.get(key(v)) for v in wanted]
        if None not in found and (not every or len(labels) == len(wanted)):
            return np.array(found, dtype=int)
    possessive = "'" if name.endswith("s") else "'s"
    raise ValueError(
        f"{name}{possessive} {what} {preview_labels(np.asarray(labels, dtype=object))} "
        f"{'are not' if every else 'do not hold all'} the {of} "
        f"{preview_labels(np.asarray(list(wanted), dtype=object))}: {fix}"
    )
