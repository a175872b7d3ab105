"""Task-stratified splitters: every task keeps training rows, shares are even."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import make_multitask_classification
from skmtl.model_selection import TaskShuffleSplit, TaskStratifiedKFold, task_train_test_split


@pytest.fixture
def data():
    X, y = make_multitask_classification(
        n_tasks=5, n_samples=[1, 2, 3, 17, 40], n_features=3, random_state=0
    )
    return X, y


@pytest.mark.parametrize("shuffle", [False, True])
def test_kfold_keeps_every_task_and_balances(data, shuffle):
    X, y = data
    task = X[:, -1]
    cv = TaskStratifiedKFold(n_splits=4, shuffle=shuffle, random_state=0 if shuffle else None)
    tests = [test for _, test in cv.split(X, y)]
    assert cv.get_n_splits() == len(tests) == 4
    # test folds are disjoint and cover every row but the lone row of task 0
    held = np.concatenate(tests)
    assert len(held) == len(np.unique(held)) == len(y) - 1
    assert set(range(len(y))) - set(held) == {np.flatnonzero(task == 0)[0]}
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1
    for train, test in cv.split(X, y):
        assert set(task[train]) == set(task)  # no task vanishes
        assert len(np.intersect1d(train, test)) == 0
    for t in np.unique(task):
        for c in (0, 1):
            counts = [np.sum((task[f] == t) & (y[f] == c)) for f in tests]
            assert max(counts) - min(counts) <= 1


def test_kfold_shuffle_is_seeded(data):
    X, y = data

    def folds(**kw):
        return [tuple(test) for _, test in TaskStratifiedKFold(3, **kw).split(X, y)]

    assert folds(shuffle=True, random_state=1) == folds(shuffle=True, random_state=1)
    assert folds(shuffle=True, random_state=1) != folds(shuffle=False)


def test_kfold_dataframe_task_name_and_errors():
    df = pd.DataFrame({"x": np.arange(6.0), "school": list("aabbbc")})
    cv = TaskStratifiedKFold(2, task_col="school")
    for train, _ in cv.split(df):
        assert set(df["school"].iloc[train]) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="Lower n_splits"):
        list(TaskStratifiedKFold(6, task_col="school").split(df))
    with pytest.raises(ValueError, match="not a column"):
        list(TaskStratifiedKFold(2, task_col="subject").split(df))
    with pytest.raises(ValueError, match="n_splits"):
        TaskStratifiedKFold(1)


def test_task_labels_of_mixed_types_are_rejected():
    # 1 and "1" would silently be one task here and two tasks in the estimators
    X = np.array([[0.1, 1], [0.2, "1"], [0.3, 1], [0.4, "1"]], dtype=object)
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        list(TaskStratifiedKFold(2).split(X, np.arange(4.0)))
    with pytest.raises(ValueError, match="mixes numbers and strings"):
        MultiTaskRidge().fit(X, np.arange(4.0))


def test_kfold_in_cross_validate_fits_every_task(data):
    X, y = data
    res = cross_validate(
        MultiTaskLogistic(), X, y, cv=TaskStratifiedKFold(3), return_estimator=True
    )
    for est in res["estimator"]:
        np.testing.assert_array_equal(est.tasks_, np.arange(5))


@pytest.mark.parametrize("test_size", [0.1, 0.25, 0.5])
def test_train_test_split_shares(data, test_size):
    X, y = data
    X_train, X_test, y_train, y_test = task_train_test_split(
        X, y, test_size=test_size, random_state=0
    )
    assert len(X_test) + len(X_train) == len(X)
    assert abs(len(X_test) - np.ceil(test_size * len(X))) <= 1
    assert set(X_train[:, -1]) == set(X[:, -1])
    for t in np.unique(X[:, -1]):
        n_k = np.sum(X[:, -1] == t)
        n_test = np.sum(X_test[:, -1] == t)
        assert n_test < n_k
        if n_k >= 17:
            assert abs(n_test - test_size * n_k) <= 1
            for c in (0, 1):  # classes stratified within the task
                share = np.sum((X[:, -1] == t) & (y == c)) * test_size
                assert abs(np.sum((X_test[:, -1] == t) & (y_test == c)) - share) <= 1
    # rows are split, not copied or changed
    rows = {tuple(r) + (v,) for r, v in zip(X, y)}
    stacked = zip(np.vstack([X_train, X_test]), np.r_[y_train, y_test])
    assert rows == {tuple(r) + (v,) for r, v in stacked}


def test_train_test_split_keeps_containers_and_validates():
    df = pd.DataFrame({"x": np.arange(8.0), "task": [0, 0, 0, 0, 1, 1, 1, 1]})
    y = pd.Series(np.arange(8.0))
    X_train, X_test, y_train, y_test = task_train_test_split(df, y, test_size=0.5, task_col="task")
    assert isinstance(X_test, pd.DataFrame) and isinstance(y_test, pd.Series)
    assert X_test["task"].tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="test_size"):
        task_train_test_split(df, y, test_size=1.5)


def test_train_test_split_splits_further_arrays_alike():
    """As scikit-learn's ``train_test_split``: sample weights (or any array of as
    many rows) after ``X`` and ``y`` come back split by the same rows, which do
    not depend on them."""
    df = pd.DataFrame({"x": np.arange(8.0), "task": [0, 0, 0, 0, 1, 1, 1, 1]})
    y = np.arange(8.0)
    weights, names = np.arange(8.0) * 10, pd.Series(list("abcdefgh"))
    parts = task_train_test_split(df, y, weights, names, test_size=0.5, task_col="task", random_state=0)
    X_train, X_test, y_train, y_test, w_train, w_test, n_train, n_test = parts
    assert [p.shape[0] for p in parts] == [4] * 8
    np.testing.assert_array_equal(w_train, X_train["x"] * 10)
    np.testing.assert_array_equal(w_test, X_test["x"] * 10)
    assert isinstance(n_test, pd.Series) and n_test.tolist() == [chr(97 + int(v)) for v in y_test]
    for plain, with_more in zip(task_train_test_split(df, y, test_size=0.5, task_col="task",
                                                      random_state=0), parts):
        np.testing.assert_array_equal(plain, with_more)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        task_train_test_split(df, y, weights[:-1], task_col="task")


@pytest.mark.parametrize("test_size", [0.1, 0.25, 0.5])
def test_shuffle_split_sizes_tasks_and_strata(data, test_size):
    X, y = data
    task = X[:, -1]
    cv = TaskShuffleSplit(n_splits=4, test_size=test_size, random_state=0)
    splits = list(cv.split(X, y))
    assert cv.get_n_splits() == len(splits) == 4
    lone = np.flatnonzero(task == 0)
    for train, test in splits:
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(len(y)))
        assert len(test) <= np.ceil(test_size * len(y))
        assert set(task[train]) == set(task)  # every task in every training part
        assert np.isin(lone, train).all()  # a task's single row is never held out
        for t in (3, 4):  # the large tasks give their share, up to one row
            n_k = np.sum(task == t)
            assert abs(np.sum(task[test] == t) - test_size * n_k) <= 1
            for c in (0, 1):  # classes stratified within the task
                share = np.sum((task == t) & (y == c)) * test_size
                assert abs(np.sum((task[test] == t) & (y[test] == c)) - share) <= 1
    # the draws differ from split to split
    assert len({tuple(test) for _, test in splits}) == 4


def test_shuffle_split_is_seeded_and_matches_train_test_split(data):
    X, y = data

    def tests(random_state):
        cv = TaskShuffleSplit(3, test_size=0.2, random_state=random_state)
        return [test.tolist() for _, test in cv.split(X, y)]

    assert tests(1) == tests(1)
    assert tests(1) != tests(2)
    # the held-out rows that --val-fraction and MTIFSelector(validation_fraction=0.2)
    # drew before TaskShuffleSplit existed, for these seeds
    before = {
        0: [4, 10, 18, 20, 23, 25, 27, 28, 31, 32, 34, 36, 52],
        7: [3, 11, 13, 14, 33, 36, 37, 38, 48, 50, 55, 57, 58],
    }
    for seed, rows in before.items():
        assert tests(seed)[0] == rows
        assert tests(np.random.RandomState(seed))[0] == rows
        X_test = task_train_test_split(X, y, test_size=0.2, random_state=seed)[1]
        np.testing.assert_array_equal(X_test, X[rows])


def test_shuffle_split_dataframe_and_errors():
    df = pd.DataFrame({"x": np.arange(7.0), "school": list("aaabbbc")})
    for train, test in TaskShuffleSplit(5, test_size=0.3, task_col="school",
                                        random_state=0).split(df):
        assert set(df["school"].iloc[train]) == {"a", "b", "c"}
        assert len(test) == 2  # 0.3 of the 6 rows that can be held out, rounded up
    with pytest.raises(ValueError, match="holds out no row: no task has two rows"):
        next(TaskShuffleSplit(test_size=0.5, task_col="school").split(df.iloc[[0, 3, 6]]))
    with pytest.raises(ValueError, match="test_size"):
        TaskShuffleSplit(test_size=1.0)
    with pytest.raises(ValueError, match="n_splits"):
        TaskShuffleSplit(0)


def test_shuffle_split_in_cross_validate_and_grid_search(data):
    X, y = data
    cv = TaskShuffleSplit(3, test_size=0.25, random_state=0)
    res = cross_validate(MultiTaskLogistic(), X, y, cv=cv, return_estimator=True,
                         return_indices=True)
    for est in res["estimator"]:
        np.testing.assert_array_equal(est.tasks_, np.arange(5))
    expected = [test.tolist() for _, test in cv.split(X, y)]
    assert [t.tolist() for t in res["indices"]["test"]] == expected
    search = GridSearchCV(MultiTaskLogistic(), {"alpha": [0.1, 1.0]}, cv=cv).fit(X, y)
    assert search.n_splits_ == 3
    np.testing.assert_array_equal(search.best_estimator_.tasks_, np.arange(5))


def _one_positive_per_task(n_tasks=20, n_rows=10):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(n_tasks * n_rows, 2), np.repeat(np.arange(n_tasks), n_rows)])
    y = np.zeros(n_tasks * n_rows, int)
    y[rng.choice(n_rows, n_tasks) + n_rows * np.arange(n_tasks)] = 1
    return X, y


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_rare_class_is_spread_over_the_folds(shuffle):
    # tasks of 10 rows for 5 folds: the plain deal put every task's positive in fold 5
    X, y = _one_positive_per_task()
    cv = TaskStratifiedKFold(5, shuffle=shuffle, random_state=0 if shuffle else None)
    folds = list(cv.split(X, y))
    assert [int(y[test].sum()) for _, test in folds] == [4, 4, 4, 4, 4]
    for _, test in folds:  # each task's 10 rows twice in every fold
        assert set(np.bincount(X[test, -1].astype(int), minlength=20)) == {2}
    assert sorted(np.concatenate([test for _, test in folds])) == list(range(200))


def test_a_rare_class_keeps_training_rows_in_a_shuffle_split():
    # the same rounding in every task held out every positive (all 20 in test, none in training)
    X, y = _one_positive_per_task()
    splits = TaskShuffleSplit(200, test_size=0.2, random_state=0).split(X, y)
    held = [int(y[test].sum()) for _, test in splits]
    assert max(held) < 20 and 3 <= np.mean(held) <= 5  # 20 tasks x 0.2 in expectation
    for _, test in TaskShuffleSplit(5, test_size=0.2, random_state=0).split(X, y):
        assert set(np.bincount(X[test, -1].astype(int), minlength=20)) == {2}  # each task its share


def test_test_size_is_a_share_of_the_rows_that_can_be_held_out():
    X = np.column_stack([np.arange(600.0), np.r_[np.repeat([0.0, 1.0, 2.0], 100), np.full(300, np.nan)]])
    y = np.arange(600.0)
    X_train, X_test, _, _ = task_train_test_split(X, y, test_size=0.2, random_state=0)
    np.testing.assert_array_equal(np.unique(X_test[:, -1], return_counts=True)[1], [20, 20, 20])


def test_test_size_as_a_count_of_rows_and_a_seed_without_shuffle():
    X = np.column_stack([np.arange(600.0), np.r_[np.repeat([0.0, 1.0, 2.0], 100), np.full(300, np.nan)]])
    y = np.arange(600.0)
    # an int counts rows, as in scikit-learn: 30 of the 300 rows that can be held out
    X_test = task_train_test_split(X, y, test_size=30, random_state=0)[1]
    np.testing.assert_array_equal(np.unique(X_test[:, -1], return_counts=True)[1], [10, 10, 10])
    for _, test in TaskShuffleSplit(3, test_size=30, random_state=0).split(X, y):
        assert len(test) == 30
    assert np.array_equal(task_train_test_split(X, y, test_size=60, random_state=1)[1],
                          task_train_test_split(X, y, test_size=0.2, random_state=1)[1])
    with pytest.raises(ValueError, match="test_size=298 rows is more than the 297 that can be held out"):
        task_train_test_split(X, y, test_size=298)
    assert len(task_train_test_split(X, y, test_size=297, random_state=0)[1]) == 297
    pairs = np.column_stack([np.arange(20.0), np.repeat(np.arange(10.0), 2)])  # 10 tasks of 2 rows
    with pytest.raises(ValueError, match="test_size=15 rows is more than the 10"):
        next(TaskShuffleSplit(1, test_size=15, random_state=0).split(pairs))
    with pytest.raises(ValueError, match="test_size"):
        TaskShuffleSplit(test_size=0)
    with pytest.raises(ValueError, match="has no effect with shuffle=False"):
        TaskStratifiedKFold(5, random_state=0)


def test_a_column_vector_target_and_a_wrong_task_column():
    X, y = _one_positive_per_task()
    for cv in (TaskStratifiedKFold(5), TaskShuffleSplit(2, test_size=0.2, random_state=0)):
        assert [t.tolist() for _, t in cv.split(X, y[:, None])] == [t.tolist() for _, t in cv.split(X, y)]
    with pytest.raises(ValueError, match="Every row is alone in its task: is task_col"):
        next(TaskStratifiedKFold(5, task_col=0).split(X, y))
