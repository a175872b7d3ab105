"""Helpers shared by skmtl estimators."""

import contextlib
import functools

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
        with blas_threads_for_blocks(self._theta[0].size):
            return method(self, *args, **kwargs)

    return wrapper
