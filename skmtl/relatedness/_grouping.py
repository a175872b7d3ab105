"""Grouping tasks from an affinity matrix: spectral clustering and TAG-style selection."""

import numbers

import numpy as np
from sklearn.cluster import SpectralClustering
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._tasks import task_matrix


def _normalized(affinity, scale="largest"):
    """Scale each target column: by its largest off-diagonal magnitude
    (``"largest"``) or by its diagonal, the target's self-affinity (``"self"``,
    TAG's ``t(b, a) / t(a, a)``).

    Measures differ in units (loss changes, cosines, loss ratios) and tasks
    in loss scale; after scaling by the largest, every target's sources lie
    in [-1, 1]. NaN counts as 0 and the diagonal is zeroed (a task is always
    grouped with itself).
    """
    A = np.nan_to_num(affinity, nan=0.0)
    if scale == "self":
        own = np.diag(affinity).astype(float)
        if not (np.isfinite(own) & (own > 0)).all():
            raise ValueError(
                "scale='self' divides each target's column by its self-affinity (the diagonal), "
                "which must be positive; here it is "
                f"{np.array2string(own, precision=3, threshold=8)}. Give a measure with a "
                "self-affinity (tag_affinity), or use scale='largest'.")
    else:
        own = None
    np.fill_diagonal(A, 0.0)
    divisor = np.abs(A).max(axis=0) if own is None else own
    return np.divide(A, divisor, out=np.zeros_like(A), where=divisor > 0)


def _partition_scores(A, labels):
    """TAG's total affinity of partitions ``labels`` (n_partitions, n_tasks):
    for every task, the mean affinity onto it from the other members of its
    group (0 alone), summed over tasks."""
    same = labels[:, :, None] == labels[:, None, :]
    idx = np.arange(A.shape[0])
    same[:, idx, idx] = False
    sums = np.einsum("pst,st->pt", same, A)
    counts = same.sum(axis=1)
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0).sum(axis=1)


def _n_partitions(n, k):
    """Partitions of ``n`` items into at most ``k`` blocks (sum of Stirling numbers)."""
    stirling = [1] + [0] * k  # S(0, j)
    for _ in range(n):
        stirling = [0] + [j * stirling[j] + stirling[j - 1] for j in range(1, k + 1)]
    return sum(stirling)


def _all_partitions(n, k):
    """Every partition of ``n`` items into at most ``k`` blocks, as restricted growth strings."""
    out = []

    def extend(prefix, n_blocks):
        if len(prefix) == n:
            out.append(prefix)
            return
        for b in range(min(n_blocks + 1, k)):
            extend(prefix + (b,), max(n_blocks, b + 1))

    extend((), 0)
    return np.array(out)


def _exhaustive(A, n_groups, chunk=20000):
    best, best_score = None, -np.inf
    partitions = _all_partitions(A.shape[0], n_groups)
    for start in range(0, len(partitions), chunk):
        block = partitions[start:start + chunk]
        scores = _partition_scores(A, block)
        i = np.argmax(scores)
        if scores[i] > best_score + 1e-12:
            best, best_score = block[i], scores[i]
    return best


def _group_score(total, size):
    """TAG's score of a group from the sum of the affinities among its members:
    each member's mean affinity from the others, summed (0 for a task alone)."""
    return np.divide(total, size - 1, out=np.zeros_like(total, dtype=float), where=size > 1)


def _greedy(A, n_groups):
    """Merge the best pair of groups until at most ``n_groups`` remain and no
    merge helps, then move single tasks while that helps.

    A group's score depends only on the sum of the affinities among its
    members (:func:`_group_score`), so every merge and move is scored from
    the group-to-group sums ``P[a, b]`` (sources in ``a``, targets in ``b``)
    and the changed groups alone, where scoring every candidate partition
    anew took ``O(n_tasks^5)`` (minutes at 200 tasks): a merge updates the
    merged group's pair gains and finds the best pair in one pass, a move
    reads each task's kept affinity with every group.
    """
    n_tasks = A.shape[0]
    labels = np.arange(n_tasks)
    P, size, alive = A.copy(), np.ones(n_tasks), np.ones(n_tasks, dtype=bool)
    within = np.diag(P).copy()
    own = _group_score(within, size)

    def merge_gains(first, second):
        """The gain of merging each group ``first[i]`` with ``second[i]`` (first < second)."""
        total = within[first] + within[second] + P[first, second] + P[second, first]
        return _group_score(total, size[first] + size[second]) - own[first] - own[second]

    # gains of every pair of groups, upper triangle (first < second; -inf elsewhere): a merge
    # changes only the merged group's pairs, so each merge costs one pass to find the best
    gains = np.full((n_tasks, n_tasks), -np.inf)
    first, second = np.triu_indices(n_tasks, 1)
    gains[first, second] = merge_gains(first, second)
    for n_left in range(n_tasks, 1, -1):
        a, b = np.unravel_index(np.argmax(gains), gains.shape)  # b joins a (a < b)
        if n_left <= n_groups and gains[a, b] <= 1e-12:
            break
        P[a] += P[b]
        P[:, a] += P[:, b]
        size[a] += size[b]
        alive[b] = False
        labels[labels == b] = a
        within[a] = P[a, a]
        own[a] = _group_score(within[a:a + 1], size[a:a + 1])[0]
        gains[b, :] = gains[:, b] = -np.inf
        others = np.flatnonzero(alive)
        below, above = others[others < a], others[others > a]
        gains[below, a] = merge_gains(below, np.full(len(below), a))
        gains[a, above] = merge_gains(np.full(len(above), a), above)
    total = {g: P[g, g] for g in np.unique(labels)}
    count = {g: float(size[g]) for g in total}
    # each task's affinity with each group, both ways (A's diagonal is 0), kept up to
    # date as tasks move: a mask per group and task made every sweep O(n_tasks^2 n_groups)
    both_ways = A + A.T
    link = {g: both_ways[:, labels == g].sum(axis=1) for g in total}
    improved = True
    while improved:
        improved = False
        for task in range(n_tasks):
            here, others = labels[task], [g for g in sorted(total) if g != labels[task]]
            links = np.array([link[g][task] for g in others + [here]])
            left = _group_score(np.array([total[here] - links[-1]]), np.array([count[here] - 1]))[0]
            before = _group_score(np.array([total[here]]), np.array([count[here]]))[0]
            new_group = max(total) + 1
            targets = others + [new_group]
            sizes = np.array([count[g] for g in others] + [0.0])
            sums = np.array([total[g] for g in others] + [0.0])
            joined = _group_score(sums + np.r_[links[:-1], 0.0], sizes + 1)
            gains = joined - _group_score(sums, sizes) + left - before
            n_used = len(total) + np.r_[np.zeros(len(others)), 1.0] - (count[here] == 1)
            gains = np.where(n_used <= n_groups, gains, -np.inf)
            i = np.argmax(gains)
            if gains[i] > 1e-12:
                g = targets[i]
                total[here] -= links[-1]
                count[here] -= 1
                link[here] = link[here] - both_ways[:, task]
                if count[here] == 0:
                    del total[here], count[here], link[here]
                total[g] = total.get(g, 0.0) + (links[i] if i < len(others) else 0.0)
                count[g] = count.get(g, 0.0) + 1
                link[g] = link.get(g, 0.0) + both_ways[:, task]
                labels[task] = g
                improved = True
    return labels


@validate_params(
    {
        "affinity": ["array-like"],
        "n_groups": [Interval(numbers.Integral, 1, None, closed="left")],
        "method": [StrOptions({"spectral", "tag"})],
        "search": [StrOptions({"auto", "exhaustive", "greedy"})],
        "scale": [StrOptions({"largest", "self"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def group_tasks(affinity, n_groups, *, method="spectral", search="auto", scale="largest",
                random_state=None):
    """Group tasks that help each other, from any task affinity matrix.

    Each target's column is first scaled, by default by its largest
    off-diagonal magnitude, so that measures in any unit (loss changes,
    cosines, loss ratios) and tasks of any loss scale weigh alike.

    Parameters
    ----------
    affinity : array-like or DataFrame of shape (n_tasks, n_tasks)
        Row = source, column = target, larger = more helpful: the output of
        any :mod:`skmtl.relatedness` measure, ``task_relatedness_`` or
        :func:`skmtl.inspection.loto_effects`. NaN counts as 0. A DataFrame
        is read by its labels: its columns in the order of its index.
    n_groups : int
        ``method="spectral"``: the number of clusters. ``method="tag"``: the
        budget, the largest number of groups (models to train).
    method : {"spectral", "tag"}, default="spectral"
        ``"spectral"``: scikit-learn's :class:`~sklearn.cluster.SpectralClustering`
        on the symmetrized scaled affinity mapped to [0, 1] (the talk's
        task grouping). ``"tag"``: TAG's network selection restricted to
        partitions: maximize the sum over tasks of the mean scaled affinity
        onto the task from the other members of its group (0 for a task
        alone), over partitions into at most ``n_groups`` groups. TAG also
        lets a task help train a group it is not served from; here every
        task trains in exactly one group.
    search : {"auto", "exhaustive", "greedy"}, default="auto"
        ``method="tag"``: try every partition (at most 5,000,000), or merge
        groups greedily and then move single tasks while the score rises (a
        heuristic: 1,000 tasks take about a second and 2,000 about 7 s, but
        it can miss the best
        partition: on 400 random matrices of 3 to 11 tasks it reached the
        best score on 308 and fell short on 92, by 7 % in the median;
        ``python benchmarks/bench_grouping.py search-time``). ``"auto"`` is
        exhaustive up to 200,000 partitions (11 tasks into at most 4 groups
        are 175,275; 12 into 3, 88,574).
    scale : {"largest", "self"}, default="largest"
        How each target's column is scaled: by its largest off-diagonal
        magnitude (any measure), or by its diagonal, the target's
        self-affinity, which must be positive: TAG's normalized transference
        ``t(b, a) / t(a, a)`` (Fifty et al., 2021, appendix), only with
        ``method="tag"``, for an affinity with a self-affinity such as
        :func:`tag_affinity`'s. The two can choose different partitions.
    random_state : int, RandomState instance or None, default=None
        Seeds the spectral embedding's k-means.

    Returns
    -------
    labels : ndarray of shape (n_tasks,) or Series
        Group of each task, numbered in order of first appearance; a Series
        indexed by task when ``affinity`` is a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.relatedness import group_tasks
    >>> A = np.array([[0, 1, -.5, -.5], [1, 0, -.5, -.5], [-.5, -.5, 0, 1], [-.5, -.5, 1, 0]])
    >>> group_tasks(A, 2, method="tag")
    array([0, 0, 1, 1])
    >>> group_tasks(A, 2, random_state=0)
    array([0, 0, 1, 1])
    """
    A, tasks = task_matrix(affinity)
    n_tasks = A.shape[0]
    if n_groups > n_tasks:
        raise ValueError(f"n_groups={n_groups} exceeds the number of tasks ({n_tasks}).")
    if scale == "self" and method == "spectral":
        raise ValueError("scale='self' is TAG's normalization, for method='tag'; spectral "
                         "grouping maps affinities scaled by the largest into [0, 1].")
    A = _normalized(A, scale)
    if method == "spectral":
        if n_groups == 1:
            labels = np.zeros(n_tasks, dtype=int)
        elif n_groups == n_tasks:  # a task per cluster (the embedding would warn k >= N)
            labels = np.arange(n_tasks)
        else:
            W = (A + A.T + 2.0) / 4.0
            np.fill_diagonal(W, 1.0)
            labels = SpectralClustering(
                n_clusters=n_groups, affinity="precomputed", random_state=random_state
            ).fit_predict(W)
    elif search == "exhaustive" or (search == "auto" and _n_partitions(n_tasks, n_groups) <= 200_000):
        if (n_partitions := _n_partitions(n_tasks, n_groups)) > 5_000_000:
            raise ValueError(
                f"search='exhaustive' would score {n_partitions:.3g} partitions of {n_tasks} tasks "
                f"into at most {n_groups} groups; it takes at most 5,000,000. Use search='greedy' "
                "(or 'auto').")
        labels = _exhaustive(A, n_groups)
    else:
        labels = _greedy(A, n_groups)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first))
    labels = order[np.searchsorted(np.unique(labels), labels)]
    if tasks is None:
        return labels
    import pandas as pd

    return pd.Series(labels, index=tasks, name="group")


@validate_params(
    {"affinity": ["array-like"], "threshold": [numbers.Real]},
    prefer_skip_nested_validation=True,
)
def select_source_tasks(affinity, threshold=0.0):
    """The source tasks that help each target, from any task affinity matrix.

    Task modeling's selection rule (Li, Nguyen and Zhang 2023): train the
    target with the sources whose surrogate coefficient ``theta[s, t]``
    (the change of the target's loss when ``s`` joins) is below a threshold
    ``gamma``. With any affinity oriented like ``task_relatedness_`` (larger
    = more helpful) the rule is ``affinity[s, t] > threshold``. For
    :func:`~skmtl.relatedness.surrogate_affinity`, whose affinity is ``-theta`` centred over
    each target's sources, ``threshold=0`` keeps the sources better than
    the target's average source; for ``task_relatedness_`` (the loss change
    when the source is removed), ``threshold=0`` keeps those whose removal
    would raise the target's loss.

    Parameters
    ----------
    affinity : array-like or DataFrame of shape (n_tasks, n_tasks)
        Row = source, column = target, larger = more helpful. NaN entries
        (e.g. targets without validation rows) select nothing. A DataFrame
        is read by its labels: its columns in the order of its index.
    threshold : float, default=0.0
        Sources with an affinity above it are selected.

    Returns
    -------
    selected : dict
        For every target, the array of its selected sources (never the
        target itself), most helpful first: task labels when ``affinity`` is
        a DataFrame, positions otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.relatedness import select_source_tasks
    >>> A = np.array([[0, .5, -1], [.2, 0, .3], [-.4, .1, 0]])
    >>> select_source_tasks(A)
    {0: array([1]), 1: array([0, 2]), 2: array([1])}
    """
    A, tasks = task_matrix(affinity)
    n_tasks = A.shape[0]
    labels = np.arange(n_tasks) if tasks is None else tasks
    selected = {}
    for t in range(n_tasks):
        column = np.where(np.arange(n_tasks) == t, np.nan, A[:, t])
        keep = np.flatnonzero(column > threshold)
        order = keep[np.argsort(-column[keep], kind="stable")]
        selected[t if tasks is None else labels[t]] = labels[order]
    return selected


# up to this many tasks order_tasks puts the leaves in optimal order
_OPTIMAL_ORDER_TASKS = 500


def order_tasks(affinity):
    """An order of the tasks that puts tasks which help each other side by side.

    Average-linkage clustering of the symmetrized affinity, each target
    column scaled by its largest off-diagonal magnitude (as
    :func:`group_tasks` does), leaves in optimal order (up to 500 tasks;
    beyond, in the dendrogram's order, as the optimal order grows as the
    cube of the tasks: 14 s at 2,000); for heatmaps
    (``TaskRelatednessDisplay(groups="cluster")``).

    Parameters
    ----------
    affinity : array-like or DataFrame of shape (n_tasks, n_tasks)
        ``affinity[i, j]``: the effect of source task ``i`` on target task
        ``j``, higher = more helpful; NaN counts as 0. A DataFrame is read
        by its labels (its columns in the order of its index).

    Returns
    -------
    order : ndarray of shape (n_tasks,)
        Task positions in display order.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.relatedness import order_tasks
    >>> A = np.array([[1, 0, .9], [0, 1, 0], [.9, 0, 1]])
    >>> order_tasks(A).tolist()
    [1, 2, 0]
    """
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    R = task_matrix(affinity)[0]
    if len(R) < 3:
        return np.arange(len(R))
    A = _normalized(R)
    distance = 1.0 - (A + A.T) / 2.0  # in [0, 2]: 0 for tasks that help each other most
    np.fill_diagonal(distance, 0.0)
    condensed = squareform(distance, checks=False)
    tree = linkage(condensed, "average")
    if len(R) > _OPTIMAL_ORDER_TASKS:  # the optimal leaf order grows as n^3: minutes at 2,000 tasks
        return leaves_list(tree)
    return leaves_list(optimal_leaf_ordering(tree, condensed))
