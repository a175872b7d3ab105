"""Helpers shared by skmtl estimators."""

import contextlib
import functools
import hashlib

import numpy as np
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController


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
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.dtype == object:  # string or missing task labels: hash their reprs
            values = (repr(getattr(v, "item", lambda v=v: v)()) for v in array.ravel())
            digest.update("\0".join(values).encode("utf-8", "backslashreplace"))
        else:
            digest.update(memoryview(array))
    return digest.hexdigest()


class InfluenceMixin:
    """``influence_`` and ``task_relatedness_`` of a fitted skmtl estimator.

    The estimator provides ``influence``, ``task_relatedness``,
    ``_check_val`` (validation data in its own layout), ``_val`` (the
    validation data of ``fit``) and a ``_cache`` dict cleared by ``fit``.
    """

    def _resolve_val(self, X_val, y_val):
        return self._check_val(X_val, y_val) if validation_given(X_val, y_val) else self._val

    def _influence_settings(self):
        """Parameters that ``influence`` reads at call time (not frozen by ``fit``)."""
        return ()

    def _cached(self, name, compute):
        key = (name, self._influence_settings())
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @property
    def influence_(self):
        """``influence()`` against the validation data given to ``fit`` (or the
        training data); computed on first access."""
        check_is_fitted(self)
        return self._cached("influence", self.influence)

    @property
    def task_relatedness_(self):
        """``task_relatedness()`` against the validation data given to ``fit``
        (or the training data); computed on first access."""
        check_is_fitted(self)
        return self._cached("relatedness", self.task_relatedness)
