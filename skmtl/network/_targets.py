"""Task kinds and targets: which tasks are regressions or classifications, and
``y`` encoded as the floats the network's losses read."""

import numbers
import warnings

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..utils import MAX_CLASS_CODES
from ._influence import CLASSIFICATION, REGRESSION

TASK_TYPES = ("regression", "classification")


def resolve_task_types(spec, tasks, y, row_task):
    """Kind of each task of ``tasks``: from ``spec`` (``task_types``) where it
    says, else inferred from the task's targets (rows ``row_task == k``)."""
    if isinstance(spec, dict):
        # tasks absent from this fit (a fold, a refit without a task) are not an error
        bad = {t: v for t, v in spec.items() if v not in TASK_TYPES}
        if bad:
            raise ValueError(f"task_types must map tasks to one of {TASK_TYPES}; got {bad}.")
    types, inferred = [], {}
    for k, task in enumerate(tasks):
        if isinstance(spec, str):
            types.append(spec)
        elif isinstance(spec, dict) and task in spec:
            types.append(spec[task])
        else:
            target = _plain(y[row_task == k])
            kind = "regression" if type_of_target(target) == "continuous" else "classification"
            types.append(kind)
            inferred[task] = (kind, target.dtype.kind in "iuf")
    # whole numbers are classes up to MAX_CLASS_CODES values, pooled over their tasks, and
    # a measurement beyond (counts, grams), as infer_target_kind and the command line read them
    numeric = [k for k, task in enumerate(tasks) if inferred.get(task) == ("classification", True)]
    if numeric and len(np.unique(_plain(y[np.isin(row_task, numeric)]))) > MAX_CLASS_CODES:
        for k in numeric:
            types[k], inferred[tasks[k]] = "regression", ("regression", True)
    _warn_ambiguous_inference(inferred)
    return np.array(types, dtype=object)


def encode_targets(y, row_task, task_types):
    """Targets of the fit as floats, the value (regression) or the class index,
    and ``classes_`` (empty without a classification task); rows with
    ``row_task == -1`` get 0."""
    is_class = (row_task >= 0) & (task_types[np.maximum(row_task, 0)] == "classification")
    is_reg = (row_task >= 0) & ~is_class
    out = np.zeros(len(y))
    classes = np.array([])
    if is_class.any():
        labels = _plain(y[is_class])
        check_classification_targets(labels)
        classes = np.unique(labels)
        if len(classes) < 2:
            raise ValueError(
                f"y has one class ({classes[:1].tolist()[0]!r}) across all classification "
                "tasks; a classifier needs at least two. (One class within a task is "
                "fine.) Set task_types='regression' if the targets are numbers."
            )
        out[is_class] = np.searchsorted(classes, labels)
    if is_reg.any():
        out[is_reg] = numeric_targets(y[is_reg], "regression tasks")
    return out, classes


def encode_validation_targets(y_val, row_task, task_types, classes):
    """Validation targets as :func:`encode_targets` encodes them, and each row's
    loss kind; a class unseen in fit is an error."""
    is_class = task_types[row_task] == "classification"
    y_enc = np.zeros(len(y_val))
    if is_class.any():
        idx = np.clip(np.searchsorted(classes, y_val[is_class]), 0, len(classes) - 1)
        if not np.all(classes[idx] == y_val[is_class]):
            raise ValueError(
                f"y_val holds classes "
                f"{sorted(set(y_val[is_class].tolist()) - set(classes.tolist()))} "
                "not seen in fit."
            )
        y_enc[is_class] = idx
    if (~is_class).any():
        y_enc[~is_class] = numeric_targets(y_val[~is_class], "regression tasks of y_val")
    return y_enc, np.where(is_class, CLASSIFICATION, REGRESSION)


def numeric_targets(y, what):
    try:
        values = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Targets of {what} must be numbers; got {np.asarray(y)[:3]!r}. Set "
            "task_types to 'classification' for tasks with categorical targets."
        ) from exc
    if not np.all(np.isfinite(values)):
        raise ValueError(f"Targets of {what} contain NaN or infinity.")
    return values


def _plain(y):
    """An object array holding only numbers, as floats (mixed-task ``y``)."""
    if y.dtype == object and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in y
    ):
        return y.astype(float)
    return y


def _warn_ambiguous_inference(inferred):
    """Warn when tasks inferred from numeric ``y`` came out of both kinds: a
    regression task whose few targets are whole numbers reads as classification."""
    regression = [task for task, (kind, _) in inferred.items() if kind == "regression"]
    numeric_classes = [
        task for task, (kind, numeric) in inferred.items() if kind == "classification" and numeric
    ]
    if regression and numeric_classes:
        warnings.warn(
            f"task_types inferred from y: tasks {np.array(numeric_classes).tolist()} have discrete "
            "numeric targets and are fitted as classification, tasks "
            f"{np.array(regression).tolist()} as regression. If that is "
            "not what you meant (e.g. a small regression task whose targets happen to be whole "
            "numbers), pass task_types ('regression', 'classification' or a dict task -> kind).",
            UserWarning,
        )
