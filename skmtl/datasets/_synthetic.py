"""The synthetic multitask setting of the MTIF paper (Section 4.1, C.2.1)."""

import numbers

import numpy as np
from scipy.special import softmax
from scipy.stats import special_ortho_group
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


def _task_sizes(n_samples, n_tasks):
    given = np.asarray(n_samples)
    if given.ndim > 1 or (given.ndim == 1 and len(given) != n_tasks):
        raise ValueError(f"n_samples is one size for every task or one per task (n_tasks={n_tasks}); "
                         f"got {given.size} sizes.")
    if given.dtype.kind not in "iu" and not np.all(given == np.round(given)):
        raise ValueError(f"n_samples must be whole numbers of rows; got {given.tolist()}.")
    sizes = np.broadcast_to(given.astype(int), (n_tasks,))
    if np.any(sizes < 1):
        raise ValueError("Every task needs at least one sample (n_samples >= 1).")
    return sizes


def _sphere(rng, n, dim, radius):
    v = rng.standard_normal((n, dim))
    return radius * v / np.linalg.norm(v, axis=1, keepdims=True)


def _task_coefficients(rng, n_tasks, n_features, h, epsilon, base):
    """``theta_k = base + delta_k`` with ``||delta_k|| = h``; a fraction
    ``epsilon`` of tasks gets an unrelated random vector of the same norm."""
    coef = base + _sphere(rng, n_tasks, base.size, h).reshape((n_tasks,) + base.shape)
    n_unrelated = int(np.floor(epsilon * n_tasks + 0.5))  # half up: 0.25 of 10 tasks is 3
    unrelated = rng.choice(n_tasks, n_unrelated, replace=False)
    coef[unrelated] = _sphere(rng, n_unrelated, base.size, np.linalg.norm(base)).reshape(
        (n_unrelated,) + base.shape
    )
    is_unrelated = np.zeros(n_tasks, dtype=bool)
    is_unrelated[unrelated] = True
    return coef, is_unrelated


def _features(rng, sizes, n_features):
    task = np.repeat(np.arange(len(sizes)), sizes)
    return task, rng.standard_normal((len(task), n_features))


def _shift_covariates(rng, features, task, lam):
    """``x = M z`` for every task but task 0, ``M = Q diag(lam, .., lam, 1/lam, .., 1/lam)``
    with ``Q`` a random rotation per task; the features unchanged when ``lam == 1``
    (and ``rng`` not drawn from, so the data stay those without the parameter)."""
    if lam == 1:
        return features
    n_features = features.shape[1]
    half = n_features // 2
    scales = np.ones(n_features)
    scales[:half], scales[n_features - half:] = lam, 1.0 / lam
    out = features.copy()
    for k in range(1, task.max() + 1):
        Q = special_ortho_group.rvs(n_features, random_state=rng) if n_features > 1 else np.eye(1)
        rows = task == k
        out[rows] = features[rows] @ (Q * scales).T
    return out


_COMMON = {
    "n_tasks": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_samples": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
    "h": [Interval(numbers.Real, 0, None, closed="left")],
    "epsilon": [Interval(numbers.Real, 0, 1, closed="both")],
    "covariate_shift": [Interval(numbers.Real, 0, None, closed="neither")],
    "coef": ["boolean"],
    "random_state": ["random_state"],
}


@validate_params(
    {**_COMMON, "noise": [Interval(numbers.Real, 0, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_regression(
    n_tasks=10, n_samples=100, n_features=10, *, h=1.0, epsilon=0.2, noise=1.0,
    covariate_shift=1.0, coef=False, random_state=None,
):
    """Linear tasks that share a coefficient vector up to perturbations.

    Task ``k`` draws ``x ~ N(0, I)`` and ``y = x theta_k + noise * N(0, 1)``
    with ``theta_k = 3 e_1 + delta_k``, ``delta_k`` uniform on the sphere of
    radius ``h``. A fraction ``epsilon`` of the tasks is unrelated: their
    ``theta_k`` is uniform on the sphere of radius 3 instead.

    The three data set shifts of the task-affinity talk (Yang et al. 2020):
    ``h`` is the *model shift* (two related tasks differ by ``||theta_s -
    theta_t||^2 ~ 2 h^2``, the talk's ``2 mu^2``), ``covariate_shift`` the
    *covariate shift* and a per-task ``n_samples`` the *size imbalance*.

    Parameters
    ----------
    n_tasks : int, default=10
    n_samples : int or array-like of shape (n_tasks,), default=100
        Rows per task (different sizes give ragged data).
    n_features : int, default=10
    h : float, default=1.0
        Distance of each related task from the shared vector (model shift).
    epsilon : float in [0, 1], default=0.2
        Fraction of unrelated tasks (``epsilon * n_tasks`` rounded half up).
    noise : float, default=1.0
        Standard deviation of the Gaussian noise.
    covariate_shift : float > 0, default=1.0
        ``lam``: task 0 draws ``x ~ N(0, I)``, every other task ``x ~ N(0, M
        M^T)`` with ``M = Q diag(lam, ..., lam, 1/lam, ..., 1/lam)`` (half
        the directions stretched, half shrunk, the middle one kept for an
        odd ``n_features``) and ``Q`` a random rotation per task. 1 (the
        default) is no shift and leaves the data unchanged.
    coef : bool, default=False
        Also return the true coefficients and which tasks are unrelated.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (sum n_samples, n_features + 1)
        Features, then the task label (0 .. n_tasks-1) as the last column.
    y : ndarray of shape (sum n_samples,)
    coef : ndarray of shape (n_tasks, n_features), only when ``coef=True``
    unrelated : ndarray of shape (n_tasks,) of bool, only when ``coef=True``

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=5, n_features=2, random_state=0)
    >>> X.shape, y.shape
    ((15, 3), (15,))
    """
    rng = check_random_state(random_state)
    sizes = _task_sizes(n_samples, n_tasks)
    base = np.zeros(n_features)
    base[0] = 3.0
    theta, unrelated = _task_coefficients(rng, n_tasks, n_features, h, epsilon, base)
    task, features = _features(rng, sizes, n_features)
    draws = rng.standard_normal(len(task))
    features = _shift_covariates(rng, features, task, covariate_shift)
    y = np.einsum("nd,nd->n", features, theta[task]) + noise * draws
    X = np.column_stack([features, task])
    return (X, y, theta, unrelated) if coef else (X, y)


@validate_params(
    {**_COMMON, "n_classes": [Interval(numbers.Integral, 2, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_classification(
    n_tasks=10, n_samples=100, n_features=10, *, n_classes=2, h=1.0, epsilon=0.2,
    covariate_shift=1.0, coef=False, random_state=None,
):
    """Logistic (or softmax) tasks that share coefficients up to perturbations.

    Two classes: ``P(y=1 | x) = sigmoid(x theta_k)`` with ``theta_k`` drawn as
    in :func:`make_multitask_regression`. More classes: class ``c`` scores
    ``x theta_kc`` with ``theta_kc = 3 e_c + delta_kc`` and softmax
    probabilities (needs ``n_features >= n_classes``); there ``h`` is the
    norm of the whole ``(n_classes, n_features)`` perturbation of a task,
    so each class's ``delta_kc`` is about ``h / sqrt(n_classes)``, and an
    unrelated task's coefficients are a random matrix of the norm of
    ``3 I``, ``3 sqrt(n_classes)``.

    Parameters
    ----------
    n_tasks : int, default=10
    n_samples : int or array-like of shape (n_tasks,), default=100
    n_features : int, default=10
    n_classes : int, default=2
    h : float, default=1.0
        Model shift, as in :func:`make_multitask_regression` (with more than
        two classes the norm of all classes' perturbations together).
    epsilon : float in [0, 1], default=0.2
    covariate_shift : float > 0, default=1.0
        Covariate shift of every task but task 0, as in
        :func:`make_multitask_regression`.
    coef : bool, default=False
        Also return the true coefficients and which tasks are unrelated.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (sum n_samples, n_features + 1)
        Features, then the task label as the last column.
    y : ndarray of shape (sum n_samples,) of int
    coef : ndarray of shape (n_tasks, n_features) or (n_tasks, n_classes, n_features)
    unrelated : ndarray of shape (n_tasks,) of bool

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_classification
    >>> X, y = make_multitask_classification(n_tasks=2, n_samples=4, n_features=3, random_state=0)
    >>> X.shape, np.unique(y)
    ((8, 4), array([0, 1]))
    """
    rng = check_random_state(random_state)
    sizes = _task_sizes(n_samples, n_tasks)
    binary = n_classes == 2
    if not binary and n_features < n_classes:
        raise ValueError(f"n_features={n_features} must be >= n_classes={n_classes}.")
    base = np.zeros(n_features) if binary else np.zeros((n_classes, n_features))
    if binary:
        base[0] = 3.0
    else:
        base[np.arange(n_classes), np.arange(n_classes)] = 3.0
    theta, unrelated = _task_coefficients(rng, n_tasks, n_features, h, epsilon, base)
    task, features = _features(rng, sizes, n_features)
    draws = rng.random_sample(len(task))
    features = _shift_covariates(rng, features, task, covariate_shift)
    X = np.column_stack([features, task])
    if binary:
        logit = np.einsum("nd,nd->n", features, theta[task])
        y = (draws < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    else:
        p = softmax(np.einsum("nd,ncd->nc", features, theta[task]), axis=1)
        y = (draws[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        y = np.minimum(y, n_classes - 1)
    return (X, y, theta, unrelated) if coef else (X, y)


@validate_params(
    {**_COMMON, "rate": [Interval(numbers.Real, 0, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_counts(
    n_tasks=10, n_samples=100, n_features=10, *, h=0.25, epsilon=0.2, rate=5.0,
    covariate_shift=1.0, coef=False, random_state=None,
):
    """Poisson count tasks (log link) that share coefficients up to perturbations.

    Task ``k`` draws ``x ~ N(0, I)`` and ``y ~ Poisson(rate * exp(x theta_k))``
    with ``theta_k = 0.5 e_1 + delta_k``, ``delta_k`` uniform on the sphere
    of radius ``h``; a fraction ``epsilon`` of the tasks is unrelated, their
    ``theta_k`` uniform on the sphere of radius 0.5. Counts per school,
    region or user, as :class:`~skmtl.MultiTaskPoisson` models them.

    Parameters
    ----------
    n_tasks : int, default=10
    n_samples : int or array-like of shape (n_tasks,), default=100
        Rows per task.
    n_features : int, default=10
    h : float, default=0.25
        Distance of each related task from the shared vector.
    epsilon : float in [0, 1], default=0.2
        Fraction of unrelated tasks (``epsilon * n_tasks`` rounded half up).
    rate : float, default=5.0
        Mean count at ``x = 0``.
    covariate_shift : float, default=1.0
        As in :func:`make_multitask_regression`.
    coef : bool, default=False
        Also return the true coefficients and which tasks are unrelated.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (sum n_samples, n_features + 1)
        Features, then the task label as the last column.
    y : ndarray of shape (sum n_samples,) of int
        Counts.
    coef : ndarray of shape (n_tasks, n_features), only when ``coef=True``
    unrelated : ndarray of shape (n_tasks,) of bool, only when ``coef=True``

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_counts
    >>> X, y = make_multitask_counts(n_tasks=3, n_samples=5, n_features=2, random_state=0)
    >>> X.shape, y.dtype.kind, bool(y.min() >= 0)
    ((15, 3), 'i', True)
    """
    rng = check_random_state(random_state)
    base = np.zeros(n_features)
    base[0] = 0.5
    theta, unrelated = _task_coefficients(rng, n_tasks, n_features, h, epsilon, base)
    task, features = _features(rng, _task_sizes(n_samples, n_tasks), n_features)
    features = _shift_covariates(rng, features, task, covariate_shift)
    y = rng.poisson(rate * np.exp(np.einsum("nd,nd->n", features, theta[task])))
    X = np.column_stack([features, task])
    return (X, y, theta, unrelated) if coef else (X, y)
