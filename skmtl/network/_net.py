"""SharedBottomNet: hard parameter sharing in torch, as a scikit-learn estimator."""

import contextlib
import copy
import io
import numbers
import warnings

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods, Interval, StrOptions, validate_parameter_constraints,
)
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight, check_consistent_length, check_is_fitted, column_or_1d,
)
from torch import nn
from tqdm.auto import tqdm

from ..base import (
    InfluenceMixin, binary_log_proba, data_fingerprint, keep_state_on_error, validation_given,
)
from ..utils._tasks import check_task_X, encode_fitted_tasks, encode_tasks, missing_task_mask
from ._influence import CLASSIFICATION, REGRESSION, MemberInfluence, row_losses

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}
_TASK_TYPES = ("regression", "classification")
_PREDICT_CHUNK = 8192
_TORCH_ATTRIBUTES = ("module", "models_")  # saved with torch.save (see __getstate__)
_INFLUENCE_SETTINGS = ("projection_dim", "soft_threshold", "influence_batch_size")  # read at influence time


class _MultiHeadNet(nn.Module):
    """A shared bottom and one linear head per task (heads padded to ``n_out``)."""

    def __init__(self, bottom, width, n_tasks, n_out):
        super().__init__()
        self.bottom = bottom
        bound = 1.0 / np.sqrt(max(width, 1))
        self.head_weight = nn.Parameter(torch.empty(n_tasks, n_out, width).uniform_(-bound, bound))
        self.head_bias = nn.Parameter(torch.empty(n_tasks, n_out).uniform_(-bound, bound))

    def heads(self, z, task):
        return torch.einsum("nh,nch->nc", z, self.head_weight[task]) + self.head_bias[task]

    def forward(self, x, task):
        return self.heads(self.bottom(x), task)


def _has_classification_task(est):
    """Whether ``predict_proba`` applies: a classification task after fit, or
    ``task_types`` allowing one before."""
    if hasattr(est, "classes_"):
        return len(est.classes_) > 0
    return est.task_types != "regression"


class SharedBottomNet(InfluenceMixin, BaseEstimator):
    """Multitask network with a shared bottom and one head per task (torch).

    Every task's rows pass through the same bottom network (an MLP, or any
    torch module given as ``module``); each task has its own linear head.
    Each task is a regression (mean squared error) or a classification
    (mean log-loss; all classification tasks share ``classes_``), inferred
    from ``y`` or set with ``task_types``, and one model may mix both. The
    objective is ``sum_k L_k + weight_decay / 2 * ||params||^2`` with ``L_k``
    the weighted mean loss of task ``k``, so ``sample_weight=0`` removes a
    row exactly (zero-weight rows are dropped before mini-batches are drawn).

    Influence (:meth:`influence`, :meth:`task_relatedness`) is the
    multitask influence function computed with
    :class:`skmtl.influence.ArrowHessian`: the task heads are its task
    blocks (exact), the bottom its shared block, seen through a random
    Kronecker-factored projection of dimension ``projection_dim`` (TRAK's
    trick), with a Gauss-Newton Hessian; scores are averaged over
    ``n_models`` independently trained networks and optionally
    soft-thresholded. The Hessian blocks are accumulated, factorized and
    applied in float64 on ``device_`` (a GPU when the network is on one);
    only the final scores are copied to the host.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(32,)
        Widths of the bottom's hidden layers (after ``module`` when given);
        ``()`` makes the bottom the identity (or ``module`` alone).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    dropout : float, default=0.0
        Dropout after each hidden layer during training.
    module : torch.nn.Module, default=None
        A bottom of your own (e.g. a pretrained backbone), mapping a batch
        of features ``(n, n_features)`` to ``(n, width)``; copied, never
        modified. Parameters with ``requires_grad=False`` stay frozen and
        take no part in influence.
    task_types : {"regression", "classification"} or dict, default=None
        Kind of every task, or a dict task -> kind (tasks left out are
        inferred; tasks absent from the data, e.g. in a cross-validation
        fold, are ignored). Inferred from ``y``: continuous targets are
        regression, discrete ones classification; a warning says when
        numeric targets were read as both kinds.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"lbfgs"`` trains full batch to a tight optimum (small data).
    learning_rate : float, default=1e-3
        Step size of adam and sgd (momentum 0.9); lbfgs uses a line search.
    weight_decay : float, default=1e-4
        L2 penalty ``weight_decay / 2 * ||params||^2`` on all trainable
        parameters; also the damping of the influence Hessian.
    batch_size : int, default=200
    max_epochs : int, default=200
        Epochs (adam, sgd) or iterations (lbfgs).
    tol : float, default=1e-4
        Training stops when the loss (or the held-out loss with
        ``early_stopping``) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; lbfgs stops at a gradient below ``tol``.
    n_iter_no_change : int, default=10
    warm_start : bool, default=False
        Start from the weights of the previous fit (same tasks, features and
        ``n_models``), e.g. to refit after removing rows.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified by task),
        stop when their loss stops improving and keep the best weights
        (adam and sgd). Held-out rows take no part in the fit.
    validation_fraction : float, default=0.1
    n_models : int, default=1
        Independently trained networks (different seeds); predictions and
        influence scores are averaged over them.
    projection_dim : int or None, default=1024
        Dimension of the random projection of the bottom's gradients;
        ``None`` keeps them exact. Read at influence time.
    soft_threshold : float in [0, 1), default=0.0
        Soft-threshold instance-level scores: in each target column, shrink
        every score toward 0 by that quantile of the column's absolute
        values (TRAK's sparsification). Read at influence time.
    influence_batch_size : int, default=1024
        Rows per batch of the influence computation: lower it when memory
        runs out; its memory never grows with the number of rows.
    record_affinity : {"lookahead", "first_order"}, default=None
        Record TAG's inter-task affinity during training (adam, sgd) in
        ``tag_affinity_``: ``"lookahead"`` is Eq. 1 of Fifty et al. (2021),
        ``1 - L_j(shared - lr * g_i) / L_j(shared)`` on each batch,
        ``"first_order"`` its Taylor form ``lr <g_i, g_j> / L_j``. Both
        losses of the lookahead ratio are taken with the same dropout masks,
        so the ratio measures the step, not the masks.
    it_mtl : bool, default=False
        Increased-transfer MTL (their Algorithm 1): at each step update the
        shared parameters with the candidate of highest total transference
        (summed over the batch's tasks), computed as ``record_affinity``
        says (lookahead when it is None). Candidates: the joint gradient
        ``sum_k g_k`` and each ``T g_k`` (one task's gradient at the same
        total weight, ``T`` tasks in the batch). Heads train as usual.
    dtype : {"float32", "float64"}, default="float32"
    device : {"auto", "cpu", "cuda"}, default="auto"
        ``"auto"`` uses a CUDA GPU when torch sees one.
    task_col : int or str, default=-1
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, shuffling, dropout and projections; results
        are reproducible on CPU.
    verbose : int, default=0
        Show progress bars when > 0.

    Attributes
    ----------
    tasks_ : ndarray of shape (n_tasks,)
    task_types_ : ndarray of shape (n_tasks,)
        ``"regression"`` or ``"classification"`` per task.
    classes_ : ndarray of shape (n_classes,)
        Classes of the classification tasks (empty when there are none).
    models_ : list of torch.nn.Module
        The trained networks, in evaluation mode.
    device_ : str
    n_iter_ : int
        Epochs (iterations for lbfgs) of the longest-trained member.
    loss_curve_ : list of list of float
        Training objective per epoch, one list per member.
    validation_loss_curve_ : list of list of float
        Held-out loss per epoch with ``early_stopping``.
    tag_affinity_ : ndarray of shape (n_tasks, n_tasks)
        With ``record_affinity``: mean transference of task ``i`` (row,
        source) on task ``j`` (column, target) over training steps; larger
        = more helpful, as ``task_relatedness_``.
    influence_, task_relatedness_ : ndarray
        :meth:`influence` and :meth:`task_relatedness` against
        ``X_val``/``y_val`` given to fit, else the training data; computed
        on first access.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> from skmtl.network import SharedBottomNet
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4, random_state=0)
    >>> net = SharedBottomNet(hidden_layer_sizes=(8,), max_epochs=20, n_iter_no_change=2,
    ...                       learning_rate=0.01, random_state=0, device="cpu").fit(X, y)
    >>> net.predict(X[:2]).shape
    (2,)
    >>> net.influence(X, y).shape
    (90, 3)
    >>> net.task_relatedness(X, y).shape
    (3, 3)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "module": [HasMethods(["forward", "parameters"]), None],
        "task_types": [StrOptions(set(_TASK_TYPES)), dict, None],
        "solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_models": [Interval(numbers.Integral, 1, None, closed="left")],
        "projection_dim": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "soft_threshold": [Interval(numbers.Real, 0, 1, closed="left")],
        "influence_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "record_affinity": [StrOptions({"lookahead", "first_order"}), None],
        "it_mtl": ["boolean"],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "task_col": [numbers.Integral, str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32,),
        *,
        activation="relu",
        dropout=0.0,
        module=None,
        task_types=None,
        solver="adam",
        learning_rate=1e-3,
        weight_decay=1e-4,
        batch_size=200,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        warm_start=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_models=1,
        projection_dim=1024,
        soft_threshold=0.0,
        influence_batch_size=1024,
        record_affinity=None,
        it_mtl=False,
        dtype="float32",
        device="auto",
        task_col=-1,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.module = module
        self.task_types = task_types
        self.solver = solver
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_models = n_models
        self.projection_dim = projection_dim
        self.soft_threshold = soft_threshold
        self.influence_batch_size = influence_batch_size
        self.record_affinity = record_affinity
        self.it_mtl = it_mtl
        self.dtype = dtype
        self.device = device
        self.task_col = task_col
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        kinds = {self.task_types} if isinstance(self.task_types, str) else set()
        if hasattr(self, "task_types_"):
            # inferred in fit: a fitted model whose tasks are all of one kind is a
            # classifier (or a regressor) for scorers such as roc_auc
            kinds = set(self.task_types_)
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif kind == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        # a GPU's reductions are not bitwise reproducible
        tags.non_deterministic = self.device != "cpu"
        return tags

    # -- pickling -------------------------------------------------------------------
    def __getstate__(self):
        """Torch objects go through ``torch.save``, so that a model fitted on a
        GPU loads on a machine without one; the influence cache is dropped."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns __dict__ itself
        state.pop("_cache", None)
        buffer = io.BytesIO()
        torch.save({key: state.pop(key) for key in _TORCH_ATTRIBUTES if key in state}, buffer)
        state["_torch_state"] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        state = dict(state)
        cuda = torch.cuda.is_available()
        if not cuda and torch.device(state.get("device_", "cpu")).type == "cuda":
            warnings.warn(
                f"This {type(self).__name__} was fitted on {state['device_']!r} and no CUDA GPU "
                "is available here: it is loaded on the CPU.", UserWarning,
            )
            state["device_"] = "cpu"
        if "_torch_state" in state:  # absent from models pickled before it was introduced
            state.update(torch.load(
                io.BytesIO(state.pop("_torch_state")), map_location=None if cuda else "cpu",
                weights_only=False,  # modules, not only tensors: as trusted as the pickle itself
            ))
        if "models_" in state:
            state["_cache"] = {}
        super().__setstate__(state)

    # -- fitting --------------------------------------------------------------------
    @keep_state_on_error
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the network(s).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features plus the task column (``task_col``). Rows whose task
            label is missing (NaN/None) take no part in the fit.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; each task's loss is the weighted mean
            over its rows and weight 0 is exactly the fit without the row.
        X_val, y_val : array-like, default=None
            Validation data against which ``influence_`` and
            ``task_relatedness_`` are measured; the training data when
            omitted. (Not used for early stopping, which holds out part of
            ``X``.) Beware: ``GridSearchCV`` slices fit arguments as long as
            ``X``.

        Returns
        -------
        self
        """
        self._validate_params()
        if hasattr(self, "_cache"):
            # free the previous fit's device memory before training; a fit that fails
            # keeps its fitted model (keep_state_on_error) and recomputes the cache
            self._cache.clear()
        val_given = validation_given(X_val, y_val)
        _check_layer_sizes(self.hidden_layer_sizes)
        if (self.record_affinity or self.it_mtl) and self.solver == "lbfgs":
            raise ValueError(
                "record_affinity and it_mtl act on mini-batch steps; use "
                "solver='adam' or 'sgd'."
            )
        device = _resolve_device(self.device)
        previous = self._previous_fit() if self.warm_start else None
        features, labels = check_task_X(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        if len(y) != len(features):
            raise ValueError(f"X has {len(features)} rows but y has {len(y)}; they must match.")
        weights = _check_sample_weight(sample_weight, features, ensure_non_negative=True)
        present = ~missing_task_mask(labels) & (weights > 0)
        if not present.any():
            raise ValueError(
                "No row of X has both a task label and a positive sample_weight; nothing to fit."
            )
        self.tasks_ = np.unique(labels[present])
        self._fit_fingerprint = data_fingerprint(features, labels, y)
        row_task = encode_tasks(labels, self.tasks_)
        row_task[~present] = -1
        self.task_types_ = self._resolve_task_types(y, row_task)
        y_enc = self._encode_fit_targets(y, row_task)
        self._n_out = 1 if len(self.classes_) <= 2 else len(self.classes_)
        self.device_ = device
        self._torch_dtype = getattr(torch, self.dtype)
        self._penalty = self.weight_decay  # influence uses the penalty of the fit

        rng = check_random_state(self.random_state)
        rows = np.flatnonzero(present)
        holdout = np.array([], dtype=np.intp)
        if self.early_stopping and self.solver != "lbfgs":
            rows, holdout = _holdout_split(rows, row_task, self.validation_fraction, rng)
        scale = _task_scale(rows, row_task, weights, len(self.tasks_))
        kind = np.where(self.task_types_ == "classification", CLASSIFICATION, REGRESSION)
        self._train_data = {
            "rows": rows, "x": features[rows], "y": y_enc[rows], "task": row_task[rows],
            "kind": kind[row_task[rows]], "scale": scale,
        }
        self._n_fit_rows = len(features)
        held = None
        if len(holdout):
            held = {
                "x": features[holdout], "y": y_enc[holdout], "task": row_task[holdout],
                "kind": kind[row_task[holdout]],
                "scale": _task_scale(holdout, row_task, weights, len(self.tasks_)),
            }
        self.models_, self.loss_curve_, self.validation_loss_curve_ = [], [], []
        affinities, n_iters = [], []
        for member in range(self.n_models):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            with _seeded(seed, device):
                net = self._build(features.shape[1], device)
                if previous is not None:
                    _load_previous(net, previous, member, self)
                result = self._train_member(net, held, seed, member)
            self.models_.append(net.eval())
            self.loss_curve_.append(result["loss"])
            self.validation_loss_curve_.append(result["val_loss"])
            n_iters.append(result["n_iter"])
            affinities.append(result["affinity"])
        self.n_iter_ = int(max(n_iters))
        if self.record_affinity:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # pairs never in one batch
                self.tag_affinity_ = np.nanmean(np.stack(affinities), axis=0)
        elif hasattr(self, "tag_affinity_"):
            del self.tag_affinity_  # recorded by an earlier fit
        if val_given:
            self._val = self._check_val(X_val, y_val)
        else:
            self._val = {k: self._train_data[k] for k in ("x", "y", "task", "kind")}
        self._cache = {}
        return self

    def _previous_fit(self):
        """What ``warm_start`` continues from: ``None`` when not fitted yet."""
        if not hasattr(self, "models_"):
            return None
        return {
            "models": self.models_, "tasks": self.tasks_, "types": self.task_types_,
            "classes": self.classes_,
        }

    def _resolve_task_types(self, y, row_task):
        spec = self.task_types
        if isinstance(spec, dict):
            # tasks absent from this fit (a fold, a refit without a task) are not an error
            bad = {t: v for t, v in spec.items() if v not in _TASK_TYPES}
            if bad:
                raise ValueError(f"task_types must map tasks to one of {_TASK_TYPES}; got {bad}.")
        types, inferred = [], {}
        for k, task in enumerate(self.tasks_):
            if isinstance(spec, str):
                types.append(spec)
            elif isinstance(spec, dict) and task in spec:
                types.append(spec[task])
            else:
                target = _plain(y[row_task == k])
                kind = "regression" if type_of_target(target) == "continuous" else "classification"
                types.append(kind)
                inferred[task] = (kind, target.dtype.kind in "iuf")
        _warn_ambiguous_inference(inferred)
        return np.array(types, dtype=object)

    def _encode_fit_targets(self, y, row_task):
        """Targets as floats: the value (regression) or the class index."""
        is_class = (row_task >= 0) & (self.task_types_[np.maximum(row_task, 0)] == "classification")
        is_reg = (row_task >= 0) & ~is_class
        out = np.zeros(len(y))
        self.classes_ = np.array([])
        if is_class.any():
            labels = _plain(y[is_class])
            check_classification_targets(labels)
            self.classes_ = np.unique(labels)
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y has one class ({self.classes_[0]!r}) across all classification "
                    "tasks; a classifier needs at least two. (One class within a task is "
                    "fine.) Set task_types='regression' if the targets are numbers."
                )
            out[is_class] = np.searchsorted(self.classes_, labels)
        if is_reg.any():
            out[is_reg] = _numeric_targets(y[is_reg], "regression tasks")
        return out

    def _build(self, n_features, device):
        layers = []
        width = n_features
        if self.module is not None:
            module = copy.deepcopy(self.module).to(device=device, dtype=self._torch_dtype)
            width = _module_width(module, n_features, self._torch_dtype, device)
            layers.append(module)
        for size in _check_layer_sizes(self.hidden_layer_sizes):
            layers += [nn.Linear(width, size, dtype=self._torch_dtype), _ACTIVATIONS[self.activation]()]
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = size
        net = _MultiHeadNet(nn.Sequential(*layers), width, len(self.tasks_), self._n_out)
        return net.to(device=device, dtype=self._torch_dtype)

    def _tensors(self, data):
        out = {}
        for key, value in data.items():
            if key == "rows":
                continue
            dtype = torch.long if key in ("task", "kind") else self._torch_dtype
            out[key] = torch.as_tensor(np.asarray(value), dtype=dtype, device=self.device_)
        return out

    def _objective_parts(self, net, batch, n_total):
        """Per-row weighted loss terms ``n_total / n_batch * s_i * l_i``."""
        eta = net(batch["x"], batch["task"])
        losses = row_losses(eta, batch["y"], batch["kind"], len(self.classes_))
        return losses * batch["scale"] * (n_total / len(losses))

    def _penalty_term(self, net):
        params = [p for p in net.parameters() if p.requires_grad]
        return 0.5 * self.weight_decay * sum((p * p).sum() for p in params)

    def _train_member(self, net, held, seed, member):
        data = self._tensors(self._train_data)
        held = None if held is None else self._tensors(held)
        result = {"loss": [], "val_loss": [], "affinity": None}
        bar = tqdm(
            total=self.max_epochs, disable=not self.verbose,
            desc=f"SharedBottomNet member {member + 1}/{self.n_models}",
        )
        try:
            if self.solver == "lbfgs":
                result["n_iter"] = self._train_lbfgs(net, data, result, bar)
            else:
                result["n_iter"] = self._train_minibatch(net, data, held, seed, result, bar)
        finally:
            bar.close()
        return result

    def _train_lbfgs(self, net, data, result, bar):
        params = [p for p in net.parameters() if p.requires_grad]
        eps = torch.finfo(self._torch_dtype).eps
        optimizer = torch.optim.LBFGS(
            params, lr=1.0, max_iter=self.max_epochs, max_eval=2 * self.max_epochs,
            tolerance_grad=self.tol, tolerance_change=eps, history_size=50,
            line_search_fn="strong_wolfe",
        )
        n = len(data["x"])

        def closure():
            optimizer.zero_grad()
            objective = self._objective_parts(net, data, n).sum() + self._penalty_term(net)
            value = objective.item()
            if not np.isfinite(value):
                raise _divergence_error(value, max(len(result["loss"]), 1), "iteration")
            objective.backward()
            result["loss"].append(value)
            bar.update(1)
            return objective

        net.train()
        optimizer.step(closure)
        n_iter = int(optimizer.state[params[0]]["n_iter"]) if params else 0
        if n_iter >= self.max_epochs:
            _warn_not_converged(self.max_epochs)
        return n_iter

    def _train_minibatch(self, net, data, held, seed, result, bar):
        params = [p for p in net.parameters() if p.requires_grad]
        if self.solver == "adam":
            optimizer = torch.optim.Adam(params, lr=self.learning_rate)
        else:
            optimizer = torch.optim.SGD(params, lr=self.learning_rate, momentum=0.9, nesterov=True)
        transfer = _Transference(self, net) if (self.record_affinity or self.it_mtl) else None
        order = np.random.RandomState(seed)
        n = len(data["x"])
        best, best_state, stalled = np.inf, None, 0
        for epoch in range(1, self.max_epochs + 1):
            net.train()
            total = torch.zeros((), dtype=torch.float64, device=data["x"].device)
            perm = torch.as_tensor(order.permutation(n), device=data["x"].device)
            for start in range(0, n, self.batch_size):
                idx = perm[start:start + self.batch_size]
                batch = {k: v[idx] for k, v in data.items()}
                optimizer.zero_grad()
                parts = self._objective_parts(net, batch, n)
                objective = parts.sum() + self._penalty_term(net)
                if transfer is None:
                    objective.backward()
                else:
                    transfer.step(batch, parts, objective, n / len(idx))
                optimizer.step()
                total += objective.detach().to(torch.float64) * (len(idx) / n)
            value = total.item()
            if not np.isfinite(value):
                raise _divergence_error(value, epoch, "epoch")
            result["loss"].append(value)
            bar.update(1)
            if held is not None:
                with torch.no_grad():
                    net.eval()
                    value = self._objective_parts(net, held, len(held["x"])).sum().item()
                result["val_loss"].append(value)
            if value < best - self.tol:
                best, stalled = value, 0
                if held is not None:
                    best_state = copy.deepcopy(net.state_dict())
            else:
                stalled += 1
            if stalled >= self.n_iter_no_change:
                break
        else:
            _warn_not_converged(self.max_epochs)
        if best_state is not None:
            net.load_state_dict(best_state)
        if transfer is not None:
            result["affinity"] = transfer.affinity()
        return epoch

    # -- prediction ---------------------------------------------------------------------
    def _rows(self, X):
        check_is_fitted(self)
        features, labels = check_task_X(self, X, reset=False)
        missing = missing_task_mask(labels)
        if missing.any():
            raise ValueError(
                f"{missing.sum()} rows of X have a missing task label; every row needs a "
                "task to be predicted."
            )
        row_task = encode_fitted_tasks(
            labels, self.tasks_, unseen="error",
            consequence="SharedBottomNet has no head for them.",
        )
        return features, row_task

    def _outputs(self, X):
        """Mean over members of the regression value, and the log of the
        members' mean class probabilities (finite where a probability underflows)."""
        features, row_task = self._rows(X)
        n = len(features)
        value = np.zeros(n)
        n_classes = len(self.classes_)
        log_proba = np.full((n, n_classes), -np.inf)
        for net in self.models_:
            for start in range(0, n, _PREDICT_CHUNK):
                sl = slice(start, start + _PREDICT_CHUNK)
                batch = self._tensors({"x": features[sl], "task": row_task[sl]})
                with torch.no_grad():
                    eta = net(batch["x"], batch["task"]).to("cpu", torch.float64).numpy()
                value[sl] += eta[:, 0]
                if n_classes == 2:
                    log_proba[sl] = np.logaddexp(log_proba[sl], binary_log_proba(eta[:, 0]))
                elif n_classes > 2:
                    log_proba[sl] = np.logaddexp(log_proba[sl], log_softmax(eta[:, :n_classes], axis=1))
        is_class = self.task_types_[row_task] == "classification"
        n_models = len(self.models_)
        return value / n_models, log_proba - np.log(n_models), is_class

    def predict(self, X):
        """Predicted value (regression tasks) or class (classification tasks).

        Parameters
        ----------
        X : array-like or DataFrame with the task column

        Returns
        -------
        ndarray of shape (n_samples,)
            Floats when every task is a regression or the classes are
            numbers, else an object array.
        """
        value, log_proba, is_class = self._outputs(X)
        if not is_class.any():
            return value
        labels = self.classes_[np.argmax(log_proba, axis=1)]
        if is_class.all():
            return labels
        out = value.astype(object) if labels.dtype.kind not in "iuf" else value
        out[is_class] = labels[is_class]
        return out

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities, columns following ``classes_``.

        Rows of regression tasks get NaN.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    @available_if(_has_classification_task)
    def decision_function(self, X):
        """Confidence scores of the ensemble's mean class probabilities.

        Two classes: the log-odds of ``classes_[1]`` (the network output for
        one model); more: the log-probabilities. Rows of regression tasks
        get NaN.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        log_proba = self.predict_log_proba(X)
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    @available_if(_has_classification_task)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, finite even where a probability
        underflows to 0; rows of regression tasks get NaN.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        _, log_proba, is_class = self._outputs(X)
        log_proba[~is_class] = np.nan
        return log_proba

    def score(self, X, y, sample_weight=None):
        """Accuracy (classification rows) and R^2 (regression rows).

        With tasks of one kind this is ``accuracy_score`` or ``r2_score``
        over all rows, as for scikit-learn classifiers and regressors; with
        both kinds, the two scores averaged with weights equal to their
        numbers of rows.

        Returns
        -------
        float
        """
        value, log_proba, is_class = self._outputs(X)
        y = column_or_1d(y)
        check_consistent_length(value, y, sample_weight)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        parts, sizes = [], []
        if is_class.any():
            pred = self.classes_[np.argmax(log_proba[is_class], axis=1)]
            w = None if weights is None else weights[is_class]
            parts.append(accuracy_score(y[is_class], pred, sample_weight=w))
            sizes.append(is_class.sum())
        if (~is_class).any():
            w = None if weights is None else weights[~is_class]
            parts.append(r2_score(_numeric_targets(y[~is_class], "regression tasks"), value[~is_class], sample_weight=w))
            sizes.append((~is_class).sum())
        return float(np.average(parts, weights=sizes))

    # -- influence -------------------------------------------------------------------------
    def _influence_settings(self):
        return tuple(getattr(self, name) for name in _INFLUENCE_SETTINGS)

    def _check_influence_call(self, method):
        """Fitted, a known method, and valid settings read at influence time
        (``set_params`` after ``fit`` does not validate them)."""
        check_is_fitted(self)
        _check_method(method)
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in _INFLUENCE_SETTINGS},
            dict(zip(_INFLUENCE_SETTINGS, self._influence_settings())),
            caller_name=type(self).__name__,
        )

    def _check_val(self, X_val, y_val):
        features, labels = check_task_X(self, X_val, reset=False)
        y_val = column_or_1d(y_val)
        if len(y_val) != len(features):
            raise ValueError(f"X_val has {len(features)} rows but y_val has {len(y_val)}.")
        row_task = encode_fitted_tasks(
            labels, self.tasks_, rows="validation rows", unseen="warn",
            consequence="they are ignored.",
        )
        keep = row_task >= 0
        row_task, y_val = row_task[keep], y_val[keep]
        is_class = self.task_types_[row_task] == "classification"
        y_enc = np.zeros(len(y_val))
        if is_class.any():
            idx = np.clip(np.searchsorted(self.classes_, y_val[is_class]), 0, len(self.classes_) - 1)
            if not np.all(self.classes_[idx] == y_val[is_class]):
                raise ValueError(
                    f"y_val holds classes "
                    f"{sorted(set(y_val[is_class].tolist()) - set(self.classes_.tolist()))} "
                    "not seen in fit."
                )
            y_enc[is_class] = idx
        if (~is_class).any():
            y_enc[~is_class] = _numeric_targets(y_val[~is_class], "regression tasks of y_val")
        kind = np.where(is_class, CLASSIFICATION, REGRESSION)
        return {"x": features[keep], "y": y_enc, "task": row_task, "kind": kind}

    def _relatedness_adapter(self):
        """Per-task losses and gradients on the bottom, for ``skmtl.relatedness``."""
        return _BottomGradients(self)

    def _member(self, index):
        key = ("member", index, self.projection_dim, self.influence_batch_size)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "member" or k[2:] == key[2:]}
            if ("train",) not in self._cache:  # one device copy of the rows, shared by the members
                self._cache[("train",)] = self._tensors(self._train_data)
            net = self.models_[index]
            self._cache[key] = MemberInfluence(
                net, self._cache[("train",)], n_tasks=len(self.tasks_),
                n_classes=len(self.classes_), weight_decay=self._penalty,
                projection_dim=self.projection_dim, seed=_member_seed(self.random_state, index),
                batch_size=self.influence_batch_size,
            )
        return self._cache[key]

    def _operators(self, val):
        """Per member: the score operators for the tasks' validation gradients.

        Cached per fitted model (``fit`` clears ``_cache``), setting and
        validation data: the data of ``fit`` and the last ``X_val``/``y_val``
        given, so ``influence`` and ``task_relatedness`` (and their fitted
        attributes) share one pass over the validation rows.
        """
        settings = (self.projection_dim, self.influence_batch_size)
        source = "fit" if val is self._val else "given"
        key = ("operators", source, settings)
        hit = self._cache.get(key)
        if hit is not None and (source == "fit" or _same_data(hit[0], val)):
            return hit[1]
        self._cache = {k: v for k, v in self._cache.items() if k[0] != "operators" or k[2] == settings}
        self._cache[key] = (val, self._compute_operators(val))
        return self._cache[key][1]

    def _compute_operators(self, val):
        counts = np.bincount(val["task"], minlength=len(self.tasks_))
        scale = 1.0 / counts[val["task"]]
        val_t = self._tensors(val)
        out = []
        for index in tqdm(range(len(self.models_)), disable=not self.verbose, desc="MTIF"):
            member = self._member(index)
            v_t, v_b = member.task_gradients(val_t, torch.as_tensor(scale, device=self.device_))
            out.append((member, (v_t, v_b), member.operators(v_t, v_b)))
        return out, counts == 0

    def _check_streamable(self):
        if self.soft_threshold > 0:
            raise ValueError(
                f"soft_threshold={self.soft_threshold} cuts each task's scores at a quantile "
                "over all rows, so no block of rows can be scored alone. Stream with "
                "soft_threshold=0 (set_params), or call influence() for the whole matrix."
            )

    def _row_bytes(self):
        # besides the scores, the members' mean and each member's copy on the host
        return 4 * 8 * len(self.tasks_)

    def _scorer(self, X_val, y_val, method):
        """Operators once per member; blocks of fit rows scored one member and batch
        at a time (see :class:`~skmtl.base.InfluenceMixin`)."""
        self._check_influence_call(method)
        ops, empty = self._operators(self._resolve_val(X_val, y_val))
        fitted = self._train_data["rows"]

        def averaged(start, stop, score, operators):
            """Members' mean of ``score(member, operator, lo, hi)``, a dict of tensors, on the host."""
            # the fitted rows (sorted) among start:stop are positions lo:hi of the members' data
            lo, hi = np.searchsorted(fitted, [start, stop])
            mean = {}
            for (member, _, _), operator in zip(ops, operators):
                for name, value in score(member, operator, lo, hi).items():
                    value = value.cpu().numpy() / len(ops)
                    if name in mean:
                        mean[name] += value
                    else:
                        mean[name] = value
            return fitted[lo:hi] - start, mean

        def parts(start, stop, components=False):
            def score(member, operators, lo, hi):
                return member.row_scores(operators, lo, hi, components)

            positions, mean = averaged(start, stop, score, [operators for _, _, operators in ops])
            return positions, mean.pop("scores"), mean or None

        def totals(task_weights):
            if self.soft_threshold > 0:
                return None
            operators = [member.hessian.total_operator(*grads, task_weights) for member, grads, _ in ops]

            def member_totals(member, operator, lo, hi):
                return {"totals": member.row_totals(operator, lo, hi)}

            def score(start, stop):
                positions, mean = averaged(start, stop, member_totals, operators)
                return positions, mean["totals"]

            return score

        return parts, totals, empty

    def influence(self, X_val=None, y_val=None, *, method="mtif", return_components=False):
        """Effect of removing each training row on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            Validation data (with the task column); the data given to
            ``fit`` as ``X_val``/``y_val`` (or the training data) when
            omitted.
        method : {"mtif"}, default="mtif"
            First-order multitask influence function (the only method for
            networks).
        return_components : bool, default=False
            Also return a dict splitting the scores into ``"direct"``
            (through the row's own head alone: non-zero only in the row's
            task column) and ``"shared"`` (through the bottom: the only path
            between tasks), as the linear models do; not soft-thresholded.

        Returns
        -------
        influence : ndarray of shape (n_fit_rows, n_tasks)
            Entry ``[i, j]`` estimates ``loss_j(fit without row i) -
            loss_j(fit)``: positive means row ``i`` helps task ``j``. Rows
            follow the ``X`` given to ``fit``; rows that took no part (a
            missing task, weight 0, held out for early stopping) score 0.
            Columns follow ``tasks_``; a task without validation rows gets
            NaN. Averaged over the ``n_models`` members, then
            soft-thresholded when ``soft_threshold > 0``.

        Raises
        ------
        MemoryError
            Before allocating, when the result would exceed
            ``skmtl.get_config()["max_result_memory"]``: then stream it with
            :meth:`influence_chunked` or sum it per row with
            :meth:`influence_total` (both with ``soft_threshold=0``).
        """
        self._check_influence_call(method)
        scores, components = self._influence_matrix(
            X_val, y_val, method, return_components,
            finish=lambda scores: _soft_threshold(scores, self.soft_threshold),
        )
        return (scores, components) if return_components else scores

    def task_relatedness(self, X_val=None, y_val=None, *, method="mtif"):
        """Effect of removing each whole task on each task's validation loss.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        method : {"mtif"}, default="mtif"

        Returns
        -------
        relatedness : ndarray of shape (n_tasks, n_tasks)
            Entry ``[k, j]`` estimates ``loss_j(fit without task k) -
            loss_j(fit)`` to first order: row = source task, column =
            target task, positive = task ``k`` helps task ``j``. The
            diagonal measures a task's effect on its own head, which a refit
            without the task would not keep: compare tasks off the diagonal.
        """
        self._check_influence_call(method)
        val = self._resolve_val(X_val, y_val)
        ops, empty = self._operators(val)
        n_tasks = len(self.tasks_)
        out = np.zeros((n_tasks, n_tasks))
        for member, _, operators in ops:
            task = torch.arange(n_tasks, device=member.mean_t.device)
            scores = member.hessian.scores(operators, task, member.mean_t, member.mean_b)
            out += scores.cpu().numpy() / len(ops)
        out[:, empty] = np.nan
        return out



class _BottomGradients:
    """Relatedness adapter of a fitted SharedBottomNet (see ``skmtl.relatedness._adapters``).

    The shared parameters are the trainable parameters of the bottoms of all
    ensemble members, side by side. It provides what the gradient cosine
    needs (``data``, ``train_data``, ``task_terms``); TAG is recorded during
    training instead (``record_affinity``).
    """

    def __init__(self, est):
        self.est = est
        self.tasks = est.tasks_

    def train_data(self):
        return self.est._tensors(self.est._train_data)  # scale: row weight / task total

    def data(self, X, y):
        val = self.est._check_val(X, y)
        counts = np.bincount(val["task"], minlength=len(self.tasks))
        return self.est._tensors({**val, "scale": 1.0 / counts[val["task"]]})

    def task_terms(self, data):
        """Each task's loss (mean over members; NaN without rows) and its gradient
        on the shared parameters, ``(n_tasks, n_shared)``, accumulated over batches."""
        n_tasks, est = len(self.tasks), self.est
        present = np.bincount(data["task"].cpu().numpy(), minlength=n_tasks) > 0
        losses, grads = np.zeros(n_tasks), []
        for net in est.models_:
            shared = [p for p in net.bottom.parameters() if p.requires_grad]
            member = torch.zeros((n_tasks, sum(p.numel() for p in shared)), dtype=torch.float64,
                                 device=est.device_)
            for start in range(0, len(data["x"]), est.influence_batch_size):
                batch = {k: v[start:start + est.influence_batch_size] for k, v in data.items()}
                eta = net(batch["x"], batch["task"])
                parts = row_losses(eta, batch["y"], batch["kind"], len(est.classes_)) * batch["scale"]
                batch_tasks, membership = _task_membership(batch["task"], parts.dtype)
                task_loss = membership @ parts
                for i, k in enumerate(batch_tasks):
                    losses[k] += task_loss[i].item() / len(est.models_)
                    if shared:
                        g = torch.autograd.grad(task_loss[i], shared, retain_graph=True, allow_unused=True)
                        member[k] += torch.cat([
                            (torch.zeros_like(p) if gp is None else gp).reshape(-1)
                            for gp, p in zip(g, shared)
                        ]).to(torch.float64)
            grads.append(member.cpu().numpy())
        losses[~present] = np.nan
        return losses, np.concatenate(grads, axis=1)


class _Transference:
    """TAG's inter-task affinity on each mini-batch step, and the IT-MTL update."""

    def __init__(self, est, net):
        self.est, self.net = est, net
        self.shared = {n: p for n, p in net.bottom.named_parameters() if p.requires_grad}
        if not self.shared:
            raise ValueError(
                "record_affinity and it_mtl need a bottom with trainable parameters; "
                "hidden_layer_sizes is empty and no trainable module was given."
            )
        self.heads = [net.head_weight, net.head_bias]
        self.method = est.record_affinity or "lookahead"
        n_tasks = len(est.tasks_)
        self.sums = np.zeros((n_tasks, n_tasks))
        self.counts = np.zeros((n_tasks, n_tasks))

    def _lookahead(self, batch, shifts, membership, factor):
        """Task objective terms of the batch before and after each shift of the
        shared parameters: ``(after (n_shifts, T), before (T,))``.

        Every pass, the unshifted one included, draws the same dropout masks
        (the random state is reset before each and restored afterwards), so
        a ratio of after to before measures the shift alone.
        """
        names = list(self.shared)
        # copies: a lookahead pass in train mode must not update running statistics
        buffers = {n: b.clone() for n, b in self.net.bottom.named_buffers()}
        device = batch["x"].device
        cuda = [device] if device.type == "cuda" else []
        out = []
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            states = [torch.get_rng_state()] + [torch.cuda.get_rng_state(d) for d in cuda]
            for shift in [None, *shifts]:
                torch.set_rng_state(states[0])
                for d, state in zip(cuda, states[1:]):
                    torch.cuda.set_rng_state(state, d)
                params = self.shared if shift is None else {
                    n: self.shared[n] - s for n, s in zip(names, shift)
                }
                z = torch.func.functional_call(self.net.bottom, (params, buffers), (batch["x"],))
                eta = self.net.heads(z, batch["task"])
                losses = row_losses(eta, batch["y"], batch["kind"], len(self.est.classes_))
                parts = losses * batch["scale"] * factor
                out.append(membership @ parts)
        return torch.stack(out[1:]), out[0]

    def step(self, batch, parts, objective, factor):
        """Set gradients for the optimizer step; record affinity when asked."""
        task = batch["task"]
        present, membership = _task_membership(task, parts.dtype)
        losses = membership @ parts
        shared = list(self.shared.values())
        grads = [
            torch.autograd.grad(losses[i], shared, retain_graph=True, allow_unused=True)
            for i in range(len(present))
        ]
        grads = [[torch.zeros_like(p) if g is None else g for g, p in zip(gs, shared)] for gs in grads]
        flat = torch.stack([torch.cat([g.reshape(-1) for g in gs]) for gs in grads])  # (T, d)
        objective.backward()  # heads (and the penalty) as usual
        lr = self.est.learning_rate
        base = losses.detach()
        if self.est.record_affinity:
            z = self._affinity(batch, grads, flat, base, membership, lr, factor)
            idx = np.array(present)
            ok = np.isfinite(z)
            self.sums[np.ix_(idx, idx)] += np.where(ok, z, 0.0)
            self.counts[np.ix_(idx, idx)] += ok
        if self.est.it_mtl:
            # the joint gradient, or one task's gradient scaled to the same total
            # task weight (as if every present task were that one)
            n_present = len(present)
            total = [sum(per_task) for per_task in zip(*grads)]
            candidates = [total] + [[n_present * g for g in gs] for gs in grads]
            cand_flat = torch.cat([flat.sum(dim=0, keepdim=True), n_present * flat])
            if self.method == "first_order":
                direction = (flat / base[:, None]).sum(dim=0)  # gradient of the log-product loss
                scores = (cand_flat @ direction).cpu().numpy()
            else:
                after, before = self._lookahead(
                    batch, [[lr * g for g in c] for c in candidates], membership, factor
                )
                scores = (1.0 - after / before).sum(dim=1).cpu().numpy()
            chosen = candidates[int(np.nanargmax(scores))]
            for p, g in zip(shared, chosen):
                p.grad = g + self.est.weight_decay * p.detach()

    def _affinity(self, batch, grads, flat, base, membership, lr, factor):
        if self.method == "first_order":
            z = lr * (flat @ flat.T) / base[None, :]
        else:
            after, before = self._lookahead(
                batch, [[lr * g for g in gs] for gs in grads], membership, factor
            )
            z = 1.0 - after / before[None, :]
        return z.detach().cpu().numpy()

    def affinity(self):
        out = np.full_like(self.sums, np.nan)
        np.divide(self.sums, self.counts, out=out, where=self.counts > 0)
        return out


# -- helpers -------------------------------------------------------------------------------
def _task_membership(task, dtype):
    """The tasks present in ``task`` (a list) and the ``(n_present, n)`` 0/1 matrix
    of their rows: a product with it sums per task without boolean indexing (no
    host synchronization per task on a GPU) and in a fixed order."""
    present = torch.unique(task)
    return present.tolist(), (present[:, None] == task[None, :]).to(dtype)


def _load_previous(net, previous, member, est):
    """Copy the weights of member ``member`` of the previous fit into ``net``."""
    same = (
        np.array_equal(previous["tasks"], est.tasks_)
        and np.array_equal(previous["types"], est.task_types_)
        and np.array_equal(previous["classes"], est.classes_)
        and member < len(previous["models"])
    )
    try:
        if not same:
            raise RuntimeError("tasks, task types, classes or n_models differ")
        net.load_state_dict(previous["models"][member].state_dict())
    except RuntimeError as exc:
        raise ValueError(
            f"warm_start=True cannot continue from the previous fit: {exc}. Refit "
            "with warm_start=False."
        ) from exc


def _check_layer_sizes(sizes):
    sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must hold positive integers, got {sizes!r}.")
    return tuple(int(s) for s in sizes)


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch's generator on ``device`` (and the CPU's) inside the block,
    restoring the caller's generator states afterwards."""
    device = torch.device(device)
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def _resolve_device(device):
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but torch sees no CUDA GPU "
            "(torch.cuda.is_available() is False). Use device='auto' to fall back "
            "to the CPU, or install a CUDA build of torch."
        )
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _module_width(module, n_features, dtype, device):
    """Output width of a user bottom, read off a forward pass on two rows."""
    probe = torch.zeros((2, n_features), dtype=dtype, device=device)
    try:
        with torch.no_grad():
            was_training = module.training
            out = module.eval()(probe)
            module.train(was_training)
    except Exception as exc:
        raise ValueError(
            f"module failed on a batch of shape (2, {n_features}) (the features of X "
            f"without the task column): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"module must map (n, {n_features}) to (n, width) for the task heads; it "
            f"returned {shape} for n=2. End it with torch.nn.Flatten() or a linear layer."
        )
    return int(out.shape[1])


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


def _numeric_targets(y, what):
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


def _same_data(a, b):
    """Whether two validation dicts (``_check_val``'s layout) hold the same arrays."""
    return a.keys() == b.keys() and all(
        a[k] is b[k] or (np.shape(a[k]) == np.shape(b[k]) and np.array_equal(a[k], b[k])) for k in a
    )


def _task_scale(rows, row_task, weights, n_tasks):
    """Each row's weight over its task's total weight (within ``rows``)."""
    task = row_task[rows]
    totals = np.bincount(task, weights=weights[rows], minlength=n_tasks)
    return weights[rows] / totals[task]


def _holdout_split(rows, row_task, fraction, rng):
    """Rows for training and for early stopping, stratified by task when possible."""
    task = row_task[rows]
    counts = np.bincount(task)
    n_hold = int(np.ceil(fraction * len(rows)))
    if len(rows) < 2 or n_hold >= len(rows):
        raise ValueError(
            f"early_stopping needs more rows: {len(rows)} rows cannot be split with "
            f"validation_fraction={fraction}."
        )
    n_present = (counts > 0).sum()
    stratified = counts[counts > 0].min() >= 2 and min(n_hold, len(rows) - n_hold) >= n_present
    stratify = task if stratified else None
    train, hold = train_test_split(rows, test_size=n_hold, stratify=stratify, random_state=rng)
    return np.sort(train), np.sort(hold)


def _member_seed(random_state, index):
    """Seed of member ``index``'s projection (fixed by ``random_state`` when an int)."""
    base = random_state if isinstance(random_state, numbers.Integral) else 0
    return (int(base) * 1_000_003 + index) % (2**31)


def _soft_threshold(scores, fraction):
    if fraction == 0:
        return scores
    cut = np.nanquantile(np.abs(scores), fraction, axis=0)
    return np.sign(scores) * np.maximum(np.abs(scores) - cut, 0.0)


def _check_method(method):
    if method != "mtif":
        raise ValueError(
            f"method={method!r} is not available for SharedBottomNet; networks support "
            "only method='mtif'."
        )


def _divergence_error(value, step, unit):
    return FloatingPointError(
        f"The training loss became {value} at {unit} {step}; training stopped. The "
        "estimator keeps its previous state. Lower learning_rate, scale the features "
        "(e.g. StandardScaler) and regression targets, or raise weight_decay."
    )


def _warn_not_converged(max_epochs):
    warnings.warn(
        f"SharedBottomNet stopped at max_epochs={max_epochs} before the loss stopped "
        "improving. Increase max_epochs or learning_rate.",
        ConvergenceWarning,
    )
