"""Global settings of skmtl, in the manner of :func:`sklearn.set_config`."""

import contextlib
import numbers

from sklearn.utils._param_validation import Interval, validate_params

_config = {"max_result_memory": 4096}


def get_config():
    """Return the current settings of skmtl (see :func:`set_config`).

    Returns
    -------
    config : dict
        Setting name -> value, a new dict (changing it changes no setting).

    Examples
    --------
    >>> import skmtl
    >>> skmtl.get_config()
    {'max_result_memory': 4096}
    """
    return dict(_config)


@validate_params(
    {"max_result_memory": [Interval(numbers.Real, 0, None, closed="neither"), None]},
    prefer_skip_nested_validation=True,
)
def set_config(max_result_memory=None):
    """Set skmtl's global settings.

    Parameters
    ----------
    max_result_memory : float, default=None
        Largest result, in MiB, that ``influence`` (its ``(n_rows, n_tasks)``
        scores, with their components when asked) and the subset measures of
        :mod:`skmtl.relatedness` (their ``(n_subsets, n_tasks)`` losses) may
        allocate; above it they raise ``MemoryError`` before allocating,
        with the size in GiB and the call to use instead
        (``influence_chunked``, ``influence_total``, fewer subsets). The
        default is 4096 (4 GiB); ``None`` leaves the setting unchanged.

    See Also
    --------
    config_context : the same settings for a ``with`` block.

    Examples
    --------
    >>> import skmtl
    >>> skmtl.set_config(max_result_memory=8192)   # allow results up to 8 GiB
    >>> skmtl.get_config()["max_result_memory"]
    8192
    >>> skmtl.set_config(max_result_memory=4096)
    """
    if max_result_memory is not None:
        _config["max_result_memory"] = max_result_memory


@contextlib.contextmanager
def config_context(*, max_result_memory=None):
    """Context manager for :func:`set_config`: the settings are restored on exit.

    Parameters
    ----------
    max_result_memory : float, default=None
        As in :func:`set_config`; ``None`` leaves the setting unchanged.

    Yields
    ------
    None

    Examples
    --------
    >>> import skmtl
    >>> with skmtl.config_context(max_result_memory=64):
    ...     skmtl.get_config()["max_result_memory"]
    64
    """
    old = get_config()
    set_config(max_result_memory=max_result_memory)
    try:
        yield
    finally:
        set_config(**old)


def check_result_memory(n_values, what, instead):
    """Raise ``MemoryError`` when ``n_values`` float64 numbers exceed ``max_result_memory``.

    Called before a result is allocated.

    Parameters
    ----------
    n_values : int
        Number of float64 values of the result.
    what : str
        Names the result in the message.
    instead : str
        The call that avoids it, in the message.

    Returns
    -------
    None

    Examples
    --------
    >>> from skmtl.utils import check_result_memory
    >>> check_result_memory(1000, "a small result", "Stream it")
    """
    n_bytes = 8 * n_values
    limit = _config["max_result_memory"]
    if n_bytes > limit * 2**20:
        raise MemoryError(
            f"{what} would take {n_bytes / 2**30:.2f} GiB, above skmtl's "
            f"max_result_memory of {limit:g} MiB ({limit / 2**10:.2f} GiB). {instead}, "
            "or raise the limit with skmtl.config_context(max_result_memory=...) (in MiB)."
        )
