"""Row influence: estimates against brute-force refits, and their spread per task."""

import warnings

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_array, column_or_1d

from ..base import data_fingerprint, validation_given
from ..inspection import loo_effects
from ..utils import check_task_X, encode_tasks, missing_task_mask
from ._relatedness import MAX_TICK_LABELS, check_fitted_skmtl_estimator

# above this many training rows, rows=None (a refit per row) warns
MANY_REFITS = 2000

_KINDS = ("estimate_vs_refit", "distribution")


def _task_index(labels, target):
    """Position of task ``target`` among ``labels``."""
    matches = np.flatnonzero(labels == target)
    if len(matches) != 1:
        raise ValueError(f"target={target!r} is not one of the tasks {labels.tolist()}.")
    return matches[0]


def _pearson(a, b):
    """Pearson correlation; NaN when undefined (fewer than 2 points, a constant)."""
    if len(a) < 2:
        return np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(a, b)[0, 1])


class InfluenceDisplay:
    """How training rows change each task's loss, and how well that is estimated.

    ``influence[i, j]`` is the (estimated) change of task ``j``'s loss when
    training row ``i`` is removed: **positive means the row helps the task**.
    Two kinds of plot:

    * ``"estimate_vs_refit"``: the estimates against the brute-force refit
      effects (:func:`skmtl.inspection.loo_effects`), one point per row and
      task, with the Pearson correlation in the legend, split into the row's
      own task and the other tasks when the rows' tasks are known;
    * ``"distribution"``: per task, a box plot of the total influence (sum
      over target tasks, what :class:`~skmtl.selection.MTIFSelector` ranks
      by with ``strategy="influence"``; its default without clean labels
      ranks by a label-noise model instead) of that task's rows; the
      outliers below zero are the rows that strategy removes first.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    influence : ndarray of shape (n_rows, n_tasks) or (n_rows,)
        Estimated effects, columns following ``task_labels``; or one score
        per row, already summed over the tasks (e.g. ``influence_total()``)
        or of the ``target`` task, for ``kind="distribution"`` only (then
        ``task_labels`` is required).
    refit : ndarray of shape (n_rows, n_tasks), default=None
        Brute-force effects of the same rows; needed for
        ``kind="estimate_vs_refit"``.
    row_tasks : ndarray of shape (n_rows,), default=None
        Task label of each row (one of ``task_labels``; None or NaN for rows
        without a task); needed for ``kind="distribution"``.
    task_labels : array-like of shape (n_tasks,), default=None
        Labels of the columns; ``0 .. n_tasks - 1`` when None.

    Attributes
    ----------
    pearson_ : dict
        Pearson correlation between estimates and refits: ``"all"`` pairs,
        and ``"own task"`` / ``"other tasks"`` when ``row_tasks`` is known
        (``kind="estimate_vs_refit"`` only, else None).
    scatter_ : list of matplotlib PathCollection or None
    line_ : matplotlib Line2D or None
        The diagonal "estimate = refit".
    boxplot_ : dict or None
        The artists returned by :meth:`matplotlib.axes.Axes.boxplot`
        (``kind="distribution"``).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    TaskRelatednessDisplay : The same question for whole tasks.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.plotting import InfluenceDisplay
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=4, random_state=0)
    >>> model = MultiTaskRidge().fit(X, y)
    >>> disp = InfluenceDisplay.from_estimator(model, X, y, method="exact")
    >>> round(disp.pearson_["all"], 6)        # the exact effects are the refits
    1.0
    >>> disp = InfluenceDisplay.from_estimator(model, X, y, kind="distribution")
    >>> len(disp.boxplot_["boxes"])            # one box per task
    3
    """

    def __init__(self, influence, *, refit=None, row_tasks=None, task_labels=None):
        self.influence = influence
        self.refit = refit
        self.row_tasks = row_tasks
        self.task_labels = task_labels

    def plot(self, *, kind="estimate_vs_refit", ax=None, target=None, scatter_kw=None,
             boxplot_kw=None):
        """Draw the plot.

        Parameters
        ----------
        kind : {"estimate_vs_refit", "distribution"}, default="estimate_vs_refit"
            See the class description.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        target : task label, default=None
            ``kind="distribution"`` only: show the influence on this task
            alone instead of the total over all tasks.
        scatter_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.scatter`.
        boxplot_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.boxplot`.

        Returns
        -------
        display : InfluenceDisplay
        """
        check_matplotlib_support("InfluenceDisplay.plot")
        import matplotlib.pyplot as plt

        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
        influence = check_array(
            self.influence, ensure_2d=False, ensure_all_finite="allow-nan", input_name="influence"
        )
        if influence.ndim == 1 and (kind != "distribution" or self.task_labels is None):
            raise ValueError(
                "influence holds one score per row: that draws kind='distribution' only, "
                "with task_labels given. Pass the (n_rows, n_tasks) scores otherwise."
            )
        n_tasks = influence.shape[1] if influence.ndim == 2 else len(self.task_labels)
        labels = np.arange(n_tasks) if self.task_labels is None else column_or_1d(self.task_labels)
        if len(labels) != n_tasks:
            raise ValueError(
                f"task_labels has {len(labels)} entries but influence has {n_tasks} columns."
            )
        own = None
        if self.row_tasks is not None:
            row_tasks = np.asarray(self.row_tasks, dtype=object)
            if row_tasks.shape != (len(influence),):
                raise ValueError(
                    f"row_tasks has shape {row_tasks.shape}; give one task label per row "
                    f"of influence ({len(influence)})."
                )
            own = encode_tasks(row_tasks, labels)
            unknown = (own < 0) & ~missing_task_mask(row_tasks)
            unknown = sorted({str(t) for t in row_tasks[unknown]})
            if unknown:
                raise ValueError(
                    f"row_tasks holds labels {unknown} that are not task labels "
                    f"{labels.tolist()}."
                )
        # validate everything before drawing: a failed call opens no figure
        # and leaves the attributes of an earlier plot as they were
        if kind == "estimate_vs_refit":
            if self.refit is None:
                raise ValueError(
                    "kind='estimate_vs_refit' needs the brute-force effects: pass refit= "
                    "(e.g. from skmtl.inspection.loo_effects), or use from_estimator."
                )
            refit = check_array(self.refit, ensure_all_finite="allow-nan", input_name="refit")
            if refit.shape != influence.shape:
                raise ValueError(
                    f"refit has shape {refit.shape} but influence has shape "
                    f"{influence.shape}; they must describe the same rows and tasks."
                )
        else:
            if own is None:
                raise ValueError(
                    "kind='distribution' groups rows by their task: pass row_tasks, or use "
                    "from_estimator."
                )
            # one score per row is taken as the total, or as the target's
            if target is None:
                score = influence if influence.ndim == 1 else np.nansum(influence, axis=1)
                ylabel = "total influence of the row on all tasks"
            else:
                column = _task_index(labels, target)
                score = influence if influence.ndim == 1 else influence[:, column]
                ylabel = f"influence of the row on task {target}"

        if ax is None:
            fig, ax = plt.subplots(layout="constrained")
        else:
            fig = ax.figure
        self.pearson_ = self.scatter_ = self.line_ = self.boxplot_ = None
        if kind == "estimate_vs_refit":
            self._plot_vs_refit(ax, influence, refit, own, scatter_kw or {})
        else:
            self._plot_distribution(ax, score, ylabel, own, labels, boxplot_kw or {})
        self.ax_ = ax
        self.figure_ = fig
        return self

    def _plot_vs_refit(self, ax, influence, refit, own, scatter_kw):
        valid = np.isfinite(influence) & np.isfinite(refit)
        if own is None:
            parts = {"all": valid}
        else:
            is_own = own[:, None] == np.arange(influence.shape[1])
            valid &= (own >= 0)[:, None]  # rows without a task take no part in the fit
            parts = {"own task": valid & is_own, "other tasks": valid & ~is_own}
        self.pearson_ = {"all": _pearson(refit[valid], influence[valid])}
        self.scatter_ = []
        for (name, mask), color in zip(parts.items(), ("C0", "C1")):
            if not mask.any():
                continue
            r = _pearson(refit[mask], influence[mask])
            self.pearson_[name] = r
            label = f"{'rows x tasks' if name == 'all' else name}: r = {r:.3f} (n = {mask.sum()})"
            self.scatter_.append(ax.scatter(
                refit[mask], influence[mask],
                **{"s": 12, "alpha": 0.7, "color": color, "label": label, **scatter_kw},
            ))
        both = np.concatenate([refit[valid], influence[valid]])
        lo, hi = (both.min(), both.max()) if both.size else (-1.0, 1.0)
        (self.line_,) = ax.plot([lo, hi], [lo, hi], "k--", linewidth=1, label="estimate = refit")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.set(
            xlabel="loss change after refitting without the row",
            ylabel="estimated loss change (influence)",
        )
        ax.legend(title=f"Pearson r = {self.pearson_['all']:.3f}", fontsize="small",
                  loc="upper left")

    def _plot_distribution(self, ax, score, ylabel, own, labels, boxplot_kw):
        fixed = sorted({"vert", "orientation", "positions", "labels", "tick_labels"} & set(boxplot_kw))
        if fixed:
            raise ValueError(f"boxplot_kw sets {fixed}: the plot draws one vertical box per task "
                             "at its own position and label; leave them out.")
        present = [k for k in range(len(labels)) if np.any(own == k)]
        data = [score[own == k] for k in present]
        self.boxplot_ = ax.boxplot(
            data, positions=np.arange(len(present)),
            **{"widths": 0.6, "flierprops": {"marker": ".", "markersize": 4}, **boxplot_kw},
        )
        ax.axhline(0, color="grey", linewidth=0.8, linestyle="--")
        if not np.isfinite(score).any():  # a target without validation rows: say why it is empty
            ax.text(0.5, 0.5, "no validation rows", transform=ax.transAxes, ha="center",
                    va="center", color="dimgrey")
        shown = np.arange(0, len(present), max(1, -(-len(present) // MAX_TICK_LABELS)))
        ax.set_xticks(shown, labels[present][shown])
        if len(present) > 8:
            ax.tick_params(axis="x", labelrotation=90)
        ax.set(xlabel="task of the row", ylabel=f"{ylabel}\n(+ = helps, - = hurts)")

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        X_val=None,
        y_val=None,
        *,
        kind="estimate_vs_refit",
        method="mtif",
        rows=None,
        n_jobs=None,
        verbose=0,
        ax=None,
        target=None,
        scatter_kw=None,
        boxplot_kw=None,
    ):
        """Plot the row influence of an estimator fitted on ``(X, y)``.

        Parameters
        ----------
        estimator : fitted skmtl estimator
            Fitted on ``X, y``; for ``kind="estimate_vs_refit"`` a clone is
            refitted once per row in ``rows``.
        X, y : array-like
            The training data (with the task column) the estimator was
            fitted on.
        X_val, y_val : array-like, default=None
            Where the losses are measured; the training data when omitted.
        kind : {"estimate_vs_refit", "distribution"}, default="estimate_vs_refit"
            See :meth:`plot`.
        method : str, default="mtif"
            Passed to ``estimator.influence_chunked``: the scores are
            streamed in blocks of rows and only the rows to compare with
            refits, or one score per row (``kind="distribution"``), are
            kept, so the ``(n_rows, n_tasks)`` matrix is never held.
        rows : array-like of int, default=None
            Rows to compare with refits (``kind="estimate_vs_refit"``); all
            rows when None, one refit each, so pass a subset for large data.
        n_jobs : int, default=None
            Parallel refits (joblib), see :func:`skmtl.inspection.loo_effects`.
        verbose : int, default=0
            Progress bar over the refits when positive.
        ax : matplotlib Axes, default=None
            As in :meth:`plot`.
        target : task label, default=None
            As in :meth:`plot`.
        scatter_kw : dict, default=None
            As in :meth:`plot`.
        boxplot_kw : dict, default=None
            As in :meth:`plot`.

        Returns
        -------
        display : InfluenceDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_fitted_skmtl_estimator(estimator, f"{cls.__name__}.from_estimator")
        if not validation_given(X_val, y_val):
            X_val, y_val = X, y
        if not hasattr(estimator, "get_influence_adapter"):  # e.g. a TaskGroupedEstimator
            return cls._from_chunked_influence(estimator, X, y, X_val, y_val, kind=kind, method=method,
                                               ax=ax, target=target, boxplot_kw=boxplot_kw)
        features, row_tasks = check_task_X(estimator, X, reset=False)
        adapter = estimator.get_influence_adapter()
        fitted = adapter.fit_fingerprint
        if fitted is not None and data_fingerprint(features, row_tasks, column_or_1d(y)) != fitted:
            raise ValueError(
                f"X, y are not the data {type(estimator).__name__} was fitted on, so its "
                "influence rows would be plotted against the wrong rows of X. Pass the "
                "training data, refit the estimator on X, y, or plot scores you computed "
                "with InfluenceDisplay.from_predictions(estimator.influence(X_val, y_val), "
                "row_tasks=..., task_labels=estimator.tasks_)."
            )
        if adapter.n_fit_rows != len(row_tasks):
            raise ValueError(
                f"The estimator was fitted on {adapter.n_fit_rows} rows but X has "
                f"{len(row_tasks)}: pass the training data the estimator was fitted on."
            )
        refit = None
        if kind == "estimate_vs_refit":
            if rows is None and len(row_tasks) > MANY_REFITS:
                warnings.warn(
                    f"rows=None refits the model once per training row: {len(row_tasks):,} refits. "
                    "Pass rows= a sample (e.g. rng.choice(len(X), 200, replace=False)), and "
                    "verbose=1 to follow them.", UserWarning)
            rows = np.arange(len(row_tasks))[slice(None) if rows is None else rows]
            order = np.argsort(rows, kind="stable")
            wanted = rows[order]

            def pick(block, start):
                first, stop = np.searchsorted(wanted, [start, start + len(block)])
                return block[wanted[first:stop] - start]

            influence = np.empty((len(rows), len(estimator.tasks_)))
            influence[order] = adapter.reduced_influence(X_val, y_val, method, pick)
            refit = loo_effects(estimator, X, y, X_val, y_val, rows=rows, n_jobs=n_jobs,
                                verbose=verbose)
            row_tasks = row_tasks[rows]
        else:
            column = None if target is None else _task_index(estimator.tasks_, target)
            influence = adapter.reduced_influence(
                X_val, y_val, method,
                lambda block, start: np.nansum(block, axis=1) if column is None else block[:, column],
            )
        display = cls(influence, refit=refit, row_tasks=row_tasks, task_labels=estimator.tasks_)
        return display.plot(kind=kind, ax=ax, target=target, scatter_kw=scatter_kw,
                            boxplot_kw=boxplot_kw)

    @classmethod
    def _from_chunked_influence(cls, estimator, X, y, X_val, y_val, *, kind, method, ax, target,
                                boxplot_kw):
        """``kind="distribution"`` of an estimator that streams its influence
        (``influence_chunked``) without the adapter protocol."""
        name = type(estimator).__name__
        if kind != "distribution" or not hasattr(estimator, "influence_chunked"):
            raise ValueError(
                f"{name} offers no brute-force comparison here (its refits would redo what it "
                "fitted, e.g. regroup the tasks): use kind='distribution', or plot scores you "
                f"computed with InfluenceDisplay.from_predictions({name}.influence(X_val, y_val), "
                "refit, row_tasks=...)." if hasattr(estimator, "influence_chunked") else
                f"{name} has no influence_chunked to plot; pass its scores to "
                "InfluenceDisplay.from_predictions."
            )
        column = None if target is None else _task_index(estimator.tasks_, target)
        blocks = estimator.influence_chunked(
            X_val, y_val, method=method,
            reduce_func=lambda block, start: np.nansum(block, axis=1) if column is None else block[:, column])
        influence = np.concatenate(list(blocks))
        _, row_tasks = check_task_X(estimator, X, reset=False)
        if len(influence) != len(row_tasks):
            raise ValueError(f"The estimator was fitted on {len(influence)} rows but X has "
                             f"{len(row_tasks)}: pass the training data the estimator was fitted on.")
        display = cls(influence, row_tasks=row_tasks, task_labels=estimator.tasks_)
        return display.plot(kind=kind, ax=ax, target=target, boxplot_kw=boxplot_kw)

    @classmethod
    def from_predictions(
        cls,
        influence,
        refit=None,
        *,
        row_tasks=None,
        task_labels=None,
        kind="estimate_vs_refit",
        ax=None,
        target=None,
        scatter_kw=None,
        boxplot_kw=None,
    ):
        """Plot precomputed influence scores (and refit effects).

        Parameters
        ----------
        influence : array-like of shape (n_rows, n_tasks)
            Estimated effects, e.g. ``estimator.influence(X_val, y_val)``; a
            DataFrame's columns give ``task_labels`` when that is None.
        refit : array-like of shape (n_rows, n_tasks), default=None
            Brute-force effects of the same rows, e.g. from
            :func:`skmtl.inspection.loo_effects`.
        row_tasks : array-like of shape (n_rows,), default=None
            Task label of each row.
        task_labels : array-like of shape (n_tasks,), default=None
            Labels of the columns of ``influence``.
        kind : {"estimate_vs_refit", "distribution"}, default="estimate_vs_refit"
            As in :meth:`plot`.
        ax : matplotlib Axes, default=None
            As in :meth:`plot`.
        target : task label, default=None
            As in :meth:`plot`.
        scatter_kw : dict, default=None
            As in :meth:`plot`.
        boxplot_kw : dict, default=None
            As in :meth:`plot`.

        Returns
        -------
        display : InfluenceDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skmtl.plotting import InfluenceDisplay
        >>> influence = np.array([[0.2, 0.0], [-0.1, 0.05], [0.3, -0.02]])
        >>> refit = np.array([[0.25, 0.01], [-0.12, 0.04], [0.28, -0.03]])
        >>> disp = InfluenceDisplay.from_predictions(
        ...     influence, refit, row_tasks=["a", "b", "a"], task_labels=["a", "b"])
        >>> sorted(disp.pearson_)
        ['all', 'other tasks', 'own task']
        """
        if task_labels is None and hasattr(influence, "columns"):  # a DataFrame labelled by task
            task_labels = np.asarray(influence.columns)
        display = cls(influence, refit=refit, row_tasks=row_tasks, task_labels=task_labels)
        return display.plot(kind=kind, ax=ax, target=target, scatter_kw=scatter_kw,
                            boxplot_kw=boxplot_kw)
