"""Heatmap of a task relatedness matrix (row = source task, column = target task)."""

import warnings

import numpy as np
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..relatedness import order_tasks
from ..utils._tasks import task_matrix, values_by_task

# the most task labels an axis shows; beyond, every k-th
MAX_TICK_LABELS = 50


def check_fitted_skmtl_estimator(estimator, where):
    """Check that ``estimator`` is fitted and not a pipeline around one (which
    holds no tasks or influence of its own), saying how to pass its last step."""
    if hasattr(estimator, "steps"):
        raise TypeError(
            f"{where} takes the fitted skmtl estimator, not a {type(estimator).__name__}: pass "
            "its last step, pipe[-1], with the data transformed by the steps before it, "
            "pipe[:-1].transform(X)."
        )
    check_is_fitted(estimator)


class TaskRelatednessDisplay:
    """Task relatedness heatmap: which tasks help or hurt which.

    Entry ``[k, j]`` of the matrix is the change of target task ``j``'s loss
    when source task ``k`` is removed from training, so rows are source tasks,
    columns are target tasks, and **positive (blue) means task** ``k``
    **helps task** ``j``; negative transfer shows in red. The colour scale is
    diverging and symmetric about zero.

    Create it with :meth:`from_estimator` or :meth:`from_matrix` (any
    ``(n_tasks, n_tasks)`` matrix in this orientation, e.g. the measures of
    :mod:`skmtl.relatedness` or the brute-force
    :func:`skmtl.inspection.loto_effects`); all attributes are stored in it.

    Parameters
    ----------
    relatedness : ndarray of shape (n_tasks, n_tasks)
        Row = source task, column = target task, larger = more helpful.
        NaN entries (e.g. a task without validation rows) are drawn grey.
    task_labels : array-like of shape (n_tasks,), default=None
        Tick labels; ``0 .. n_tasks - 1`` when None.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The heatmap.
    text_ : ndarray of shape (n_tasks, n_tasks) of matplotlib Text, or None
        The annotations, in the displayed order; None when not annotated.
    colorbar_ : matplotlib Colorbar or None
    order_ : ndarray of shape (n_tasks,)
        Index of the task shown at each position (the group ordering).
    empty_text_ : list of matplotlib Text
        The note "no validation rows" written down each column that is
        entirely NaN (a target task without validation rows).
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    InfluenceDisplay : The same question for single training rows.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.plotting import TaskRelatednessDisplay
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=30, random_state=0)
    >>> model = MultiTaskRidge().fit(X, y)
    >>> disp = TaskRelatednessDisplay.from_estimator(model, X, y)
    >>> disp.ax_.get_ylabel()
    'source task (removed)'
    >>> disp.text_.shape
    (4, 4)
    """

    def __init__(self, relatedness, *, task_labels=None):
        self.relatedness = relatedness
        self.task_labels = task_labels

    def plot(
        self,
        *,
        ax=None,
        groups=None,
        cmap="RdBu",
        annotate="auto",
        values_format=".2g",
        vmax=None,
        colorbar=True,
        im_kw=None,
        text_kw=None,
    ):
        r"""Draw the heatmap.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        groups : array-like of shape (n_tasks,), dict, fitted TaskGroupedEstimator or "cluster", default=None
            A group label per task, in the order of the tasks (e.g. the output of
            :func:`~skmtl.relatedness.group_tasks`); a dict or a pandas
            Series keyed by task label; or a fitted
            :class:`~skmtl.TaskGroupedEstimator` (its ``groups_``). Tasks are
            reordered so that each group is contiguous (groups in sorted
            order, tasks in their order within a group), and lines separate
            the groups. ``"cluster"`` orders the tasks by average-linkage
            hierarchical clustering of the symmetrized matrix (each target's
            column scaled as in ``group_tasks``), so that tasks that help
            each other sit together, without group lines.
        cmap : str or matplotlib Colormap, default="RdBu"
            A diverging colour map; its centre is mapped to zero.
        annotate : bool or "auto", default="auto"
            Write the value in each cell; "auto" does so for at most 12 tasks.
        values_format : str, default=".2g"
            Format specification of the annotations. When the largest
            absolute entry is below 0.1 or about 100 or more and a colour bar
            is drawn, the annotations and the colour bar ticks show the values
            divided by a power of ten, given in the colour bar label, so that
            they fit their cells (e.g. ``-0.00067`` as ``-67`` with
            :math:`\times 10^{-5}`); the power follows the colour scale's
            end, ``vmax``.
        vmax : float, default=None
            The colour scale spans ``[-vmax, vmax]``. None uses the largest
            absolute off-diagonal entry, so that the transfer between tasks
            is visible; larger entries (typically a task's effect on itself)
            saturate and the colour bar shows an arrow.
        colorbar : bool, default=True
            Add a colour bar.
        im_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.imshow` (not
            ``vmin``, ``vmax`` or ``norm``: the scale is centred at 0, see
            ``vmax``; a ``cmap`` there keeps missing cells grey).
        text_kw : dict, default=None
            Keywords passed to :meth:`matplotlib.axes.Axes.text`.

        Returns
        -------
        display : TaskRelatednessDisplay
        """
        check_matplotlib_support("TaskRelatednessDisplay.plot")
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize
        from matplotlib.ticker import FuncFormatter

        R, task_labels = _as_labelled_matrix(self.relatedness, self.task_labels)
        n_tasks = R.shape[0]
        labels = np.arange(n_tasks) if task_labels is None else column_or_1d(task_labels)
        if len(labels) != n_tasks:
            raise ValueError(
                f"task_labels has {len(labels)} entries for a matrix of {n_tasks} tasks."
            )
        if annotate not in (True, False, "auto"):
            raise ValueError(f"annotate must be True, False or 'auto', got {annotate!r}.")
        im_kw = dict(im_kw or {})
        if {"vmin", "vmax", "norm"} & set(im_kw):
            raise ValueError(
                f"im_kw sets {sorted({'vmin', 'vmax', 'norm'} & set(im_kw))}, but the colour scale "
                "is centred at 0: pass vmax=... to plot instead (it spans [-vmax, vmax]).")
        cmap = im_kw.pop("cmap", cmap)  # either way, missing cells stay grey
        if annotate == "auto":
            annotate = n_tasks <= 12
        elif annotate and n_tasks > MAX_TICK_LABELS:
            warnings.warn(
                f"annotate=True writes {n_tasks * n_tasks:,} numbers into cells too small to read "
                "them, and drawing them takes minutes at a few hundred tasks; pass annotate=False "
                "(or 'auto').", UserWarning)

        groups = _groups_per_task(groups, labels)
        if isinstance(groups, str) and groups == "cluster":
            order = order_tasks(R)
            boundaries = []
        elif groups is None:
            order = np.arange(n_tasks)
            boundaries = []
        else:
            groups = column_or_1d(groups)
            if len(groups) != n_tasks:
                raise ValueError(
                    f"groups has {len(groups)} entries; give one group label per task ({n_tasks})."
                )
            _, codes = np.unique(groups, return_inverse=True)
            order = np.argsort(codes, kind="stable")
            boundaries = np.flatnonzero(np.diff(codes[order])) + 0.5
        R = R[np.ix_(order, order)]

        if vmax is None:
            off = R[~np.eye(n_tasks, dtype=bool)] if n_tasks > 1 else R.ravel()
            off = np.abs(off[np.isfinite(off)])
            vmax = off.max() if off.size and off.max() > 0 else 1.0
        elif not vmax > 0:
            raise ValueError(f"vmax must be positive, got {vmax}.")
        finite = R[np.isfinite(R)]
        above, below = bool((finite > vmax).any()), bool((finite < -vmax).any())
        extend = {(False, False): "neither", (True, False): "max",
                  (False, True): "min", (True, True): "both"}[(above, below)]

        # "-0.00067" or "1.2e+03" overflows a cell: divide by the power of ten that
        # brings the colour scale's end (the largest off-diagonal entry by default, not a
        # diagonal that saturates anyway) into [9.95, 99.5), two digits in the default format
        power = (
            int(np.ceil(np.log10(vmax / 99.5)))
            if colorbar and not 0.1 <= vmax < 99.5
            else 0
        )

        cmap = plt.get_cmap(cmap).with_extremes(bad="lightgrey")  # a bad name fails before any figure opens
        if ax is None:
            fig, ax = plt.subplots(layout="constrained")
        else:
            fig = ax.figure
        norm = Normalize(vmin=-vmax, vmax=vmax)
        self.im_ = ax.imshow(
            np.ma.masked_invalid(R), **{"cmap": cmap, "norm": norm, "interpolation": "nearest",
                                        **im_kw}
        )

        self.text_ = None
        if annotate:
            self.text_ = np.empty((n_tasks, n_tasks), dtype=object)
            for i in range(n_tasks):
                for j in range(n_tasks):
                    value = R[i, j]
                    # white text on the saturated ends of the diverging map
                    dark = np.isfinite(value) and abs(norm(value) - 0.5) > 0.3
                    text = (
                        format(value / 10.0**power, values_format) if np.isfinite(value) else ""
                    )
                    self.text_[i, j] = ax.text(
                        j, i, text,
                        **{"ha": "center", "va": "center",
                           "color": "white" if dark else "black", "fontsize": "small",
                           **(text_kw or {})},
                    )

        for b in boundaries:
            ax.axhline(b, color="black", linewidth=1.5)
            ax.axvline(b, color="black", linewidth=1.5)
        # a blank column says why: skmtl leaves a target's column empty only
        # where the target has no validation rows
        self.empty_text_ = [
            ax.text(j, (n_tasks - 1) / 2, "no validation rows", rotation=90, ha="center",
                    va="center", fontsize="x-small", color="dimgrey")
            for j in np.flatnonzero(np.isnan(R).all(axis=0))
        ]

        # beyond MAX_TICK_LABELS tasks every label would overlap into a black bar: every k-th
        ticks = np.arange(0, n_tasks, max(1, -(-n_tasks // MAX_TICK_LABELS)))
        ax.set(
            xticks=ticks,
            yticks=ticks,
            xticklabels=labels[order][ticks],
            yticklabels=labels[order][ticks],
            xlabel="target task",
            ylabel="source task (removed)",
        )
        if n_tasks > 8 or sum(len(str(label)) for label in labels) > 40:  # else they overlap
            plt.setp(ax.get_xticklabels(), rotation=90)
        if n_tasks > 20:
            ax.tick_params(labelsize="x-small")

        self.colorbar_ = None
        if colorbar:
            # fraction/pad keep the bar as tall as the square heatmap
            self.colorbar_ = fig.colorbar(self.im_, ax=ax, extend=extend, fraction=0.046, pad=0.04)
            label = "loss change of target without source"
            if power:
                label += rf" ($\times 10^{{{power}}}$)"
                self.colorbar_.formatter = FuncFormatter(lambda v, _: f"{v / 10.0**power:g}")
            self.colorbar_.set_label(label + "\n(+ = source helps)")
        self.order_ = order
        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X_val=None,
        y_val=None,
        *,
        method="mtif",
        task_labels=None,
        ax=None,
        groups=None,
        cmap="RdBu",
        annotate="auto",
        values_format=".2g",
        vmax=None,
        colorbar=True,
        im_kw=None,
        text_kw=None,
    ):
        """Plot the task relatedness of a fitted skmtl estimator.

        Parameters
        ----------
        estimator : fitted estimator with ``task_relatedness`` and ``tasks_``
            E.g. :class:`~skmtl.MultiTaskRidge`.
        X_val, y_val : array-like, default=None
            Validation data (with the task column). When omitted, the
            estimator's ``task_relatedness_`` (against the validation data
            given to ``fit``, or the training data) is shown.
        method : str, default="mtif"
            Passed to ``estimator.task_relatedness``: ``"mtif"``, or
            ``"exact"`` (ridge) / ``"newton"`` (logistic, Poisson).
        task_labels : array-like of shape (n_tasks,), default=None
            Tick labels; ``estimator.tasks_`` when None.
        ax : matplotlib Axes, default=None
            As in :meth:`plot`.
        groups : array-like of shape (n_tasks,), fitted estimator or "cluster", default=None
            As in :meth:`plot`.
        cmap : str or matplotlib Colormap, default="RdBu"
            As in :meth:`plot`.
        annotate : bool or "auto", default="auto"
            As in :meth:`plot`.
        values_format : str, default=".2g"
            As in :meth:`plot`.
        vmax : float, default=None
            As in :meth:`plot`.
        colorbar : bool, default=True
            As in :meth:`plot`.
        im_kw : dict, default=None
            As in :meth:`plot`.
        text_kw : dict, default=None
            As in :meth:`plot`.

        Returns
        -------
        display : TaskRelatednessDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skmtl import MultiTaskRidge
        >>> from skmtl.datasets import make_multitask_regression
        >>> from skmtl.plotting import TaskRelatednessDisplay
        >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, random_state=0)
        >>> disp = TaskRelatednessDisplay.from_estimator(MultiTaskRidge().fit(X, y), method="exact")
        >>> disp.relatedness.shape
        (3, 3)
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_fitted_skmtl_estimator(estimator, f"{cls.__name__}.from_estimator")
        if X_val is None and y_val is None and method == "mtif":
            relatedness = estimator.task_relatedness_
        else:
            relatedness = estimator.task_relatedness(X_val, y_val, method=method)
        return cls.from_matrix(
            relatedness,
            task_labels=estimator.tasks_ if task_labels is None else task_labels,
            ax=ax, groups=groups, cmap=cmap, annotate=annotate, values_format=values_format,
            vmax=vmax, colorbar=colorbar, im_kw=im_kw, text_kw=text_kw,
        )

    @classmethod
    def from_matrix(
        cls,
        relatedness,
        *,
        task_labels=None,
        ax=None,
        groups=None,
        cmap="RdBu",
        annotate="auto",
        values_format=".2g",
        vmax=None,
        colorbar=True,
        im_kw=None,
        text_kw=None,
    ):
        """Plot any task-by-task matrix oriented like ``task_relatedness_``.

        Parameters
        ----------
        relatedness : array-like of shape (n_tasks, n_tasks)
            Row = source task, column = target task, larger = more helpful.
            A DataFrame's index gives the task labels when ``task_labels`` is
            None, and its columns are read in the order of its index (they
            must hold the same labels).
        task_labels : array-like of shape (n_tasks,), default=None
            By default a DataFrame's index, else the ``tasks_`` of a fitted
            estimator given as ``groups`` (a ``TaskGroupedEstimator`` and its
            ``affinity_``), else the positions.
        ax : matplotlib Axes, default=None
            As in :meth:`plot`.
        groups : array-like of shape (n_tasks,), fitted estimator or "cluster", default=None
            As in :meth:`plot`.
        cmap : str or matplotlib Colormap, default="RdBu"
            As in :meth:`plot`.
        annotate : bool or "auto", default="auto"
            As in :meth:`plot`.
        values_format : str, default=".2g"
            As in :meth:`plot`.
        vmax : float, default=None
            As in :meth:`plot`.
        colorbar : bool, default=True
            As in :meth:`plot`.
        im_kw : dict, default=None
            As in :meth:`plot`.
        text_kw : dict, default=None
            As in :meth:`plot`.

        Returns
        -------
        display : TaskRelatednessDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skmtl.plotting import TaskRelatednessDisplay
        >>> R = np.array([[0.5, 0.2, -0.1], [0.3, 0.4, 0.0], [-0.2, 0.1, 0.6]])
        >>> disp = TaskRelatednessDisplay.from_matrix(
        ...     R, task_labels=["a", "b", "c"], groups=[1, 1, 0])
        >>> disp.order_.tolist()          # task "c" forms its own group, shown first
        [2, 0, 1]
        >>> disp.text_[0, 1].get_text()   # source "c", target "a"
        '-0.2'
        """
        if task_labels is None and not hasattr(relatedness, "columns") and hasattr(groups, "tasks_"):
            task_labels = np.asarray(groups.tasks_)  # e.g. a TaskGroupedEstimator's affinity_
        display = cls(relatedness, task_labels=task_labels)
        return display.plot(
            ax=ax, groups=groups, cmap=cmap, annotate=annotate, values_format=values_format,
            vmax=vmax, colorbar=colorbar, im_kw=im_kw, text_kw=text_kw,
        )


def _as_labelled_matrix(relatedness, task_labels):
    """The square matrix and its task labels; a DataFrame is read by its labels
    (:func:`~skmtl.utils._tasks.task_matrix`), which give the task labels unless
    ``task_labels`` does."""
    R, labels = task_matrix(relatedness, name="relatedness")
    return R, labels if task_labels is None else task_labels


def _groups_per_task(groups, labels):
    """``groups`` as one label per task in the order of ``labels`` (a
    TaskGroupedEstimator's ``groups_``; a dict or Series looked up by task)."""
    if groups is None or (isinstance(groups, str) and groups == "cluster"):
        return groups
    if hasattr(groups, "fit"):
        if not hasattr(groups, "groups_"):
            raise ValueError(
                f"groups is a {type(groups).__name__}; an estimator gives groups only as a "
                "fitted TaskGroupedEstimator (its groups_). Pass a group label per task instead.")
        return groups.groups_
    # a dict or Series looked up by task as the matrix's labels are: by value, else by text
    return values_by_task(groups, labels, "groups", "tasks", "tasks of the matrix", every=False,
                          fix="give a group for every task.")

