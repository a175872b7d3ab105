"""Grouped multitask training: cluster the tasks by affinity, train one model per group."""

import copy
import dataclasses
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from tqdm.auto import tqdm

from .base import (
    checked_working_memory,
    is_dask_collection,
    keep_state_on_error,
    task_weights_with_rows,
    validation_given,
)
from .compose import _input_task_col
from .relatedness import (
    group_tasks,
    higher_order_affinity,
    surrogate_affinity,
    tag_affinity,
)
from .utils import (
    encode_fitted_tasks,
    encode_tasks,
    infer_target_kind,
    normalize_task_labels,
    resolve_task_col,
    task_labels,
)
from .utils._tasks import (
    final_step, final_step_param, quiet_inner_task_warnings, task_matrix, text_columns_as_object,
)

__all__ = ["TaskGroupedEstimator"]


def _mtif_affinity(estimator, X, y, X_val=None, y_val=None, sample_weight=None):
    """MTIF task relatedness of ``estimator`` (a Pipeline: of its model) fitted on all tasks."""
    fit_params = ({} if sample_weight is None
                  else {final_step_param(estimator, "sample_weight", fit=True): sample_weight})
    model, X_val = final_step(clone(estimator).fit(X, y, **fit_params), X_val)
    return model.task_relatedness(X_val, y_val)


def _group_has(attr):
    """``available_if`` check: the group models (or the estimator before fit) have ``attr``."""

    def check(self):
        models = getattr(self, "estimators_", None) or [self.estimator]
        return all(hasattr(model, attr) for model in models)

    return check


class TaskGroupedEstimator(MetaEstimatorMixin, BaseEstimator):
    """Cluster the tasks by their affinity and train one multitask model per cluster.

    The talk's boosting procedure for multitask learning (Li et al. 2023):
    estimate a task affinity matrix, group the tasks with
    :func:`~skmtl.relatedness.group_tasks`, fit a clone of ``estimator`` on
    the rows of each group, and serve each task from its group's model.
    Tasks that pull a shared model in conflicting directions no longer
    share one.

    Parameters
    ----------
    estimator : skmtl estimator
        The multitask model trained on each group (and, for the affinity
        measures, on all tasks). Its ``task_col`` locates the task column.
    n_groups : int, default=2
        Number of groups (``grouping="spectral"``) or the largest number of
        groups (``grouping="tag"``). With as many groups as tasks or more,
        every task trains alone.
    affinity : str, callable or array-like, default="mtif"
        Task affinity (row = source, column = target, larger = more helpful):

        * ``"mtif"``: ``task_relatedness`` of ``estimator`` fitted on all tasks;
        * ``"tag"``, ``"higher_order"``, ``"surrogate"``: the measures of
          :mod:`skmtl.relatedness` (the last two fit ``estimator`` on random
          task subsets, seeded by ``random_state``; ``"tag"`` of a pipeline
          measures its last step on the data its other steps, fitted on
          ``X``, hand it);
        * a callable ``affinity(estimator, X, y, X_val, y_val)`` returning a
          ``(n_tasks, n_tasks)`` array, like the measures of
          :mod:`skmtl.relatedness`;
        * a precomputed ``(n_tasks, n_tasks)`` array whose rows and columns
          follow the sorted task labels, or a DataFrame indexed by task.

        Measured against ``X_val, y_val`` given to ``fit``, or against the
        training data when none is given (then it measures fit, not
        generalization: prefer held-out data).
    grouping : {"spectral", "tag"}, default="spectral"
        The ``method`` of :func:`~skmtl.relatedness.group_tasks`.
    scale : {"largest", "self"}, default="largest"
        The ``scale`` of :func:`~skmtl.relatedness.group_tasks`: ``"self"``
        is TAG's own normalization by each target's self-affinity (with
        ``grouping="tag"`` and an affinity whose diagonal is positive, such
        as ``affinity="tag"``).
    random_state : int, RandomState instance or None, default=None
        Seeds the spectral clustering and the subset measures.
    n_jobs : int, default=None
        Group models fitted in parallel through joblib.
    verbose : int, default=0
        Progress bar over the group fits when > 0.

    Attributes
    ----------
    tasks_ : ndarray of shape (n_tasks,)
        Sorted task labels (of rows with positive sample weight).
    affinity_ : ndarray of shape (n_tasks, n_tasks)
        The affinity the groups were formed from.
    groups_ : ndarray of shape (n_tasks,)
        Group of each task of ``tasks_``, numbered from 0: the groups
        actually trained. For a classifier, a group whose rows hold a single
        class cannot train one and joins the group of highest mean affinity
        with it.
    estimators_ : list of estimators
        The fitted model of each group; ``estimators_[g].tasks_`` are the
        tasks ``tasks_[groups_ == g]``.
    classes_ : ndarray
        Classes of all tasks (classifiers only).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has column names.

    Notes
    -----
    A task not seen in fit belongs to no group: it is predicted by every
    group's model (as each predicts an unseen task, e.g. with its shared
    coefficients) and the predictions, or class probabilities, are averaged
    with weights proportional to the groups' training rows (their summed sample weights).

    ``influence`` and ``task_relatedness`` are those of the grouped model
    with the groups held fixed: within a group, the group model's own
    estimates; across groups exactly 0, since the group models share no
    parameter.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge, TaskGroupedEstimator
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=3, random_state=0)
    >>> model = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0).fit(X, y)
    >>> model.groups_.shape, len(model.estimators_)
    ((4,), 2)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_groups": [Interval(numbers.Integral, 1, None, closed="left")],
        "affinity": [StrOptions({"mtif", "tag", "higher_order", "surrogate"}), callable, "array-like"],
        "grouping": [StrOptions({"spectral", "tag"})],
        "scale": [StrOptions({"largest", "self"})],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, *, n_groups=2, affinity="mtif", grouping="spectral", scale="largest",
                 random_state=None, n_jobs=None, verbose=0):
        self.estimator = estimator
        self.n_groups = n_groups
        self.affinity = affinity
        self.grouping = grouping
        self.scale = scale
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _labels(self, X):
        """Each row's task label and the mask of missing ones, from the task column of fit."""
        return task_labels(X, self._task_col_index)

    @keep_state_on_error
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Estimate the task affinity, group the tasks and fit one model per group.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features plus the task column; rows whose task label is missing
            take no part in the fit.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the group models' ``fit`` (and to the all-tasks fit of
            ``affinity="mtif"``; the other measures take no weights).
        X_val, y_val : array-like, default=None
            Data the affinity and ``influence_`` / ``task_relatedness_`` are
            measured on; the training data when omitted.

        Returns
        -------
        self
        """
        self._validate_params()
        if self.scale == "self" and self.grouping != "tag":  # before measuring the affinity
            raise ValueError("scale='self' is TAG's normalization, for grouping='tag'; spectral "
                             "grouping maps affinities scaled by the largest into [0, 1].")
        if is_dask_collection(X):
            raise TypeError("TaskGroupedEstimator does not take a Dask X: compute it first (X.compute()).")
        X = _as_indexable(X, validate_data(self, text_columns_as_object(X), dtype=None, ensure_all_finite=False,
                                              reset=True))
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        val_given = validation_given(X_val, y_val)
        weighted = sample_weight is not None
        if weighted:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not (_is_matrix(self.affinity) or self.affinity == "mtif"):
                raise ValueError(
                    f"affinity={self.affinity!r} takes no sample_weight; use affinity='mtif', "
                    "a precomputed matrix, or fit without sample_weight."
                )
        self._task_col_index = resolve_task_col(  # read by skmtl's tools, e.g. task_losses
            _input_task_col(self.estimator), self.n_features_in_,
            getattr(self, "feature_names_in_", None),
        )
        labels, missing = self._labels(X)
        present = ~missing & (sample_weight > 0 if weighted else True)
        if not present.any():
            raise ValueError("No row of X has a task label (and positive weight); nothing to fit.")
        tasks = normalize_task_labels(np.unique(labels[present]))
        code = np.where(present, encode_tasks(labels, tasks), -1)
        affinity = self._affinity(X, y, sample_weight, X_val if val_given else None,
                                  y_val if val_given else None, tasks)
        groups = self._group(affinity, len(tasks))
        if _fits_classes(self.estimator, y[present]):
            groups = _merge_single_class_groups(groups, affinity, code, y)
        rows = [np.flatnonzero(np.isin(code, np.flatnonzero(groups == g)))
                for g in range(groups.max() + 1)]
        jobs = (
            delayed(_fit_group)(self.estimator, X, y, sample_weight, r)
            for r in tqdm(rows, desc="Group fits", disable=not self.verbose)
        )
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(jobs)
        if is_classifier(self.estimators_[0]):  # a network decides its kind in fit
            self.classes_ = np.unique(y[present])
        elif hasattr(self, "classes_"):  # from an earlier fit
            del self.classes_
        self.tasks_, self.affinity_, self.groups_ = tasks, affinity, groups
        self._n_fit_rows, self._group_rows = len(y), rows
        # what each group's fit weighed: unseen tasks average the group models by it
        self._group_weights = np.array([sample_weight[r].sum() if weighted else len(r) for r in rows])
        # copies: the fitted attributes must not follow later changes of the caller's arrays
        self._val = (copy.deepcopy(X_val), copy.deepcopy(y_val)) if val_given else (None, None)
        self._cache = {}
        return self

    def _affinity(self, X, y, sample_weight, X_val, y_val, tasks):
        n_tasks = len(tasks)
        if _is_matrix(self.affinity):
            # a DataFrame labelled by task: in the order of the data's tasks
            A = task_matrix(self.affinity, tasks if hasattr(self.affinity, "index") else None)[0]
        elif self.affinity == "mtif":
            A = _mtif_affinity(self.estimator, X, y, X_val, y_val, sample_weight)
        elif callable(self.affinity):
            A = np.asarray(self.affinity(self.estimator, X, y, X_val, y_val), dtype=float)
        elif self.affinity == "tag":
            if X_val is not None and "record_affinity" in self.estimator.get_params():
                raise ValueError(
                    f"affinity='tag' with {type(self.estimator).__name__} records TAG on its "
                    "training batches, so it cannot be measured on the X_val/y_val given to fit: "
                    "fit without X_val/y_val, or use affinity='mtif', 'surrogate' or "
                    "'higher_order', which measure on held-out data."
                )
            model = self.estimator
            if isinstance(model, Pipeline):  # TAG reads the gradients of the model after its steps
                steps = clone(model[:-1]).fit(X, y)
                model, X = model[-1], steps.transform(X)
                X_val = None if X_val is None else steps.transform(X_val)
            A = tag_affinity(model, X, y, X_val, y_val)
        else:
            measure = surrogate_affinity if self.affinity == "surrogate" else higher_order_affinity
            A = measure(self.estimator, X, y, X_val, y_val, random_state=self.random_state)
        if A.shape != (n_tasks, n_tasks):
            raise ValueError(
                f"The affinity has shape {A.shape}, but the data has {n_tasks} tasks: it must be "
                f"({n_tasks}, {n_tasks}), rows and columns in the order of the sorted task labels."
            )
        return A

    def _group(self, affinity, n_tasks):
        if self.n_groups > n_tasks:
            warnings.warn(f"n_groups={self.n_groups} exceeds the {n_tasks} tasks of X: every task "
                          "trains alone, in a group of its own.", UserWarning)
        if self.n_groups >= n_tasks:
            return np.arange(n_tasks)
        return group_tasks(affinity, self.n_groups, method=self.grouping, scale=self.scale,
                           random_state=self.random_state)

    # -- prediction ------------------------------------------------------------------
    def _route(self, X):
        """Group of each row of ``X`` (-1 for tasks not seen in fit)."""
        check_is_fitted(self)
        X = X.compute() if is_dask_collection(X) else X  # the rows are needed in memory
        X = _as_indexable(X, validate_data(self, text_columns_as_object(X), dtype=None, ensure_all_finite=False,
                                              reset=False))
        labels, _ = self._labels(X)
        code = encode_fitted_tasks(
            labels, self.tasks_, unseen="warn", missing="error",
            consequence=("they are predicted by the mean of the group models, weighted by "
                         "their training rows (their sample weights)."),
        )
        return X, np.where(code >= 0, self.groups_[np.maximum(code, 0)], -1)

    def _call(self, model, method, X, rows):
        """``method`` of ``model`` on ``rows`` of ``X``; probabilities mapped onto ``classes_``."""
        with quiet_inner_task_warnings(task_labels=False):  # warned about once, in _route
            out = np.asarray(getattr(model, method)(_safe_indexing(X, rows)))
        if method not in ("predict_proba", "predict_log_proba"):
            return out
        full = np.full((len(rows), len(self.classes_)), 0.0 if method == "predict_proba" else -np.inf)
        full[:, np.searchsorted(self.classes_, model.classes_)] = out
        return full

    def _combine(self, X, method):
        """``method`` of each row's group model; rows of unseen tasks get the mean over
        the group models (of the probabilities, for a classifier's ``predict``),
        weighted by the groups' training rows (summed sample weights)."""
        X, group = self._route(X)
        classify = is_classifier(self)
        unseen = np.flatnonzero(group < 0)
        parts = []
        for g, model in enumerate(self.estimators_):
            rows = np.flatnonzero(group == g)
            if len(rows):
                parts.append((rows, self._call(model, method, X, rows)))
        if len(unseen):
            weights = self._group_weights
            averaged = "predict_proba" if classify else method
            mean = sum(w / weights.sum() * self._call(model, averaged, X, unseen)
                       for w, model in zip(weights, self.estimators_))
            if classify and method == "predict":
                mean = self.classes_[mean.argmax(axis=1)]
            elif method == "predict_log_proba":
                with np.errstate(divide="ignore"):
                    mean = np.log(mean)
            parts.append((unseen, mean))
        result = np.empty((len(group),) + parts[0][1].shape[1:], dtype=parts[0][1].dtype)
        for rows, out in parts:
            result[rows] = out
        return result

    def predict(self, X):
        """Predict each row with its task's group model.

        Parameters
        ----------
        X : array-like or DataFrame
            Features plus the task column.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._combine(X, "predict")

    @available_if(_group_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from each row's group model, columns following ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame
            Features plus the task column.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            A class that a group never saw has probability 0 for its tasks.
        """
        return self._combine(X, "predict_proba")

    @available_if(_group_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, from the group models' own log-probabilities.

        Parameters
        ----------
        X : array-like or DataFrame
            Features plus the task column.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._combine(X, "predict_log_proba")

    @available_if(_group_has("decision_function"))
    def decision_function(self, X):
        """Scores from :meth:`predict_log_proba`: the log-odds of ``classes_[1]``
        for two classes, else each class's log-probability (the group models'
        own scores differ between groups by a constant per row).

        Parameters
        ----------
        X : array-like or DataFrame
            Features plus the task column.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        log_proba = self.predict_log_proba(X)
        if log_proba.shape[1] == 2:
            with np.errstate(invalid="ignore"):
                return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    def score(self, X, y, sample_weight=None):
        """The group models' own score of :meth:`predict`: accuracy (classifiers), R^2
        (regressors), the Poisson D^2 of :class:`~skmtl.MultiTaskPoisson`.

        Parameters
        ----------
        X : array-like or DataFrame
            Features plus the task column.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        metric = getattr(final_step(self.estimators_[0])[0], "_score_predictions", None)
        if metric is None:
            metric = accuracy_score if is_classifier(self) else r2_score
        return metric(y, self.predict(X), sample_weight=sample_weight)

    # -- influence of the grouped model ---------------------------------------------
    def _group_validation(self, X_val, y_val):
        """Per group: its task columns and the arguments ``(X_val_g, y_val_g)`` of its
        model's influence methods (``()`` for the training data; None where the group
        has no validation rows); and the mask of the tasks without validation rows."""
        check_is_fitted(self)
        members = [np.flatnonzero(self.groups_ == g) for g in range(len(self.estimators_))]
        if not validation_given(X_val, y_val):
            return [(m, ()) for m in members], np.zeros(len(self.tasks_), dtype=bool)
        labels, _ = self._labels(X_val)
        y_val = column_or_1d(y_val)
        check_consistent_length(X_val, y_val)
        code = encode_fitted_tasks(labels, self.tasks_, rows="validation rows", unseen="warn",
                                   consequence="they are ignored.")
        group = np.where(code >= 0, self.groups_[np.maximum(code, 0)], -1)
        out = []
        for g, m in enumerate(members):
            rows = np.flatnonzero(group == g)
            out.append((m, (_safe_indexing(X_val, rows), y_val[rows]) if len(rows) else None))
        return out, np.bincount(code[code >= 0], minlength=len(self.tasks_)) == 0

    def _per_group(self, X_val, y_val, method_name, kwargs, n_rows, rows_of):
        """The ``(n_rows, n_tasks)`` matrix of ``method_name(X_val_g, y_val_g, **kwargs)``
        of every group model ``g``, placed at rows ``rows_of[g]`` and the group's task
        columns; 0 elsewhere, NaN in the columns of tasks without validation rows."""
        out = np.zeros((n_rows, len(self.tasks_)))
        groups, empty = self._group_validation(X_val, y_val)
        for model, rows, (members, val) in zip(self.estimators_, rows_of, groups):
            if val is not None:
                out[np.ix_(rows, members)] = getattr(model, method_name)(*val, **kwargs)
        out[:, empty | np.isnan(out).any(axis=0)] = np.nan
        return out

    @available_if(_group_has("task_relatedness"))
    def task_relatedness(self, X_val=None, y_val=None, **kwargs):
        """Effect of removing each task from its group model's training on each task's loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            Validation data; the training data when omitted.
        **kwargs
            Passed to the group models' ``task_relatedness`` (e.g. ``method``).

        Returns
        -------
        relatedness : ndarray of shape (n_tasks, n_tasks)
            Row = source, column = target, as ``task_relatedness`` of the
            group models, the groups held fixed: the group model's estimate
            within a group, 0 across groups, NaN for targets without
            validation rows.
        """
        check_is_fitted(self)
        members = [np.flatnonzero(self.groups_ == g) for g in range(len(self.estimators_))]
        return self._per_group(X_val, y_val, "task_relatedness", kwargs, len(self.tasks_), members)

    @available_if(_group_has("influence"))
    def influence(self, X_val=None, y_val=None, **kwargs):
        """Effect of removing each training row on each task's loss, through its group model.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            Validation data; the training data when omitted.
        **kwargs
            Passed to the group models' ``influence`` (e.g. ``method``).

        Returns
        -------
        influence : ndarray of shape (n_fit_rows, n_tasks)
            Rows follow the ``X`` given to ``fit``: the group model's
            influence on the tasks of the row's group, 0 on the other tasks
            and for rows that took no part in the fit; NaN for targets
            without validation rows.
        """
        check_is_fitted(self)
        return self._per_group(X_val, y_val, "influence", kwargs, self._n_fit_rows, self._group_rows)

    @available_if(_group_has("influence_chunked"))
    def influence_chunked(self, X_val=None, y_val=None, *, reduce_func=None, working_memory=None,
                          **kwargs):
        """:meth:`influence` as a generator of blocks of consecutive training rows.

        Each group model streams its own rows
        (:meth:`~skmtl.MultiTaskRidge.influence_chunked`); the blocks
        interleave them in the order of the ``X`` given to ``fit``.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        reduce_func : callable, default=None
            ``reduce_func(block, start)`` is yielded instead of each block.
        working_memory : float, default=None
            Memory in MiB a block may take;
            ``sklearn.get_config()["working_memory"]`` when None.
        **kwargs
            Passed to the group models' ``influence_chunked`` (e.g. ``method``).

        Returns
        -------
        blocks : generator of ndarray of shape (n_block_rows, n_tasks)
            Rows ``start:start + n_block_rows`` of ``influence(X_val, y_val,
            **kwargs)``; or ``reduce_func(block, start)`` of each block.

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl import MultiTaskRidge, TaskGroupedEstimator
        >>> from skmtl.datasets import make_multitask_regression
        >>> X, y = make_multitask_regression(n_tasks=4, n_samples=20, random_state=0)
        >>> model = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0).fit(X, y)
        >>> blocks = model.influence_chunked(working_memory=0.001)
        >>> bool(np.allclose(np.vstack(list(blocks)), model.influence()))
        True
        """
        groups, empty = self._group_validation(X_val, y_val)
        return self._blocks(groups, empty, reduce_func, working_memory, kwargs)

    def _blocks(self, groups, empty, reduce_func, working_memory, kwargs):
        """:meth:`influence_chunked`'s blocks, from :meth:`_group_validation`'s output."""
        n_rows, n_tasks = self._n_fit_rows, len(self.tasks_)
        step = max(1, int(checked_working_memory(working_memory) * 2**20 // (8 * n_tasks)))
        streams = [None if val is None else
                   model.influence_chunked(*val, working_memory=working_memory, **kwargs)
                   for model, (_, val) in zip(self.estimators_, groups)]

        def take(g, count, buffers):
            """The next ``count`` rows of group ``g``'s stream."""
            while sum(len(b) for b in buffers[g]) < count:
                buffers[g].append(next(streams[g]))
            rows = np.concatenate(buffers[g])
            buffers[g] = [rows[count:]]
            return rows[:count]

        def blocks():
            buffers = [[] for _ in streams]
            done = [0] * len(streams)  # rows of each group already placed
            for start in range(0, n_rows, step):
                stop = min(start + step, n_rows)
                block = np.zeros((stop - start, n_tasks))
                for g, (members, _) in enumerate(groups):
                    if streams[g] is None:
                        continue
                    rows = self._group_rows[g]
                    count = np.searchsorted(rows, stop) - done[g]
                    if count:
                        placed = rows[done[g]:done[g] + count] - start
                        block[np.ix_(placed, members)] = take(g, count, buffers)
                        done[g] += count
                block[:, empty] = np.nan
                yield block if reduce_func is None else reduce_func(block, start)

        return blocks()

    @available_if(_group_has("influence_chunked"))
    def influence_total(self, X_val=None, y_val=None, *, task_weights=None, working_memory=None, **kwargs):
        """Each training row's total influence over the tasks with validation rows.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        task_weights : array-like of shape (n_tasks,), default=None
            One weight per task of ``tasks_``; all ones when None.
        working_memory : float, default=None
            As in :meth:`influence_chunked`.
        **kwargs
            Passed to the group models' ``influence_chunked`` (e.g. ``method``).

        Returns
        -------
        totals : ndarray of shape (n_fit_rows,)
            ``sum_j task_weights[j] * influence[i, j]`` over the tasks with
            validation rows; NaN for every row when no task of nonzero weight
            has validation rows.
        """
        groups, empty = self._group_validation(X_val, y_val)
        weights = task_weights_with_rows(task_weights, empty, self.tasks_)
        if weights is None:
            return np.full(self._n_fit_rows, np.nan)
        blocks = self._blocks(groups, empty, lambda block, start: block[:, ~empty] @ weights[~empty],
                              working_memory, kwargs)
        return np.concatenate(list(blocks))

    def _at_fit(self, method):
        check_is_fitted(self)
        if method not in self._cache:
            self._cache[method] = getattr(self, method)(*self._val)
        return self._cache[method]

    @property
    def task_relatedness_(self):
        """``task_relatedness()`` against the validation data given to ``fit`` (or the
        training data); computed on first access."""
        return self._at_fit("task_relatedness")

    @property
    def influence_(self):
        """``influence()`` against the validation data given to ``fit`` (or the
        training data); computed on first access."""
        return self._at_fit("influence")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # once fitted, the group models' kind (a network decides it in fit)
        inner = get_tags(self.estimators_[0] if hasattr(self, "estimators_") else self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags = dataclasses.replace(inner.target_tags, required=True)
        return tags


def _as_indexable(X, validated):
    """``X`` itself where it is a DataFrame (the group models see its column names),
    else its validated array."""
    return X if hasattr(X, "iloc") else validated


def _is_matrix(affinity):
    return not isinstance(affinity, str) and not callable(affinity)


def _fit_group(estimator, X, y, sample_weight, rows):
    fit_params = ({} if sample_weight is None
                  else {final_step_param(estimator, "sample_weight", fit=True): sample_weight[rows]})
    return clone(estimator).fit(_safe_indexing(X, rows), y[rows], **fit_params)


def _fits_classes(estimator, y):
    """Whether ``estimator`` fits ``y`` as classes: its type, or where it decides in
    fit (a network with ``task_types=None``), as :func:`~skmtl.utils.infer_target_kind` reads ``y``."""
    kind = get_tags(estimator).estimator_type
    if kind is not None:
        return kind == "classifier"
    return infer_target_kind(y)[0] == "classification"


def _merge_single_class_groups(groups, affinity, code, y):
    """Merge every group whose rows hold one class into the group of highest mean
    affinity with it (both directions), until each group holds two classes or more."""
    A = np.nan_to_num(affinity, nan=0.0)
    while True:
        n = groups.max() + 1
        row_group = np.where(code >= 0, groups[np.maximum(code, 0)], -1)
        single = [g for g in range(n) if len(np.unique(y[row_group == g])) < 2]
        if not single or n == 1:
            return groups
        g = single[0]
        members = groups == g
        others = [h for h in range(n) if h != g]
        scores = [A[np.ix_(members, groups == h)].mean() + A[np.ix_(groups == h, members)].mean()
                  for h in others]
        target = others[int(np.argmax(scores))]
        groups = np.where(members, target, groups)
        groups = np.unique(groups, return_inverse=True)[1]
