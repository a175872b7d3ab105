"""Dask: MultiTaskRidge.fit on partitions of whole tasks, and joblib loops on a real cluster."""

import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

from joblib import parallel_config  # noqa: E402

from skmtl import MultiTaskLogistic, MultiTaskRidge  # noqa: E402
from skmtl.datasets import make_multitask_classification, make_multitask_regression  # noqa: E402
from skmtl.inspection import loo_effects  # noqa: E402
from skmtl.relatedness import task_subset_losses  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def data():
    X, y = make_multitask_regression(n_tasks=6, n_samples=30, n_features=3, random_state=0)
    order = np.argsort(X[:, -1], kind="stable")  # whole tasks in each block of rows
    return X[order], y[order]


def _assert_same_fit(model, reference):
    np.testing.assert_array_equal(model.tasks_, reference.tasks_)
    for name in ("coef_", "intercept_", "shared_coef_", "shared_intercept_"):
        np.testing.assert_allclose(getattr(model, name), getattr(reference, name),
                                   rtol=0, atol=1e-10, err_msg=name)


def test_fit_on_a_dask_dataframe_equals_the_fit_in_memory(client, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "store"]).assign(y=y)
    frame["store"] = frame["store"].map({k: f"s{k:g}" for k in range(6)})
    parts = dd.from_pandas(frame, npartitions=3)  # 60 rows each: two whole tasks
    model = MultiTaskRidge(alpha=0.5, task_col="store").fit(parts[["a", "b", "c", "store"]], parts["y"])
    reference = MultiTaskRidge(alpha=0.5, task_col="store").fit(frame.drop(columns="y"), y)
    assert list(model.tasks_) == [f"s{k}" for k in range(6)]
    _assert_same_fit(model, reference)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c", "store"])
    np.testing.assert_allclose(model.predict(frame.drop(columns="y")), reference.predict(frame.drop(columns="y")),
                               atol=1e-10)
    with pytest.raises(ValueError, match="fitted on a Dask collection.*X.compute"):
        model.influence()
    with pytest.raises(ValueError, match="fitted on a Dask collection.*X.compute"):
        model.influence(frame.drop(columns="y"), y)  # validation data: the same refusal
    # the fitted attributes are absent (hasattr False), with the same message when read
    assert not hasattr(model, "influence_") and getattr(model, "task_relatedness_", None) is None
    with pytest.raises(AttributeError, match="fitted on a Dask collection.*X.compute"):
        model.influence_


def test_fit_on_a_dask_array_equals_the_fit_in_memory(client, data):
    X, y = data
    X = X.copy()
    X[::7, -1] = np.nan  # rows without a task take no part, as in memory
    model = MultiTaskRidge(fit_intercept=False).fit(da.from_array(X, chunks=(60, 2)),
                                                    da.from_array(y, chunks=45))
    _assert_same_fit(model, MultiTaskRidge(fit_intercept=False).fit(X, y))


def test_a_task_split_between_partitions_is_refused(client, data):
    X, y = data
    fitted = MultiTaskRidge().fit(X, y)
    coef = fitted.coef_.copy()
    with pytest.raises(ValueError, match="Task 1 has rows in more than one partition.*shuffle"):
        fitted.fit(da.from_array(X, chunks=(50, 4)), da.from_array(y, chunks=50))
    np.testing.assert_array_equal(fitted.coef_, coef)  # the earlier fit is kept
    with pytest.raises(ValueError, match="sample_weight, X_val and y_val"):
        MultiTaskRidge().fit(da.from_array(X), da.from_array(y), sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="MultiTaskLogistic does not fit a Dask collection"):
        MultiTaskLogistic().fit(da.from_array(X), da.from_array(y > 0))


def test_joblib_loops_run_on_the_cluster(client, data):
    X, y = data
    rows = [0, 31, 100, 179]
    local = loo_effects(MultiTaskRidge(), X, y, rows=rows)
    subsets = np.eye(6, dtype=bool)[[0, 1, 2]] | np.eye(6, dtype=bool)[[3, 4, 5]]
    local_subsets = task_subset_losses(MultiTaskRidge(), X, y, subsets=subsets).losses
    Xc, yc = make_multitask_classification(n_tasks=3, n_samples=20, n_features=3, random_state=0)
    logistic = MultiTaskLogistic().fit(Xc, yc)
    local_newton = logistic.task_relatedness(method="newton")
    ridge = MultiTaskRidge().fit(X, y)
    local_exact = ridge.influence(method="exact")
    with parallel_config(backend="dask"), distributed.get_task_stream(client) as stream:
        np.testing.assert_allclose(loo_effects(MultiTaskRidge(), X, y, rows=rows), local, atol=1e-12)
        np.testing.assert_allclose(
            task_subset_losses(MultiTaskRidge(), X, y, subsets=subsets).losses, local_subsets,
            atol=1e-12)
        np.testing.assert_allclose(logistic.task_relatedness(method="newton"), local_newton,
                                   atol=1e-12)
        np.testing.assert_allclose(ridge.influence(method="exact"), local_exact, atol=1e-12)
    assert len({task["worker"] for task in stream.data}) == 2  # both workers took jobs


def test_a_frame_shuffled_on_the_task_fits_as_in_memory(client):
    # the user guide's recipe: X and y as columns of a frame shuffled on the task column, whose
    # partitions, computed apart for X and for y, may hold their rows in different orders
    X, y = make_multitask_regression(n_tasks=4, n_samples=60, n_features=3, random_state=0)
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"]).assign(
        store=np.array(["n", "e", "s", "w"])[X[:, -1].astype(int)], sales=y)
    reference = MultiTaskRidge(task_col="store").fit(frame.drop(columns="sales"), y)
    shuffled = dd.from_pandas(frame, npartitions=3).shuffle(on="store")
    for _ in range(3):
        model = MultiTaskRidge(task_col="store").fit(shuffled[["a", "b", "c", "store"]], shuffled["sales"])
        _assert_same_fit(model, reference)
    # string task labels split across partitions: the message, not an AttributeError
    with pytest.raises(ValueError, match="Task '.' has rows in more than one partition of X"):
        MultiTaskRidge(task_col="store").fit(dd.from_pandas(frame[["a", "store"]], npartitions=3),
                                             dd.from_pandas(frame["sales"], npartitions=3))


def test_predict_on_a_dask_frame_and_partitions_of_unlabelled_rows(client, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c", "store"]).assign(y=y)
    frame.loc[frame.index[::9], "store"] = np.nan  # rows without a task, which the shuffle puts together
    parts = dd.from_pandas(frame, npartitions=2).shuffle(on="store", npartitions=8)
    features = ["a", "b", "c", "store"]
    model = MultiTaskRidge(task_col="store").fit(parts[features], parts["y"])
    reference = MultiTaskRidge(task_col="store").fit(frame[features], y)
    _assert_same_fit(model, reference)
    labelled = parts[parts["store"].notnull()]
    np.testing.assert_allclose(model.predict(labelled[features]),  # computed on the client
                               reference.predict(labelled[features].compute()), atol=1e-10)
    from skmtl import TaskGroupedEstimator
    from skmtl.selection import MTIFSelector

    for wrapper in (MTIFSelector(MultiTaskRidge()), TaskGroupedEstimator(MultiTaskRidge())):
        with pytest.raises(TypeError, match="does not take a Dask X: compute it first"):
            wrapper.fit(parts[features], parts["y"])
