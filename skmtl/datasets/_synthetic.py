"""The synthetic multitask setting of the MTIF paper (Section 4.1, C.2.1)."""

import numbers

import numpy as np
from scipy.special import softmax
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


def _task_sizes(n_samples, n_tasks):
    sizes = np.broadcast_to(np.asarray(n_samples, dtype=int), (n_tasks,))
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
    n_unrelated = int(round(epsilon * n_tasks))
    unrelated = rng.choice(n_tasks, n_unrelated, replace=False)
    coef[unrelated] = _sphere(rng, n_unrelated, base.size, np.linalg.norm(base)).reshape(
        (n_unrelated,) + base.shape
    )
    is_unrelated = np.zeros(n_tasks, dtype=bool)
    is_unrelated[unrelated] = True
    return coef, is_unrelated


def _stack(rng, sizes, n_features, score):
    task = np.repeat(np.arange(len(sizes)), sizes)
    features = rng.standard_normal((len(task), n_features))
    return np.column_stack([features, task]), task, score(features, task)


def _linear_tasks(rng, n_samples, n_tasks, n_features, h, epsilon, scale):
    """``X`` and ``x theta_k`` of tasks whose ``theta_k`` lie around ``scale e_1``."""
    base = np.zeros(n_features)
    base[0] = scale
    theta, unrelated = _task_coefficients(rng, n_tasks, n_features, h, epsilon, base)
    X, _, signal = _stack(rng, _task_sizes(n_samples, n_tasks), n_features,
                          lambda F, t: np.einsum("nd,nd->n", F, theta[t]))
    return X, signal, theta, unrelated


_COMMON = {
    "n_tasks": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_samples": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
    "h": [Interval(numbers.Real, 0, None, closed="left")],
    "epsilon": [Interval(numbers.Real, 0, 1, closed="both")],
    "coef": ["boolean"],
    "random_state": ["random_state"],
}


@validate_params(
    {**_COMMON, "noise": [Interval(numbers.Real, 0, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_regression(
    n_tasks=10, n_samples=100, n_features=10, *, h=1.0, epsilon=0.2, noise=1.0,
    coef=False, random_state=None,
):
    """Linear tasks that share a coefficient vector up to perturbations.

    Task ``k`` draws ``x ~ N(0, I)`` and ``y = x theta_k + noise * N(0, 1)``
    with ``theta_k = 3 e_1 + delta_k``, ``delta_k`` uniform on the sphere of
    radius ``h``. A fraction ``epsilon`` of the tasks is unrelated: their
    ``theta_k`` is uniform on the sphere of radius 3 instead.

    Parameters
    ----------
    n_tasks : int, default=10
    n_samples : int or array-like of shape (n_tasks,), default=100
        Rows per task (different sizes give ragged data).
    n_features : int, default=10
    h : float, default=1.0
        Distance of each related task from the shared vector.
    epsilon : float in [0, 1], default=0.2
        Fraction of unrelated tasks.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise.
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
    X, signal, theta, unrelated = _linear_tasks(rng, n_samples, n_tasks, n_features, h, epsilon, 3.0)
    y = signal + noise * rng.standard_normal(len(signal))
    return (X, y, theta, unrelated) if coef else (X, y)


@validate_params(
    {**_COMMON, "n_classes": [Interval(numbers.Integral, 2, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_classification(
    n_tasks=10, n_samples=100, n_features=10, *, n_classes=2, h=1.0, epsilon=0.2,
    coef=False, random_state=None,
):
    """Logistic (or softmax) tasks that share coefficients up to perturbations.

    Two classes: ``P(y=1 | x) = sigmoid(x theta_k)`` with ``theta_k`` drawn as
    in :func:`make_multitask_regression`. More classes: class ``c`` scores
    ``x theta_kc`` with ``theta_kc = 3 e_c + delta_kc`` and softmax
    probabilities (needs ``n_features >= n_classes``).

    Parameters
    ----------
    n_tasks : int, default=10
    n_samples : int or array-like of shape (n_tasks,), default=100
    n_features : int, default=10
    n_classes : int, default=2
    h : float, default=1.0
    epsilon : float in [0, 1], default=0.2
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
    if binary:
        X, task, logit = _stack(rng, sizes, n_features, lambda F, t: np.einsum("nd,nd->n", F, theta[t]))
        y = (rng.random_sample(len(task)) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    else:
        X, task, scores = _stack(rng, sizes, n_features, lambda F, t: np.einsum("nd,ncd->nc", F, theta[t]))
        p = softmax(scores, axis=1)
        y = (rng.random_sample(len(task))[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
        y = np.minimum(y, n_classes - 1)
    return (X, y, theta, unrelated) if coef else (X, y)


@validate_params(
    {**_COMMON, "rate": [Interval(numbers.Real, 0, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_counts(
    n_tasks=10, n_samples=100, n_features=10, *, h=0.25, epsilon=0.2, rate=5.0,
    coef=False, random_state=None,
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
        Fraction of unrelated tasks.
    rate : float, default=5.0
        Mean count at ``x = 0``.
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
    X, log_rate, theta, unrelated = _linear_tasks(rng, n_samples, n_tasks, n_features, h, epsilon, 0.5)
    y = rng.poisson(rate * np.exp(log_rate))
    return (X, y, theta, unrelated) if coef else (X, y)
