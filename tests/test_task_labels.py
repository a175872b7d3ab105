"""Task labels stay exact end to end, and labels that cannot be the fitted tasks are named."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.compose import make_feature_transformer
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import task_losses
from skmtl.selection import MTIFSelector
from skmtl.utils import encode_tasks, split_tasks, stack_tasks

BIG = 2**53  # float64 cannot tell BIG and BIG + 1 apart


@pytest.fixture
def data():
    return make_multitask_regression(n_tasks=3, n_samples=8, n_features=2, random_state=0)


def _with_task_column(X, labels):
    """``X`` with its task column replaced by ``labels[task]``, as an object array."""
    task = np.asarray(labels, dtype=object)[X[:, -1].astype(int)]
    return np.column_stack([X[:, :-1].astype(object), task])


def test_stack_tasks_keeps_integer_ids_beyond_2_53(data):
    X, y = data
    ids = [BIG + 1, BIG]
    X_big, y_big = stack_tasks({i: X[X[:, -1] == k, :-1] for k, i in enumerate(ids)},
                               {i: y[X[:, -1] == k] for k, i in enumerate(ids)})
    assert sorted(split_tasks(X_big, y_big)) == sorted(ids)
    assert MultiTaskRidge().fit(X_big, y_big).tasks_.tolist() == sorted(ids)


@pytest.mark.parametrize("layout", ["frame", "object"])
def test_integer_ids_beyond_2_53_stay_distinct_through_fit_and_predict(data, layout):
    X, y = data
    ids = np.array([BIG, BIG + 1, BIG + 2])
    if layout == "frame":
        X_big = pd.DataFrame(X[:, :-1], columns=["a", "b"]).assign(task=ids[X[:, -1].astype(int)])
    else:
        X_big = _with_task_column(X, ids.tolist())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither a merge warning nor an unseen task
        model = MultiTaskRidge().fit(X_big, y)
        np.testing.assert_allclose(model.predict(X_big), MultiTaskRidge().fit(X, y).predict(X))
    assert model.tasks_.tolist() == ids.tolist()


def test_float_ids_beyond_2_53_warn_that_tasks_may_have_merged(data):
    X, y = data
    X_float = X.copy()
    X_float[:, -1] += BIG
    with pytest.warns(UserWarning, match=r"beyond 2\*\*53 held as floats.*DataFrame"):
        MultiTaskRidge().fit(X_float, y)


@pytest.mark.parametrize("Model", [MultiTaskRidge, MultiTaskLogistic])
def test_string_labels_for_integer_tasks_raise_naming_both_types(Model):
    make = make_multitask_regression if Model is MultiTaskRidge else make_multitask_classification
    X, y = make(n_tasks=3, n_samples=8, n_features=2, random_state=0)
    model = Model().fit(X, y)
    as_text = _with_task_column(X, ["0", "1", "2"])
    match = r"None of the task labels .* str \['0', '1', '2'\].* int tasks \[0, 1, 2\].*astype\(int\)"
    with pytest.raises(ValueError, match=match):
        model.predict(as_text)
    with pytest.raises(ValueError, match=match.replace("rows of X", "validation rows")):
        model.influence(as_text, y)
    with pytest.raises(ValueError, match=match):
        task_losses(model, as_text, y)
    fitted_on_text = Model().fit(as_text, y)
    with pytest.raises(ValueError, match=r"str tasks \['0', '1', '2'\].*astype\(str\)"):
        fitted_on_text.predict(X)


def test_some_unseen_tasks_warn_naming_them_and_use_shared_coefficients(data):
    X, y = data
    model = MultiTaskRidge().fit(X, y)
    X_new = X.copy()
    X_new[:2, -1] = 7
    with pytest.warns(UserWarning, match=r"2 rows of X belong to tasks not seen in fit: \[7\] .*shared"):
        pred = model.predict(X_new)
    np.testing.assert_allclose(pred[:2], X[:2, :-1] @ model.shared_coef_ + model.shared_intercept_)
    np.testing.assert_allclose(pred[2:], model.predict(X[2:]))
    with pytest.raises(ValueError, match=r"not seen in fit: \[7\]"):
        model.set_params(unknown_task="error").predict(X_new)
    with pytest.warns(UserWarning, match=r"2 validation rows belong to tasks not seen in fit: \[7\]"):
        with_unseen = model.influence(X_new, y)
    np.testing.assert_allclose(with_unseen[:, 1:], model.influence(X[2:], y[2:])[:, 1:])


def test_all_unseen_labels_raise_only_when_their_type_differs(data):
    # scikit-learn's checks predict held-out rows whose (float) task labels are all new
    X, y = data
    model = MultiTaskRidge().fit(X, y)
    X_new = X.copy()
    X_new[:, -1] += 10
    with pytest.warns(UserWarning, match=r"24 rows of X belong to tasks not seen in fit: \[10, 11, 12"):
        pred = model.predict(X_new)
    np.testing.assert_allclose(pred, X[:, :-1] @ model.shared_coef_ + model.shared_intercept_)
    X_new[:, -1] = (X[:, -1] - 0.9) / 0.8  # a task column scaled after fit
    with pytest.raises(ValueError, match=r"float .* int tasks.*scaler.*make_feature_transformer"):
        model.predict(X_new)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_network_names_type_mismatch():
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    X, y = make_multitask_regression(n_tasks=2, n_samples=6, n_features=2, random_state=0)
    net = SharedBottomNet(hidden_layer_sizes=(3,), max_epochs=2, device="cpu", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"None of the task labels .* str \['0', '1'\].* int tasks"):
        net.predict(_with_task_column(X, ["0", "1"]))


@pytest.mark.parametrize("tasks", [[0, 1, 2], [1, 2, 3], [-7, 2, 5]])
@pytest.mark.parametrize(
    "scaler, match",
    [(StandardScaler(), "mean about 0 and standard deviation about 1"),
     (RobustScaler(), "median about 0 and inter-quartile range about 1"),
     (MinMaxScaler(), r"range \[0, 1\]"),
     (MaxAbsScaler(), r"range \[(0|-1), 1\]")],
)
def test_scaler_over_the_task_column_warns_at_fit(data, scaler, match, tasks):
    X, y = _with_task_column(data[0], tasks).astype(float), data[1]
    with pytest.warns(UserWarning, match=f"{match}.*task column looks scaled.*make_feature_transformer"):
        make_pipeline(scaler, MultiTaskRidge()).fit(X, y)


@pytest.mark.parametrize("feature, match", [
    (lambda n: np.linspace(3.1, 9.7, n), "are non-integer numbers"),
    (lambda n: np.arange(n) * 7, "give each of the 24 rows a task of its own"),
    (lambda n: np.r_[np.arange(n - 4), np.arange(4)] * 5,
     "make 20 tasks of 24 rows, 16 of them of a single row"),
])
def test_a_feature_in_place_of_the_task_column_warns(data, feature, match):
    X, y = data[0].copy(), data[1]
    X[:, -1] = feature(len(y))
    with pytest.warns(UserWarning, match=f"{match}.*is this column the task ids"):
        MultiTaskRidge().fit(X, y)


def test_many_tasks_of_two_rows_do_not_warn():
    X, y = make_multitask_regression(n_tasks=25, n_samples=2, n_features=2, random_state=0)
    X[-3:, -1] = [97, 98, 99]  # three tasks of one row among 27
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(MultiTaskRidge().fit(X, y).tasks_) == 27


@pytest.mark.parametrize("tasks", [
    [0, 1, 2], [-1, 0, 1], [-1.0, 0.0, 1.0], [0.0, 1.0, 2.0], ["a", "b", "c"], [3, 10, 12],
])
def test_unscaled_task_labels_do_not_warn(data, tasks):
    X, y = _with_task_column(data[0], tasks), data[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(MultiTaskRidge().fit(X, y).tasks_) == 3


def test_make_feature_transformer_scales_features_and_keeps_the_task_column(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe = make_pipeline(make_feature_transformer(StandardScaler()), MultiTaskRidge()).fit(X, y)
    scaled = np.column_stack([StandardScaler().fit_transform(X[:, :-1]), X[:, -1]])
    reference = MultiTaskRidge().fit(scaled, y)
    assert pipe[-1].tasks_.tolist() == [0, 1, 2]
    np.testing.assert_allclose(pipe[-1].coef_, reference.coef_)
    # a named task column first, pandas output: names kept, task column last and exact
    frame = pd.DataFrame(X[:, :-1], columns=["a", "b"])
    frame.insert(0, "task", X[:, -1].astype(int) + BIG)
    transformer = make_feature_transformer(StandardScaler(), task_col="task")
    transformer.set_output(transform="pandas")
    out = transformer.fit_transform(frame)
    assert out.columns.tolist() == ["a", "b", "task"]
    assert out["task"].tolist() == frame["task"].tolist()
    np.testing.assert_allclose(out[["a", "b"]], StandardScaler().fit_transform(X[:, :-1]))


@pytest.mark.parametrize("frame", [False, True])
def test_text_task_column_not_last_names_the_task_col_to_pass(data, frame):
    X, y = data
    first = _with_task_column(X, ["a", "b", "c"])[:, [-1, 0, 1]]  # task labels in the first column
    if frame:
        first = pd.DataFrame(first, columns=["site", "f0", "f1"]).astype({"f0": float, "f1": float})
    model = MultiTaskRidge().fit(X, y)
    coef = model.coef_.copy()
    column = "'site'" if frame else "0"
    with pytest.raises(ValueError, match=(
        rf"column {column} could not be converted to float .*If column {column} holds the task "
        rf"labels, pass task_col={column} \(task_col=-1 reads column {'.f1.' if frame else 2}\); "
        "otherwise encode categorical features first, e.g. with OneHotEncoder"
    )):
        model.fit(first, y)
    np.testing.assert_array_equal(model.coef_, coef)
    assert model.n_features_in_ == 3
    np.testing.assert_array_equal(MultiTaskRidge(task_col="site" if frame else 0).fit(first, y).coef_, coef)


def test_several_text_features_are_named_without_a_task_col_hint(data):
    X, y = data
    colors = np.where(y > 0, "red", "blue")
    frame = pd.DataFrame({"color": colors, "shape": colors, "f0": X[:, 0], "task": X[:, -1]})
    with pytest.raises(ValueError, match=(
        r"columns 'color', 'shape' could not be converted to float \(.*\)\. Encode categorical "
        "features first, e.g. with OneHotEncoder.$"
    )):
        MultiTaskRidge().fit(frame, y)


@pytest.mark.parametrize("labels, tasks", [
    (np.array([3.0, 1.0, np.nan, 2.5, 7.0, 1.0]), np.array([7, 1, 3])),  # floats of integer tasks
    (np.array([5, -3, 10**12, 0]), np.array([10**12, -3])),
    (np.array([True, False, True]), np.array([1, 0])),
    (np.array(["b", "zz", "", "a"]), np.array(["b", "a"])),
    (np.array(["b", "c", None, 1], dtype=object), np.array(["a", "b", 1], dtype=object)),  # mixed
    (np.array([1, 2]), np.array([], dtype=int)),
    (np.array([], dtype=float), np.array([1, 2])),
])
def test_encode_tasks_is_the_position_of_each_label_in_tasks(labels, tasks):
    expected = [next((i for i, t in enumerate(tasks) if not pd.isna(v) and t == v), -1)
                for v in labels]
    np.testing.assert_array_equal(encode_tasks(labels, tasks), np.asarray(expected, dtype=np.intp))
    assert encode_tasks(labels, tasks).dtype == np.intp


def test_predicting_mostly_unseen_tasks_points_to_task_stratified_folds():
    # plain KFold on rows sorted by task holds out whole tasks
    from sklearn.model_selection import cross_val_score

    X, y = make_multitask_regression(n_tasks=5, n_samples=20, random_state=0)
    order = np.argsort(X[:, -1], kind="stable")
    with pytest.warns(UserWarning, match=r"They are 20 of the 20: to cross-validate, "
                                         r"skmtl.model_selection.TaskStratifiedKFold"):
        cross_val_score(MultiTaskRidge(), X[order], y[order], cv=5)


@pytest.mark.parametrize("frame", [False, True])
def test_an_infinite_task_label_is_refused(data, frame):
    X, y = data
    X = X.copy()
    X[3, -1] = np.inf
    X_in = pd.DataFrame(X).astype({X.shape[1] - 1: object}) if frame else X
    model = MultiTaskRidge().fit(data[0], y)
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match="task column holds infinite values"):
        model.fit(X_in, y)
    np.testing.assert_array_equal(model.coef_, coef)  # the fitted model is intact


def test_predict_without_the_task_column_says_it_is_needed(data):
    X, y = data
    model = MultiTaskRidge().fit(X, y)
    with pytest.raises(ValueError, match=r"X has \d+ features, but MultiTaskRidge is expecting \d+ "
                                         r"features as input\. X needs the columns .*task column included"):
        model.predict(X[:, :-1])


@pytest.mark.parametrize("Model", [MultiTaskRidge, MultiTaskLogistic])
def test_pandas_na_in_a_nullable_feature_is_reported_as_missing(data, Model):
    # pd.NA in a Float64 feature next to a text task column: scikit-learn's
    # "Input X contains NaN", not a claim that the column is not numeric
    X, y = data
    frame = pd.DataFrame({"a": pd.array(X[:, 0], dtype="Float64"), "b": X[:, 1],
                          "school": [f"s{int(t)}" for t in X[:, -1]]})
    y = (y > np.median(y)).astype(int) if Model is MultiTaskLogistic else y
    Model(task_col="school").fit(frame, y)  # no NA: fits
    frame.loc[2, "a"] = pd.NA
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Model(task_col="school").fit(frame, y)
    fitted = Model(task_col="school").fit(frame.fillna(0.0), y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(frame)
    # a text feature is still named as one
    with pytest.raises(ValueError, match="column 'b' could not be converted"):
        Model(task_col="school").fit(frame.fillna(0.0).assign(b="x"), y)


@pytest.mark.parametrize("frame", [False, True])
def test_missing_task_labels_leave_integer_tasks_integer(data, frame):
    # rows left out by a missing task label (as MTIFSelector leaves them) do not
    # turn integer tasks_ into objects: the pipeline's tasks_ are the direct fit's
    X, y = data
    X = pd.DataFrame(X).rename(columns=str) if frame else X
    direct = MultiTaskRidge().fit(X, y)
    X_missing = X.copy()
    if frame:
        X_missing.iloc[0, -1] = None
    else:
        X_missing[0, -1] = np.nan
    model = MultiTaskRidge().fit(X_missing, y)
    assert model.tasks_.dtype == direct.tasks_.dtype == np.int64
    np.testing.assert_array_equal(model.tasks_, direct.tasks_)
    model.predict(X)
    selector = MTIFSelector(MultiTaskRidge(), removal_ratio=0.0, random_state=0).fit(X_missing, y)
    assert selector.tasks_.dtype == np.int64  # the selector's own, too
    np.testing.assert_array_equal(selector.tasks_, direct.tasks_)


def test_sparse_X_from_a_column_transformer_says_how_to_get_a_dense_one():
    # OneHotEncoder's default sparse output turns the ColumnTransformer's output sparse
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"color": rng.choice(list("abcdefghij"), 60), "school": rng.integers(0, 3, 60)})
    y = rng.normal(size=60)
    encode = make_column_transformer((OneHotEncoder(), ["color"]), remainder="passthrough")
    with pytest.raises(TypeError, match="(?s)Sparse data was passed.*sparse_threshold=0"):
        make_pipeline(encode, MultiTaskRidge()).fit(frame, y)
    make_pipeline(encode.set_params(sparse_threshold=0), MultiTaskRidge()).fit(frame, y)


def _frames_with_a_text_task_column():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    school = rng.choice(["s1", "s2", "s3"], 60)
    y = a + b + (school == "s2") + rng.normal(size=60) * 0.3
    frames = {
        "bool feature, categorical task": pd.DataFrame(
            {"a": a, "flag": b > 0, "school": pd.Categorical(school)}),
        "Float64 feature, categorical task": pd.DataFrame(
            {"a": pd.array(a, dtype="Float64"), "b": b, "school": pd.Categorical(school)}),
        "Int64 feature, categorical task": pd.DataFrame(
            {"a": pd.array(np.round(a * 10).astype(int), dtype="Int64"), "b": b,
             "school": pd.Categorical(school)}),
    }
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        frames["pyarrow features and task"] = pd.DataFrame({"a": a, "b": b, "school": school}).convert_dtypes(
            dtype_backend="pyarrow")
    return frames, y


@pytest.mark.parametrize("kind", list(_frames_with_a_text_task_column()[0]))
def test_text_task_column_beside_bool_nullable_or_pyarrow_features(kind):
    # scikit-learn's check_array(dtype=None) casts such a frame to float ("Cannot
    # cast str dtype to float64"); the task column is read as a column of labels
    from sklearn.pipeline import make_pipeline

    from skmtl import MTIFSelector, TaskGroupedEstimator
    from skmtl.model_selection import TaskStratifiedKFold

    frames, y = _frames_with_a_text_task_column()
    frame = frames[kind]
    plain = frame.astype({c: float for c in frame.columns if c != "school"}).astype({"school": object})
    expected = MultiTaskRidge(task_col="school").fit(plain, y)
    model = MultiTaskRidge(task_col="school").fit(frame, y)
    assert model.tasks_.tolist() == ["s1", "s2", "s3"]
    np.testing.assert_allclose(model.coef_, expected.coef_)
    np.testing.assert_allclose(model.predict(frame), expected.predict(plain))
    assert [len(t) for _, t in TaskStratifiedKFold(3, task_col="school").split(frame, y)] == [20, 20, 20]
    assert sorted(split_tasks(frame, y, task_col="school")) == ["s1", "s2", "s3"]
    classes = (y > np.median(y)).astype(int)
    pipe = make_pipeline(MTIFSelector(MultiTaskLogistic(), task_col="school", removal_ratio=0.1, random_state=0),
                         MultiTaskLogistic(task_col="school")).fit(frame, classes)
    assert pipe[-1].tasks_.tolist() == ["s1", "s2", "s3"]
    grouped = TaskGroupedEstimator(MultiTaskRidge(task_col="school"), n_groups=2, random_state=0).fit(frame, y)
    grouped.predict(frame)


@pytest.mark.parametrize("task", ["text", "integer"])
def test_make_feature_transformer_encodes_with_a_default_one_hot_encoder(task):
    # OneHotEncoder() outputs sparse matrices; the transformer's output stays dense
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    school = rng.choice(["s1", "s2", "s3"], 90)
    frame = pd.DataFrame({"color": rng.choice(list("abcdefghij"), 90), "size": rng.choice(list("SMLX"), 90),
                          "school": school if task == "text" else [int(s[1]) for s in school]})
    y = rng.normal(size=90)
    model = make_pipeline(make_feature_transformer(OneHotEncoder(), task_col="school"), MultiTaskRidge())
    model.fit(frame, y)
    assert len(model[-1].tasks_) == 3
    dense = make_pipeline(make_feature_transformer(OneHotEncoder(sparse_output=False), task_col="school"),
                          MultiTaskRidge()).fit(frame, y)
    np.testing.assert_allclose(model.predict(frame), dense.predict(frame))


def test_a_task_col_name_for_a_frame_with_integer_column_names_says_how_to_name_them():
    X = pd.DataFrame(np.column_stack([np.random.default_rng(0).random((20, 2)), np.repeat([0, 1], 10)]))
    with pytest.raises(ValueError, match=r"column names are all strings.*X.columns = X.columns.astype\(str\)"):
        MultiTaskRidge(task_col="2").fit(X, np.zeros(20))
    X.columns = X.columns.astype(str)
    assert MultiTaskRidge(task_col="2").fit(X, np.zeros(20)).tasks_.tolist() == [0, 1]
