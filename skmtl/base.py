"""Helpers shared by skmtl estimators."""

import contextlib
import functools
import hashlib
import numbers
import sys
import warnings

import numpy as np
import sklearn
from sklearn.utils import check_array, gen_batches
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from ._config import check_result_memory
from .influence import InfluenceAdapter
from .utils._tasks import values_by_task


def is_dask_collection(X):
    """Whether ``X`` is a Dask collection (False without importing dask where it is not loaded)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def keep_state_on_error(fit):
    """Decorate ``fit`` so that a call that raises leaves the estimator as it was.

    Validation in scikit-learn sets ``n_features_in_`` before later checks
    can fail; restoring the attribute dictionary keeps a fitted estimator
    intact when a new ``fit`` is given bad data.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        state = self.__dict__.copy()
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper


# Per-task parameter count below which one BLAS thread is faster than several:
# the arrow algebra runs many small block products, where threads synchronize
# more than they compute (`python benchmarks/bench_linear.py threads`).
SMALL_BLOCK_SIZE = 512


@functools.cache
def _threadpool_controller():
    return ThreadpoolController()


def blas_threads_for_blocks(block_size):
    """Context that limits BLAS to one thread when the blocks are small."""
    if block_size < SMALL_BLOCK_SIZE:
        return _threadpool_controller().limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


def single_threaded_small_blocks(method):
    """Decorate a fitted linear model's method with :func:`blas_threads_for_blocks`."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        check_is_fitted(self)
        with blas_threads_for_blocks(self._theta[0].size):
            return method(self, *args, **kwargs)

    return wrapper


def binary_log_proba(eta):
    """Log-probabilities of the two classes for log-odds ``eta``:
    ``log(1 - sigmoid(eta))`` and ``log(sigmoid(eta))`` as two columns,
    finite where the probabilities themselves round to 0 or 1."""
    return np.column_stack([-np.logaddexp(0.0, eta), -np.logaddexp(0.0, -eta)])


def validation_given(X_val, y_val):
    """Whether validation data was passed; both or neither must be."""
    if (X_val is None) != (y_val is None):
        raise ValueError("Pass both X_val and y_val, or neither.")
    return X_val is not None


def data_fingerprint(*arrays):
    """A hash of validated arrays, stored at fit to recognise the training data later.

    Hashing reads each array once, which is cheap next to a fit; the
    memory layout does not change the hash, only the dtypes, shapes and values do.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    for array in arrays:
        array = np.asarray(array)
        if array.ndim == 0:
            array = np.ascontiguousarray(array)
        if array.dtype.kind in "OUS":  # labels as text: the same whether str, bytes or object
            digest.update(f"text{array.shape}".encode())
            values = (repr(getattr(v, "item", lambda v=v: v)()) for v in array.ravel())
            digest.update("\0".join(values).encode("utf-8", "backslashreplace"))
        else:
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            # row blocks in C order hash as the whole C-ordered array does, without
            # a contiguous copy of a feature slice (a million rows of 50: 381 MiB)
            for start in range(0, len(array), 65536):
                digest.update(memoryview(np.ascontiguousarray(array[start:start + 65536])))
    return digest.hexdigest()


def checked_working_memory(working_memory):
    """``working_memory`` in MiB (scikit-learn's setting when None); a
    ValueError unless it is a positive number."""
    if working_memory is None:
        return sklearn.get_config()["working_memory"]
    if not (isinstance(working_memory, numbers.Real) and not isinstance(working_memory, bool)
            and 0 < working_memory < np.inf):
        raise ValueError(f"working_memory must be a positive, finite number of MiB, got {working_memory!r}.")
    return working_memory


def task_weights_with_rows(task_weights, empty, tasks):
    """``influence_total``'s ``task_weights`` checked (all ones when None; a
    Series or dict read by task label, in the order of ``tasks``), 0 for the
    tasks without validation rows (``empty``); None, with a warning, where no
    task of nonzero weight has validation rows (every total is then NaN)."""
    n_tasks = len(empty)
    task_weights = values_by_task(
        task_weights, tasks, "task_weights", "labels", "tasks of tasks_", every=True,
        fix="give one weight per task, by its label (or an array in the order of tasks_).")
    weights = np.ones(n_tasks) if task_weights is None else check_array(
        task_weights, ensure_2d=False, input_name="task_weights"
    )
    if weights.shape != (n_tasks,):
        raise ValueError(
            f"task_weights has shape {weights.shape}; it needs one weight per task "
            f"of tasks_, shape ({n_tasks},)."
        )
    weighted = weights != 0
    if weighted.any() and empty[weighted].all():
        warnings.warn(
            "No validation row belongs to a task of nonzero task_weights, so every "
            "total is NaN; pass validation rows of those tasks or weight the tasks "
            "that have some.", UserWarning,
        )
        return None
    return np.where(empty, 0.0, weights)


def _fill_block(positions, n_rows, value):
    """``value`` for rows ``positions`` of a block as the whole block (other rows 0)."""
    if value is None or len(positions) == n_rows:  # positions are sorted and distinct
        return value
    if isinstance(value, dict):
        return {name: _fill_block(positions, n_rows, part) for name, part in value.items()}
    out = np.zeros((n_rows,) + value.shape[1:])
    out[positions] = value
    return out


class InfluenceMixin:
    """Influence entry points shared by the fitted skmtl estimators.

    The estimator provides ``influence``, ``task_relatedness``,
    ``_check_val`` (validation data in its own layout), ``_val`` (the
    validation data of ``fit``), a ``_cache`` dict cleared by ``fit``,
    ``_n_fit_rows`` and ``_scorer(X_val, y_val, method)``, which validates
    the call, factorizes once and returns ``(parts, totals, empty)``:
    ``parts(start, stop, components)`` scores the fit rows ``start:stop``
    as ``(positions, scores, components or None)``, ``positions`` being the
    scored rows within the block (the others score 0);
    ``totals(task_weights)`` returns a function of ``(start, stop)`` giving
    ``(positions, totals)`` by one solve, or None where there is no such
    shortcut; ``empty`` marks the tasks without validation rows.
    """

    # a hash of the training data (data_fingerprint), set by fit; None where none is kept
    _fit_fingerprint = None

    def _resolve_val(self, X_val, y_val):
        return self._check_val(X_val, y_val) if validation_given(X_val, y_val) else self._val

    def _influence_settings(self):
        """Parameters that ``influence`` reads at call time (not frozen by ``fit``)."""
        return ()

    def _check_streamable(self):
        """Raise where the scores of some rows depend on all the others."""

    def _cached(self, name, compute):
        key = (name, self._influence_settings())
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _blocks(self, score, row_bytes, working_memory, desc):
        """``(start, values)`` over consecutive blocks of fit rows, from
        ``score(start, stop) = (positions, *values)``; rows left out score 0.
        With ``verbose``, a bar named ``desc`` counts the rows scored."""
        n_rows = self._n_fit_rows
        working_memory = checked_working_memory(working_memory)
        chunk = int(working_memory * 2**20 // row_bytes)
        if chunk < 1:
            warnings.warn(f"working_memory={working_memory:g} MiB holds less than one row of "
                          f"{row_bytes / 2**20:.3g} MiB: the blocks are single rows.")
        verbose = getattr(self, "verbose", 0)  # a family of the protocol may have no such parameter
        with tqdm(total=n_rows, desc=desc, unit="row", disable=not verbose) as progress:
            for rows in gen_batches(n_rows, max(chunk, 1)):
                start, stop = rows.start, rows.stop
                positions, *values = score(start, stop)
                progress.update(stop - start)
                yield start, [_fill_block(positions, stop - start, value) for value in values]
                del values  # before the next block is scored: one block at a time

    def _row_bytes(self):
        """Bytes a row of a block takes: its scores and one temporary of the caller's."""
        return 2 * 8 * len(self.tasks_)

    def _influence_matrix(self, X_val, y_val, method, return_components, finish=None):
        """``influence``'s scores (``finish`` applied) and components, filled block by block."""
        parts, _, empty = self._scorer(X_val, y_val, method)
        shape = (self._n_fit_rows, len(self.tasks_))
        names = ("direct", "shared") if return_components else ()
        check_result_memory(
            (1 + len(names)) * shape[0] * shape[1],
            f"influence() of {shape[0]} rows x {shape[1]} tasks"
            + (" with its two components" if names else ""),
            "Stream it with influence_chunked(X_val, y_val, reduce_func=...), or get each "
            "row's total over the tasks with influence_total(X_val, y_val)",
        )
        scores = np.zeros(shape)
        components = {name: np.zeros(shape) for name in names}
        # the result is allocated already: blocks beyond a few dozen MiB add memory, not speed
        working_memory = min(sklearn.get_config()["working_memory"], 64)
        def score(start, stop):
            return parts(start, stop, return_components)

        blocks = self._blocks(score, self._row_bytes(), working_memory, "influence")
        for start, (block, paths) in blocks:
            rows = slice(start, start + len(block))
            scores[rows] = block
            for name in names:
                components[name][rows] = paths[name]
        if finish is not None:
            scores = finish(scores)
        for array in (scores, *components.values()):
            array[:, empty] = np.nan
        return scores, components

    def influence_chunked(self, X_val=None, y_val=None, *, method="mtif", reduce_func=None,
                          working_memory=None):
        """:meth:`influence` as a generator of blocks of training rows.

        In the convention of :func:`sklearn.metrics.pairwise_distances_chunked`:
        the validation data is checked and the Hessian factorized when the
        method is called, then each block costs its own rows only, so the
        whole ``(n_fit_rows, n_tasks)`` matrix is never held at once.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        method : str, default="mtif"
            As in :meth:`influence`.
        reduce_func : callable, default=None
            ``reduce_func(block, start)`` is yielded instead of each block,
            ``start`` being the index of the block's first row; e.g.
            ``lambda block, start: block.min(axis=1)``.
        working_memory : float, default=None
            Memory in MiB a block may take with its temporaries (a few
            float64 numbers per task and row);
            ``sklearn.get_config()["working_memory"]`` when None.

        Returns
        -------
        blocks : generator of ndarray of shape (n_block_rows, n_tasks)
            Rows ``start:start + n_block_rows`` of ``influence(X_val, y_val,
            method=method)``, consecutive from row 0; or ``reduce_func(block,
            start)`` of each block.

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl import MultiTaskRidge
        >>> rng = np.random.RandomState(0)
        >>> X = np.column_stack([rng.randn(60, 2), np.repeat([0, 1, 2], 20)])
        >>> y = X[:, 0] + rng.randn(60)
        >>> model = MultiTaskRidge().fit(X, y)
        >>> blocks = model.influence_chunked(
        ...     reduce_func=lambda block, start: block.sum(axis=1), working_memory=0.001)
        >>> totals = np.concatenate(list(blocks))
        >>> bool(np.allclose(totals, model.influence().sum(axis=1)))
        True
        """
        parts, _, empty = self._scorer(X_val, y_val, method)
        self._check_streamable()
        checked_working_memory(working_memory)  # at the call, not at the first block

        fitted = self._cache  # every fit starts a new one

        def of_this_fit(start, stop):
            if self._cache is not fitted:
                raise RuntimeError(
                    "The model was fitted again while influence_chunked was being read: its "
                    "blocks would mix the two fits. Read the generator to its end before "
                    "refitting, or call influence_chunked again after the fit.")
            return parts(start, stop)

        def blocks():
            for start, (block, _) in self._blocks(of_this_fit, self._row_bytes(), working_memory,
                                                  "influence_chunked"):
                block[:, empty] = np.nan
                if reduce_func is None:
                    yield block
                elif (reduced := reduce_func(block, start)) is None:
                    raise TypeError("reduce_func returned None; return what each block reduces to, "
                                    "e.g. lambda block, start: block.sum(axis=1).")
                else:
                    yield reduced
                del block  # before the next block is scored: one block at a time

        return blocks()

    def influence_total(self, X_val=None, y_val=None, *, method="mtif", task_weights=None,
                        working_memory=None):
        """Each training row's total influence over the tasks.

        Row ``i``'s total ``sum_j w_j influence[i, j]`` over the tasks with
        validation rows. With ``method="mtif"`` it is ``v^T H^{-1} u_i``
        for the one summed validation gradient ``v = sum_j w_j v_j``: one
        solve, then one dot product per row, where :meth:`influence` costs
        ``n_tasks`` columns per row; other methods sum the blocks of
        :meth:`influence_chunked`. Either way memory holds one block of rows
        at a time.

        Parameters
        ----------
        X_val, y_val : array-like, default=None
            As in :meth:`influence`.
        method : str, default="mtif"
            As in :meth:`influence`.
        task_weights : array-like of shape (n_tasks,), default=None
            ``w_j``, one per task of ``tasks_`` (e.g. 1 for the target tasks
            and 0 for the others); all ones when None.
        working_memory : float, default=None
            As in :meth:`influence_chunked`.

        Returns
        -------
        total : ndarray of shape (n_fit_rows,)
            ``np.nansum(influence(X_val, y_val, method=method) * task_weights,
            axis=1)``: positive means the row helps the weighted tasks. NaN
            for every row when no task of nonzero weight has validation rows.

        Examples
        --------
        >>> import numpy as np
        >>> from skmtl import MultiTaskRidge
        >>> from skmtl.datasets import make_multitask_regression
        >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=4, random_state=0)
        >>> model = MultiTaskRidge().fit(X, y)
        >>> total = model.influence_total()
        >>> bool(np.allclose(total, model.influence().sum(axis=1)))
        True
        >>> on_task_2 = model.influence_total(task_weights=[0, 0, 1])   # one column, one solve
        >>> bool(np.allclose(on_task_2, model.influence()[:, 2]))
        True
        >>> worst = np.argsort(total)[:5]                            # the most harmful rows
        """
        parts, totals, empty = self._scorer(X_val, y_val, method)
        weights = task_weights_with_rows(task_weights, empty, self.tasks_)
        if weights is None:
            return np.full(self._n_fit_rows, np.nan)
        score = totals(weights)
        if score is None:
            self._check_streamable()
            def score(start, stop):
                positions, block, _ = parts(start, stop)
                return positions, block[:, ~empty] @ weights[~empty]

        out = np.empty(self._n_fit_rows)
        for start, (block,) in self._blocks(score, self._row_bytes(), working_memory,
                                              "influence_total"):
            out[start:start + len(block)] = block
        return out

    def _reduced_influence(self, X_val, y_val, method, reduce_func):
        """``reduce_func(block, start)`` over the blocks of :meth:`influence`,
        concatenated: streamed, or of ``influence()`` as one block where the
        scores of some rows depend on all the others."""
        try:
            self._check_streamable()
        except ValueError:
            return reduce_func(self.influence(X_val, y_val, method=method), 0)
        return np.concatenate(list(self.influence_chunked(X_val, y_val, method=method,
                                                          reduce_func=reduce_func)))

    def _check_fitted_attributes(self):
        """Raise an ``AttributeError`` (so that ``hasattr`` is False) where the fitted
        model keeps no data to compute ``influence_`` and ``task_relatedness_`` from."""

    @property
    def influence_(self):
        """``influence()`` against the validation data given to ``fit`` (or the
        training data); computed on first access."""
        check_is_fitted(self)
        self._check_fitted_attributes()
        return self._cached("influence", self.influence)

    @property
    def task_relatedness_(self):
        """``task_relatedness()`` against the validation data given to ``fit``
        (or the training data); computed on first access."""
        check_is_fitted(self)
        self._check_fitted_attributes()
        return self._cached("relatedness", self.task_relatedness)


class EstimatorAdapter(InfluenceAdapter):
    """The parts of :class:`~skmtl.influence.InfluenceAdapter` that every
    :class:`InfluenceMixin` estimator gives alike; the families add the rest."""

    @property
    def n_fit_rows(self):
        return self.estimator._n_fit_rows

    @property
    def fit_fingerprint(self):
        return self.estimator._fit_fingerprint

    def reduced_influence(self, X_val, y_val, method, reduce_func):
        return self.estimator._reduced_influence(X_val, y_val, method, reduce_func)
