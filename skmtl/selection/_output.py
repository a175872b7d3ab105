"""The selector's output side: rows marked in a pipeline, or dropped (imbalanced-learn)."""

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils._set_output import ADAPTERS_MANAGER, _wrap_data_with_container
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ..utils import check_task_X, resolve_task_col


def _beyond_float(labels):
    """Whether integer ``labels`` hold values that float64 cannot hold exactly."""
    return labels.dtype.kind in "iu" and len(labels) and bool(np.any(np.abs(labels) > 2**53))


def _not_sampler(selector):
    if selector.sampler:
        raise AttributeError(
            "transform and fit_transform are hidden when sampler=True (imbalanced-"
            "learn forbids steps that both transform and resample); use fit_resample."
        )
    return True


class SelectorOutputMixin:
    """``fit_transform``, ``transform``, ``fit_resample`` and ``set_output`` of a
    selector whose ``fit`` sets ``sample_indices_`` and ``_removed`` (the
    indices of the removed rows), with parameters ``sampler`` and ``task_col``."""

    @available_if(_not_sampler)
    def fit_transform(self, X, y, *, X_val=None, y_val=None):
        """Fit, then return ``X`` with the removed rows' task label missing.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,)
        X_val, y_val : array-like, default=None
            As in :meth:`fit`.

        Returns
        -------
        X_marked : ndarray or DataFrame of shape (n_samples, n_columns)
            A copy of ``X`` (a DataFrame stays a DataFrame; see
            :meth:`set_output`) whose task column is NaN in the removed rows
            (None for object, string or bool columns; an integer column becomes
            float, or nullable ``Int64`` where it holds ids beyond ``2**53``,
            which float64 would merge).
        """
        self.fit(X, y, X_val=X_val, y_val=y_val)
        idx = resolve_task_col(
            self.task_col, self.n_features_in_, getattr(self, "feature_names_in_", None)
        )
        if hasattr(X, "iloc"):
            column = X.iloc[:, idx]
            kind = column.dtype.kind
            if kind in "iu" and _beyond_float(
                    np.asarray(column.dropna(), dtype=np.int64 if kind == "i" else np.uint64)):
                # ids float64 would merge (beyond 2**53): a nullable integer column keeps them
                column = column.astype("Int64" if kind == "i" else "UInt64")
                column.iloc[self._removed] = None
            else:
                numeric = kind in "iuf"  # bool labels stay True and False, as objects
                column = column.astype(float if numeric else object)
                column.iloc[self._removed] = np.nan if numeric else None
            marked = X.copy()
            marked.isetitem(idx, column)
        else:
            marked = validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
            # integer ids beyond 2**53 stay exact as Python ints in an object array
            numeric = marked.dtype.kind in "iufb" and not _beyond_float(marked[:, idx])
            marked = marked.astype(float if numeric else object)  # always a copy
            marked[self._removed, idx] = np.nan if numeric else None
        return _wrap_data_with_container("transform", marked, X, self)

    @available_if(_not_sampler)
    def transform(self, X):
        """Return ``X`` unchanged: selection only applies to the data seen in fit.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)

        Returns
        -------
        X : the input itself (in the container :meth:`set_output` chose)
        """
        check_is_fitted(self)
        check_task_X(self, X, reset=False)
        return _wrap_data_with_container("transform", X, X, self)

    def fit_resample(self, X, y, *, X_val=None, y_val=None):
        """Fit, then return only the kept rows (for imbalanced-learn pipelines).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,)
        X_val, y_val : array-like, default=None
            As in :meth:`fit`.

        Returns
        -------
        X_resampled : array-like of shape (n_kept, n_columns)
            ``X[sample_indices_]``, of the type of ``X`` (see :meth:`set_output`).
        y_resampled : array-like of shape (n_kept,)
        """
        self.fit(X, y, X_val=X_val, y_val=y_val)
        X_kept = _safe_indexing(X, self.sample_indices_)
        return (
            _wrap_data_with_container("transform", X_kept, X_kept, self),
            _safe_indexing(y, self.sample_indices_),
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the input columns, unchanged.

        Parameters
        ----------
        input_features : array-like of str or None, default=None

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    # TransformerMixin's set_output would turn fit_transform and transform into
    # plain methods, visible with sampler=True; the selector keeps its own and
    # declares the key scikit-learn's output wrapping looks for
    _sklearn_auto_wrap_output_keys = {"transform"}

    def set_output(self, *, transform=None):
        """Set the container of the ``X`` that ``fit_transform``, ``transform``
        and ``fit_resample`` return.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"default"``: the container of the input (the selector only edits
            the task column). ``"pandas"``/``"polars"``: a DataFrame with the
            columns of :meth:`get_feature_names_out` (and, for pandas, the
            index of a DataFrame input). None: unchanged. The global
            ``sklearn.set_config(transform_output=...)`` applies when this
            is not set.

        Returns
        -------
        self
        """
        if transform is None:
            return self
        if transform not in ADAPTERS_MANAGER.supported_outputs:
            raise ValueError(
                f"set_output(transform={transform!r}): choose one of "
                f"{sorted(ADAPTERS_MANAGER.supported_outputs)} or None."
            )
        self._sklearn_output_config = {"transform": transform}
        return self
