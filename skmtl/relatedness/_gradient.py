"""Relatedness from gradients on the shared parameters: cosine similarity and TAG affinity."""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..base import validation_given
from ._adapters import adapter_for, as_output


def _fit_and_adapt(estimator, X, y, X_val, y_val):
    """Fit a clone on ``(X, y)``; return it, its adapter, the training data and
    the data the target losses are measured on (validation if given)."""
    given = validation_given(X_val, y_val)
    model = clone(estimator).fit(X, y)
    adapter = adapter_for(model)
    train = adapter.train_data()
    return model, adapter, train, adapter.data(X_val, y_val) if given else train


_COMMON = {
    "estimator": "no_validation",
    "X": ["array-like"],
    "y": ["array-like"],
    "X_val": ["array-like", None],
    "y_val": ["array-like", None],
    "as_frame": ["boolean"],
}


@validate_params(_COMMON, prefer_skip_nested_validation=False)
def cosine_affinity(estimator, X, y, X_val=None, y_val=None, *, as_frame=False):
    """Cosine similarity of the tasks' gradients on the shared parameters.

    The estimator is fitted on ``(X, y)``. Entry ``[i, j]`` is the cosine of
    the angle between source task ``i``'s training-loss gradient and target
    task ``j``'s loss gradient on ``(X_val, y_val)`` (the training data when
    omitted), both with respect to the shared parameters at the fitted model.
    Positive: a step that lowers task ``i``'s loss also lowers task ``j``'s.

    Give held-out ``X_val``: on the training data the fitted model is a
    stationary point, where the tasks' gradients on the shared parameters
    sum to about zero (to the shared parameters' own penalty), so each
    task's gradient points against the sum of the others': the cosines lean
    negative, and with two tasks they are -1 whatever the tasks.

    For the soft-sharing linear models the shared parameter is the common
    vector ``beta`` in ``theta_k = beta + delta_k``, so a task's gradient on
    it is the gradient of its loss in its own coefficients (see
    :doc:`/relatedness`). For a :class:`~skmtl.network.SharedBottomNet` they are
    the trainable parameters of the bottoms of all its ``n_models``
    networks.

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned and fitted on ``(X, y)``; never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Data for the target tasks' gradients; the training data when
        omitted (see above: prefer held-out data).
    as_frame : bool, default=False
        Return a DataFrame with tasks as index (source) and columns (target).

    Returns
    -------
    affinity : ndarray or DataFrame of shape (n_tasks, n_tasks)
        Values in ``[-1, 1]``; row = source, column = target, tasks in the
        order of ``tasks_``. A zero gradient gives 0; a target without rows
        in ``X_val`` gives NaN.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.relatedness import cosine_affinity
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> A = cosine_affinity(MultiTaskRidge(), X, y)
    >>> A.shape, bool(abs(A).max() <= 1 + 1e-12)
    ((3, 3), True)
    """
    _, adapter, train, target = _fit_and_adapt(estimator, X, y, X_val, y_val)
    source_grads = _unit(adapter.task_terms(train)[1])
    target_losses, target_grads = adapter.task_terms(target)
    out = source_grads @ _unit(target_grads).T
    out[:, np.isnan(target_losses)] = np.nan
    return as_output(out, adapter.tasks, as_frame)


def _unit(vectors):
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


@validate_params(
    {
        **_COMMON,
        "method": [StrOptions({"exact", "first_order"})],
        "n_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither"), None],
    },
    prefer_skip_nested_validation=False,
)
def tag_affinity(
    estimator, X, y, X_val=None, y_val=None, *, method="exact", n_steps=50,
    learning_rate=None, as_frame=False,
):
    """Inter-task affinity (TAG, Fifty et al.): lookahead transference averaged over training.

    At each training step ``t``, with learning rate ``eta`` and shared
    parameters ``b``, the affinity of source ``i`` onto target ``j`` is::

        Z_ij = 1 - L_j(b - eta * grad_b L_i) / L_j(b)            (method="exact")
        Z_ij ~ eta * <grad_b L_j, grad_b L_i> / L_j(b)           (method="first_order")

    with the task-specific parameters held fixed, ``L_i`` the source's
    training loss and ``L_j`` the target's loss on ``(X_val, y_val)`` (the
    training data when omitted, as in TAG). The result is the mean of
    ``Z`` over the steps. Positive: a step on task ``i``'s gradient lowers
    task ``j``'s loss.

    Training steps. The soft-sharing linear models are fitted by Newton
    steps (ridge needs one), too few to average over. Their steps here are
    those of full-batch gradient descent on the same multitask objective,
    in the parametrization ``theta_k = beta + delta_k`` whose shared
    parameter is ``beta``, from the zero initialization of the Newton fit,
    with ``learning_rate`` (default ``1 / L``, ``L`` the largest curvature
    of the objective at the start; halved whenever the objective rises).
    Networks record the affinity on their own training batches:
    ``SharedBottomNet`` is fitted with ``record_affinity`` set from
    ``method`` (``"lookahead"`` or ``"first_order"``) and its
    ``tag_affinity_`` is returned; ``n_steps`` and ``learning_rate`` then
    do not apply (its optimizer's settings do).

    Parameters
    ----------
    estimator : skmtl estimator
        Cloned and fitted on ``(X, y)``; never modified.
    X, y : array-like
        Training data with the task column.
    X_val, y_val : array-like, default=None
        Data on which the target losses are measured.
    method : {"exact", "first_order"}, default="exact"
        ``"exact"`` evaluates the lookahead loss (a second forward pass);
        ``"first_order"`` its first-order Taylor expansion (inner product
        over loss).
    n_steps : int, default=50
        Gradient-descent steps to average over (linear models).
    learning_rate : float, default=None
        Step size of the descent (linear models); ``1 / L`` when None.
    as_frame : bool, default=False
        Return a DataFrame labelled by task.

    Returns
    -------
    affinity : ndarray or DataFrame of shape (n_tasks, n_tasks)
        Row = source, column = target; NaN for targets without rows in
        ``X_val``.

    Examples
    --------
    >>> from skmtl import MultiTaskRidge
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.relatedness import tag_affinity
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> tag_affinity(MultiTaskRidge(), X, y, n_steps=10).shape
    (3, 3)
    """
    given = validation_given(X_val, y_val)
    model = clone(estimator)
    records = "record_affinity" in model.get_params()  # networks record TAG while they train
    if records:
        model.set_params(record_affinity={"exact": "lookahead", "first_order": "first_order"}[method])
    if records and given:  # fail before the fit, not after
        raise _recorded_with_validation(model)
    if records and model.get_params().get("solver") == "lbfgs":
        raise ValueError(
            f"tag_affinity records TAG on the mini-batch steps of {type(model).__name__}'s "
            "training, which solver='lbfgs' does not take (it trains full batch, with a line "
            "search): use solver='adam' or 'sgd'."
        )
    model.fit(X, y)
    recorded = getattr(model, "tag_affinity_", None)
    if recorded is not None:
        if given:
            raise _recorded_with_validation(model)
        return as_output(np.asarray(recorded), model.tasks_, as_frame)
    adapter = adapter_for(model, needs=("training_path", "shifted_losses"))
    train = adapter.train_data()
    target = adapter.data(X_val, y_val) if given else train
    total = np.zeros((len(adapter.tasks),) * 2)
    for params, lr in adapter.training_path(n_steps, learning_rate):
        source_grads = adapter.task_terms(train, params)[1]
        base, target_grads = adapter.task_terms(target, params)
        if method == "exact":
            after = adapter.shifted_losses(target, -lr * source_grads, params)
            total += 1.0 - after / base[None]
        else:
            total += lr * (source_grads @ target_grads.T) / base[None]
    return as_output(total / n_steps, adapter.tasks, as_frame)


def _recorded_with_validation(model):
    return ValueError(
        f"{type(model).__name__} records TAG affinity on its training "
        "batches during fit; call tag_affinity without X_val/y_val."
    )
