"""SharedBottomNet: hard parameter sharing in torch, as a scikit-learn estimator.

The estimator composes parts that each live in their own file: the module
builder (``_module``), the training loop with early stopping
(``_training``), the TAG / IT-MTL recording (``_recording``, a callback of
that loop), task kinds and targets (``_targets``) and influence time
(``_scoring``, with the rule for which settings apply then).
"""

import contextlib
import io
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._tags import ClassifierTags, RegressorTags
from sklearn.utils.validation import _check_sample_weight, check_array, column_or_1d
from tqdm.auto import tqdm

from ..base import InfluenceMixin, data_fingerprint, keep_state_on_error, validation_given
from ..utils import TaskLayout, check_task_X
from ..utils._tasks import check_validation_rows, feature_spread
from ._influence import CLASSIFICATION, REGRESSION
from ._module import ACTIVATIONS, build_module, check_layer_sizes, load_previous, resolve_device, seeded
from ._predict import NetPredictMixin
from ._recording import TaskTransference, mean_affinity
from ._scoring import NetInfluenceMixin, gradient_norms, member_seeds
from ._targets import TASK_TYPES, encode_targets, encode_validation_targets, resolve_task_types
from ._training import Objective, choose_batch_sampling, holdout_split, task_scale, train
from ._weighting import WEIGHTINGS, check_weighting_params, make_weighting

_TORCH_ATTRIBUTES = ("module", "models_")  # saved with torch.save (see __getstate__)


def _relu_bottom(params):
    """Whether the settings ``params`` build a bottom of relu layers (influence
    after L-BFGS then stops at a kink)."""
    return params["module"] is None and params["activation"] == "relu" and bool(params["hidden_layer_sizes"])


class SharedBottomNet(NetPredictMixin, NetInfluenceMixin, InfluenceMixin, BaseEstimator):
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
        Activation after each hidden layer.
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
        regression, discrete ones classification, whole numbers up to 20
        distinct values over their tasks (a measurement, as counts or grams,
        beyond; as :func:`~skmtl.utils.infer_target_kind` reads them); a
        warning says when numeric targets were read as both kinds. Inferred,
        the kind is known only after fit: scikit-learn tools that ask before
        (``cross_val_score`` and ``GridSearchCV`` choose stratified folds for
        classifiers) see a classifier where ``task_types="classification"``
        is given.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"lbfgs"`` trains full batch to a tight optimum (small data).
    learning_rate : float, default=1e-3
        Step size of adam and sgd (momentum 0.9); lbfgs uses a line search.
    weight_decay : float, default=1e-4
        L2 penalty ``weight_decay / 2 * ||params||^2`` on all trainable
        parameters; also the damping of the influence Hessian.
    batch_size : int, default=200
        Rows per mini-batch of adam and sgd (lbfgs trains full batch).
    max_epochs : int, default=200
        Epochs (adam, sgd) or iterations (lbfgs).
    tol : float, default=1e-4
        Training stops when the loss (or the held-out loss with
        ``early_stopping``) has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; lbfgs stops at a gradient below ``tol``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` after which training stops.
    warm_start : bool, default=False
        Start from the weights of the previous fit (same tasks, features and
        ``n_models``), e.g. to refit after removing rows.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified by task),
        stop when their loss stops improving and keep the best weights
        (adam and sgd). Held-out rows take no part in the fit.
    validation_fraction : float, default=0.1
        Share of the rows held out with ``early_stopping``.
    n_models : int, default=1
        Independently trained networks (different seeds); predictions and
        influence scores are averaged over them.
    projection_dim : int or None, default=1024
        Dimension of the random projection of the bottom's gradients;
        ``None`` keeps them exact. Read at influence time (see Notes).
    soft_threshold : float in [0, 1), default=0.0
        Soft-threshold instance-level scores: in each target column, shrink
        every score toward 0 by that quantile of the column's absolute
        values (TRAK's sparsification). Read at influence time.
    influence_batch_size : int, default=1024
        Rows per batch of the influence computation: lower it when memory
        runs out; its memory never grows with the number of rows. Read at
        influence time.
    influence_damping : float, "auto" or None, default="auto"
        Damping of the Gauss-Newton matrix before the solve (times the
        identity, seen through the projection). ``"auto"``: ``weight_decay``
        plus 0.1 times the mean eigenvalue of the Gauss-Newton matrix (its
        trace over its dimension), per member, the rule of kronfluence; it
        scales with the loss's curvature and keeps the solve stable when
        ``weight_decay`` is tiny. None: ``weight_decay`` alone, the curvature
        of the fit's own penalty (the earlier default). A float: that value
        in place of ``weight_decay``, not added to it (a float below
        ``weight_decay`` leaves out part of the penalty's own curvature). See
        :ref:`trusting-network-influence`. Read at influence time.
    record_affinity : {"lookahead", "first_order"}, default=None
        Record TAG's inter-task affinity during training (adam, sgd) in
        ``tag_affinity_``: ``"lookahead"`` is the transference of Fifty et al.
        (2021, Eq. 1; task ``j``'s head held fixed, as their text says) with
        a plain SGD step, ``1 - L_j(shared - lr * g_i) / L_j(shared)`` on
        each batch (their experiments take the optimizer's own step),
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
        Needs ``task_weighting="ew"``.
    task_weighting : str, default="ew"
        How each mini-batch step (adam, sgd) combines the task losses
        ``L_k`` of the tasks in the batch. Loss weightings: ``"ew"`` (the
        objective ``sum_k L_k``), ``"uw"`` (uncertainty weighting, Kendall
        et al. 2018), ``"rlw"`` (random loss weighting, Lin et al. 2022),
        ``"dwa"`` (dynamic weight average, Liu et al. 2019), ``"gls"``
        (geometric mean of the losses, Chennupati et al. 2019), ``"stch"``
        (smooth Tchebycheff, Lin et al. 2024), ``"excess_mtl"`` (excess-risk
        weights, He et al. 2024). Gradient combinations on the shared
        bottom (the heads descend their own loss): ``"gradnorm"`` (Chen et
        al. 2018), ``"pcgrad"`` (Yu et al. 2020), ``"cagrad"`` (Liu et al.
        2021), ``"imtl"`` (IMTL-G, Liu et al. 2021), ``"mgda"`` (Sener and
        Koltun 2018), ``"db_mtl"`` (Lin et al. 2023). ``loss_curve_``, early
        stopping and influence use the objective ``sum_k L_k`` whatever the
        weighting (see :ref:`task_weighting`).
    task_weighting_params : dict, default=None
        Hyperparameters of ``task_weighting`` (defaults when omitted, valid
        values): ``"dwa"``: ``temperature`` (2.0, > 0); ``"gradnorm"``:
        ``alpha`` (1.5, >= 0); ``"cagrad"``: ``c`` (0.5, >= 0);
        ``"db_mtl"``: ``beta`` (0.9, in [0, 1]), ``beta_sigma`` (0.5, >= 0);
        ``"stch"``: ``mu`` (1.0, > 0), ``warmup_epochs`` (1, an integer >=
        1); ``"excess_mtl"``: ``step_size`` (0.01, >= 0). The other methods
        take none. Checked at ``fit``; searchable with ``GridSearchCV`` as a
        list of dicts.
    batch_sampling : {"auto", "uniform", "task_balanced"}, default="auto"
        How mini-batches are drawn: ``"uniform"`` shuffles all rows into
        batches of ``batch_size``; ``"task_balanced"`` takes
        ``batch_size // n_tasks`` rows of every task in each step, cycling
        small tasks, an epoch being the steps the largest task needs (as
        LibMTL). ``"auto"`` takes task-balanced batches when no task has
        more than 1.5 times the training rows of another and a step takes
        at least one row of every task and no row twice (so a full batch
        stays one), else uniform ones. On tasks of nearly equal size the two
        tie per step and task-balanced batches lead per epoch; on uneven
        tasks, cycling the small ones fits their noise (see
        :ref:`task_balanced`).
        The choice is ``batch_sampling_``.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the network's weights and of training.
    device : {"auto", "cpu", "cuda"}, default="auto"
        ``"auto"`` uses a CUDA GPU when torch sees one.
    task_col : int or str, default=-1
        Position or name of the task column of ``X``.
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
        Device the networks live on (``"cpu"`` or ``"cuda"``).
    n_iter_ : int
        Epochs (iterations for lbfgs) of the longest-trained member.
    batch_sampling_ : str
        ``"uniform"`` or ``"task_balanced"``: ``batch_sampling`` with
        ``"auto"`` resolved for the training rows.
    gradient_norm_ : ndarray of shape (n_models,)
        Norm of the gradient of the objective at each member's fitted
        weights: 0 at a stationary point, which influence assumes; influence
        warns when one exceeds a tenth of its value at the start of fit (a
        hundredth after ``solver="lbfgs"``).
    converged_ : ndarray of shape (n_models,)
        Whether each member's training stopped on its own criterion (the
        loss stopped improving, or L-BFGS's tolerance) rather than at
        ``max_epochs``; influence warns when one did not, since a network
        still improving is not at a stationary point even where its gradient
        norm is small (see :ref:`trusting-network-influence`).
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
        Number of columns of ``X`` seen in fit, the task column included.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X`` seen in fit, when all are strings.

    Notes
    -----
    Which settings apply at influence time: ``fit`` freezes every
    parameter, except ``projection_dim``, ``soft_threshold``,
    ``influence_batch_size`` and ``influence_damping``, which every influence
    call (:meth:`influence`, :meth:`task_relatedness`, their fitted
    attributes, ``skmtl.relatedness``) reads afresh. ``set_params`` of one
    of those four after ``fit`` applies
    to the next call without a refit; of any other parameter, only after the
    next ``fit``.

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
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "module": [HasMethods(["forward", "parameters"]), None],
        "task_types": [StrOptions(set(TASK_TYPES)), dict, None],
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
        "influence_damping": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"}), None],
        "record_affinity": [StrOptions({"lookahead", "first_order"}), None],
        "it_mtl": ["boolean"],
        "task_weighting": [StrOptions(set(WEIGHTINGS))],
        "task_weighting_params": [dict, None],
        "batch_sampling": [StrOptions({"auto", "uniform", "task_balanced"})],
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
        influence_damping="auto",
        record_affinity=None,
        it_mtl=False,
        task_weighting="ew",
        task_weighting_params=None,
        batch_sampling="auto",
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
        self.influence_damping = influence_damping
        self.record_affinity = record_affinity
        self.it_mtl = it_mtl
        self.task_weighting = task_weighting
        self.task_weighting_params = task_weighting_params
        self.batch_sampling = batch_sampling
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
        state.update(torch.load(
            io.BytesIO(state.pop("_torch_state")), map_location=None if cuda else "cpu",
            weights_only=False,  # modules, not only tensors: as trusted as the pickle itself
        ))
        if "models_" in state:
            state["_cache"] = {}
            # pickled before fits recorded how they were trained: as the settings say
            state.setdefault("_fitted_solver", state["solver"])
            state.setdefault("_relu_bottom", _relu_bottom(state))
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
            Targets: numbers for regression tasks, class labels for
            classification tasks.
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
        self : SharedBottomNet
            The fitted estimator.
        """
        self._validate_params()
        if hasattr(self, "_cache"):
            # free the previous fit's device memory before training; a fit that fails
            # keeps its fitted model (keep_state_on_error) and recomputes the cache
            self._cache.clear()
        val_given = validation_given(X_val, y_val)
        check_layer_sizes(self.hidden_layer_sizes)
        if (self.record_affinity or self.it_mtl) and self.solver == "lbfgs":
            raise ValueError(
                "record_affinity and it_mtl act on mini-batch steps; use "
                "solver='adam' or 'sgd'."
            )
        if self.task_weighting != "ew" and (self.it_mtl or self.solver == "lbfgs"):
            raise ValueError(
                f"task_weighting={self.task_weighting!r} acts on mini-batch steps and replaces "
                "it_mtl's update: use solver='adam' or 'sgd' and it_mtl=False."
            )
        check_weighting_params(self.task_weighting, self.task_weighting_params)
        device = resolve_device(self.device)
        previous = None
        if self.warm_start and hasattr(self, "models_"):
            previous = {**self._layout(), "models": self.models_}
        features, labels = check_task_X(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        # NaN or infinite targets, named before any cast of them to class codes warns
        check_array(y, ensure_2d=False, dtype=None, input_name="y", estimator=self)
        if len(y) != len(features):
            raise ValueError(f"X has {len(features)} rows but y has {len(y)}; they must match.")
        weights = _check_sample_weight(sample_weight, features, ensure_non_negative=True)
        layout = TaskLayout(labels, sample_weight=weights)
        present = ~layout.missing & (weights > 0)
        if not present.any():
            raise ValueError(
                "No row of X has both a task label and a positive sample_weight; nothing to fit."
            )
        self.tasks_ = layout.tasks
        self._fit_fingerprint = data_fingerprint(features, labels, y)
        row_task = np.where(present, layout.row_task, -1)
        self.task_types_ = resolve_task_types(self.task_types, self.tasks_, y, row_task)
        y_enc, self.classes_ = encode_targets(y, row_task, self.task_types_)
        self._n_out = 1 if len(self.classes_) <= 2 else len(self.classes_)
        self.device_ = device
        self._torch_dtype = getattr(torch, self.dtype)
        self._penalty = self.weight_decay  # influence uses the penalty of the fit
        self._projection_seeds = member_seeds(self.random_state, self.n_models)

        rng = check_random_state(self.random_state)
        rows = np.flatnonzero(present)
        holdout = np.array([], dtype=np.intp)
        if self.early_stopping and self.solver != "lbfgs":
            rows, holdout = holdout_split(rows, row_task, self.validation_fraction, rng)
        kind = np.where(self.task_types_ == "classification", CLASSIFICATION, REGRESSION)

        def subset(rows):
            return {"x": features[rows], "y": y_enc[rows], "task": row_task[rows],
                    "kind": kind[row_task[rows]],
                    "scale": task_scale(rows, row_task, weights, len(self.tasks_))}

        self._train_data = {"rows": rows, **subset(rows)}
        self._feature_spread = feature_spread(features, present)
        self.batch_sampling_ = choose_batch_sampling(
            self.batch_sampling, self._train_data["task"], self.batch_size
        )
        self._n_fit_rows = len(features)
        held = subset(holdout) if len(holdout) else None
        self.models_, self.loss_curve_, self.validation_loss_curve_ = [], [], []
        affinities, n_iters, initial_norms, converged = [], [], [], []
        for member in range(self.n_models):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            with seeded(seed, device):
                net = build_module(
                    features.shape[1], len(self.tasks_), self._n_out,
                    hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation,
                    dropout=self.dropout, module=self.module, dtype=self._torch_dtype, device=device,
                )
                if previous is not None:
                    load_previous(net, previous, self._layout(), member)
                initial_norms.append(gradient_norms(self, [net])[0])
                result = self._train_member(net, held, seed, member)
            self.models_.append(net.eval())
            self.loss_curve_.append(result["loss"])
            self.validation_loss_curve_.append(result["val_loss"])
            n_iters.append(result["n_iter"])
            affinities.append(result["affinity"])
            converged.append(result["converged"])
        self.n_iter_ = int(max(n_iters))
        self.converged_ = np.array(converged)
        self.gradient_norm_ = gradient_norms(self, self.models_)
        self._initial_gradient_norm = np.array(initial_norms)
        self._fitted_solver = self.solver
        self._relu_bottom = _relu_bottom(self.get_params(deep=False))
        if self.record_affinity:
            self.tag_affinity_ = mean_affinity(affinities)
        elif hasattr(self, "tag_affinity_"):
            del self.tag_affinity_  # recorded by an earlier fit
        if val_given:
            self._val = self._check_val(X_val, y_val)
        else:
            # weighted as in the fit: scale = the row's weight over its task's total
            self._val = {k: self._train_data[k] for k in ("x", "y", "task", "kind", "scale")}
        self._cache = {}
        return self

    def _layout(self):
        """What a warm start must find unchanged: tasks, their kinds, classes."""
        return {"tasks": self.tasks_, "types": self.task_types_, "classes": self.classes_}

    def _tensors(self, data):
        out = {}
        for key, value in data.items():
            if key == "rows":
                continue
            dtype = torch.long if key in ("task", "kind") else self._torch_dtype
            out[key] = torch.as_tensor(np.asarray(value), dtype=dtype, device=self.device_)
        return out

    def _train_member(self, net, held, seed, member):
        """Train one member; with ``record_affinity`` or ``it_mtl``, through a
        :class:`~._recording.TaskTransference` callback."""
        objective = Objective(len(self.classes_), self.weight_decay)
        weighting = make_weighting(
            self.task_weighting, self.task_weighting_params, n_tasks=len(self.tasks_), seed=seed,
            weight_decay=self.weight_decay, device=self.device_, dtype=self._torch_dtype,
        )
        recorder = None
        if self.record_affinity or self.it_mtl:
            recorder = TaskTransference(
                net, objective, len(self.tasks_), record_affinity=self.record_affinity,
                it_mtl=self.it_mtl, learning_rate=self.learning_rate,
            )
        bar = tqdm(
            total=self.max_epochs, disable=not self.verbose,
            desc=f"SharedBottomNet member {member + 1}/{self.n_models}",
        )
        with contextlib.closing(bar):
            n_iter, loss, val_loss, converged = train(
                net, self._tensors(self._train_data), objective,
                held=None if held is None else self._tensors(held),
                callbacks=[] if recorder is None else [recorder], solver=self.solver,
                learning_rate=self.learning_rate, batch_size=self.batch_size,
                max_epochs=self.max_epochs, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
                seed=seed, weighting=weighting, batch_sampling=self.batch_sampling_, bar=bar,
            )
        affinity = recorder.affinity() if self.record_affinity else None
        return {"n_iter": n_iter, "loss": loss, "val_loss": val_loss, "affinity": affinity,
                "converged": converged}

    def _check_val(self, X_val, y_val):
        features, y_val, row_task = check_validation_rows(self, X_val, y_val)
        y_enc, kind = encode_validation_targets(y_val, row_task, self.task_types_, self.classes_)
        counts = np.bincount(row_task, minlength=len(self.tasks_))
        return {"x": features, "y": y_enc, "task": row_task, "kind": kind, "scale": 1.0 / counts[row_task]}
