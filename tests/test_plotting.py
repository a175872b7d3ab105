"""TaskRelatednessDisplay and InfluenceDisplay: what they draw is the data."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import skmtl  # noqa: E402
from skmtl import MultiTaskLogistic, MultiTaskRidge  # noqa: E402
from skmtl.datasets import make_multitask_classification, make_multitask_regression  # noqa: E402
from skmtl.inspection import loo_effects  # noqa: E402
from skmtl.plotting import InfluenceDisplay, TaskRelatednessDisplay  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ridge_data():
    X, y = make_multitask_regression(n_tasks=3, n_samples=25, n_features=4, random_state=0)
    X_val, y_val = make_multitask_regression(n_tasks=3, n_samples=25, n_features=4, random_state=1)
    return X, y, X_val, y_val


def test_import_skmtl_imports_neither_matplotlib_nor_torch():
    code = (
        "import sys, skmtl, skmtl.plotting, skmtl.relatedness, skmtl.selection; "
        "print('matplotlib' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# -- TaskRelatednessDisplay -----------------------------------------------------------
R = np.array([[0.5, 0.2, -0.1], [0.3, 0.4, 0.0], [-0.2, np.nan, 0.6]])


def test_relatedness_heatmap_draws_the_matrix():
    disp = TaskRelatednessDisplay.from_matrix(R, task_labels=["a", "b", "c"])
    assert np.array_equal(disp.im_.get_array().data, R, equal_nan=True)
    assert disp.im_.get_array().mask[2, 1]  # NaN is masked (drawn grey)
    # annotations: one per cell, the formatted value, empty for NaN
    texts = [[t.get_text() for t in row] for row in disp.text_]
    assert texts == [["0.5", "0.2", "-0.1"], ["0.3", "0.4", "0"], ["-0.2", "", "0.6"]]
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["a", "b", "c"]
    assert disp.ax_.get_ylabel() == "source task (removed)"
    assert disp.ax_.get_xlabel() == "target task"


def test_a_grouped_estimators_affinity_is_labelled_by_its_tasks():
    from skmtl import TaskGroupedEstimator

    X, y = make_multitask_regression(n_tasks=4, n_samples=20, n_features=3, random_state=0)
    X[:, -1] += 11  # tasks 11 to 14, not positions
    grouped = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0).fit(X, y)
    disp = TaskRelatednessDisplay.from_matrix(grouped.affinity_, groups=grouped)
    shown = [int(t.get_text()) for t in disp.ax_.get_xticklabels()]
    assert shown == grouped.tasks_[disp.order_].tolist() and set(shown) == {11, 12, 13, 14}
    plt.close("all")


def test_relatedness_colour_scale_is_centred_on_zero():
    disp = TaskRelatednessDisplay.from_matrix(R)
    norm = disp.im_.norm
    # symmetric limits set by the largest off-diagonal magnitude (0.3)
    assert (norm.vmin, norm.vmax) == (-0.3, 0.3)
    assert norm(0.0) == 0.5
    # the diagonal 0.4, 0.5 and 0.6 lie beyond: the colour bar shows an arrow
    assert disp.colorbar_.extend == "max"
    disp = TaskRelatednessDisplay.from_matrix(R, vmax=1.0, colorbar=False)
    assert (disp.im_.norm.vmin, disp.im_.norm.vmax) == (-1.0, 1.0)
    assert disp.colorbar_ is None


def test_relatedness_group_ordering():
    disp = TaskRelatednessDisplay.from_matrix(
        R, task_labels=["a", "b", "c"], groups=["y", "x", "y"])
    assert disp.order_.tolist() == [1, 0, 2]
    shown = R[np.ix_([1, 0, 2], [1, 0, 2])]
    assert np.array_equal(disp.im_.get_array().data, shown, equal_nan=True)
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["b", "a", "c"]
    assert disp.text_[1, 0].get_text() == "0.2"  # source a, target b
    # a horizontal and a vertical line between the two groups, at 0.5
    hline, vline = disp.ax_.get_lines()
    assert np.all(np.asarray(hline.get_ydata()) == 0.5)
    assert np.all(np.asarray(vline.get_xdata()) == 0.5)


def test_relatedness_annotation_switch():
    big = np.random.default_rng(0).normal(size=(13, 13))
    assert TaskRelatednessDisplay.from_matrix(big).text_ is None
    assert TaskRelatednessDisplay.from_matrix(big, annotate=True).text_.shape == (13, 13)
    assert TaskRelatednessDisplay.from_matrix(R, annotate=False).text_ is None
    disp = TaskRelatednessDisplay.from_matrix(R, values_format=".1f")
    assert disp.text_[0, 0].get_text() == "0.5"


def test_relatedness_annotations_of_small_and_large_values_fit_their_cells():
    rng = np.random.default_rng(0)
    small = rng.choice([-1, 1], size=(8, 8)) * rng.uniform(1e-4, 1e-3, size=(8, 8))
    small[0, 1:4] = [-0.00067, 4.8e-05, 0.002]  # the largest off the diagonal: the colour scale's end
    disp = TaskRelatednessDisplay.from_matrix(small)
    # shown in units of 1e-4, given in the colour bar label and its ticks
    assert "$\\times 10^{-4}$" in disp.colorbar_.ax.get_ylabel()
    assert [t.get_text() for t in disp.text_[0, 1:3]] == ["-6.7", "0.48"]
    assert all(format(v, ".2g") == t.get_text() for v, t in zip(small.ravel() * 1e4,
                                                                 disp.text_.ravel()))
    disp.figure_.canvas.draw()
    ticks = {t.get_text() for t in disp.colorbar_.ax.get_yticklabels()}
    assert ticks >= {"-5", "0", "5"}
    renderer = disp.figure_.canvas.get_renderer()
    cell = np.diff(disp.ax_.transData.transform([(0, 0), (1, 0)])[:, 0])[0]
    assert max(t.get_window_extent(renderer).width for t in disp.text_.ravel()) < 0.8 * cell
    # large values are scaled too; without a colour bar to tell the scale, none are
    assert disp.from_matrix(small * 1e7).text_[0, 1].get_text() == "-6.7"
    assert disp.from_matrix(small, colorbar=False).text_[0, 1].get_text() == "-0.00067"
    # a largest entry that two digits round to 100 is scaled as well
    assert disp.from_matrix([[0, 0.000996], [0.0005, 0]]).text_[0, 1].get_text() == "10"


def test_relatedness_draws_on_given_axes():
    fig, ax = plt.subplots()
    disp = TaskRelatednessDisplay(R).plot(ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig


def test_relatedness_from_estimator(ridge_data):
    X, y, X_val, y_val = ridge_data
    labels = np.array(["x", "y", "z"], dtype=object)
    X = X.astype(object)
    X[:, -1] = labels[X[:, -1].astype(int)]
    X_val = X_val.astype(object)
    X_val[:, -1] = labels[X_val[:, -1].astype(int)]
    model = MultiTaskRidge().fit(X, y, X_val=X_val, y_val=y_val)
    disp = TaskRelatednessDisplay.from_estimator(model)
    assert np.array_equal(disp.relatedness, model.task_relatedness_)
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["x", "y", "z"]
    disp = TaskRelatednessDisplay.from_estimator(model, X_val, y_val, method="exact")
    assert np.array_equal(disp.relatedness, model.task_relatedness(X_val, y_val, method="exact"))


def test_relatedness_from_nested_list():
    disp = TaskRelatednessDisplay.from_matrix(R.tolist())  # a list's index is a method
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["0", "1", "2"]


def test_relatedness_from_dataframe_uses_its_index():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(R, index=["p", "q", "r"], columns=["p", "q", "r"])
    disp = TaskRelatednessDisplay.from_matrix(frame)
    assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["p", "q", "r"]


@pytest.mark.parametrize(
    "matrix, kwargs, message",
    [
        (np.ones((2, 3)), {}, "square"),
        (R, {"task_labels": ["a", "b"]}, "task_labels has 2 entries"),
        (R, {"groups": [0, 1]}, "one group label per task"),
        (R, {"annotate": "yes"}, "annotate must be"),
        (R, {"vmax": 0}, "vmax must be positive"),
    ],
)
def test_relatedness_errors(matrix, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TaskRelatednessDisplay.from_matrix(matrix, **kwargs)


def test_relatedness_bad_cmap_opens_no_figure():
    before = plt.get_fignums()
    with pytest.raises(ValueError, match="not_a_colormap"):
        TaskRelatednessDisplay.from_matrix(R, cmap="not_a_colormap")
    assert plt.get_fignums() == before


# -- InfluenceDisplay --------------------------------------------------------------------
def test_influence_exact_matches_refits(ridge_data):
    X, y, X_val, y_val = ridge_data
    model = MultiTaskRidge().fit(X, y)
    rows = np.arange(0, 75, 5)
    disp = InfluenceDisplay.from_estimator(model, X, y, X_val, y_val, method="exact", rows=rows)
    refit = loo_effects(MultiTaskRidge(), X, y, X_val, y_val, rows=rows)
    np.testing.assert_allclose(disp.refit, refit)
    np.testing.assert_allclose(disp.influence, model.influence(X_val, y_val, method="exact")[rows])
    assert disp.pearson_["all"] == pytest.approx(1.0, abs=1e-10)
    # the points are (refit, estimate), own-task pairs first
    own = X[rows, -1].astype(int)[:, None] == np.arange(3)
    np.testing.assert_allclose(
        disp.scatter_[0].get_offsets(), np.column_stack([refit[own], disp.influence[own]])
    )
    assert len(disp.scatter_[1].get_offsets()) == own.size - own.sum()
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend[0].startswith("own task: r = 1.000")
    assert disp.ax_.get_legend().get_title().get_text() == "Pearson r = 1.000"


def test_influence_first_order_tracks_refits(ridge_data):
    X, y, X_val, y_val = ridge_data
    disp = InfluenceDisplay.from_estimator(MultiTaskRidge().fit(X, y), X, y, X_val, y_val)
    assert disp.pearson_["all"] >= 0.97
    assert set(disp.pearson_) == {"all", "own task", "other tasks"}


def test_influence_without_validation_data_uses_training_data():
    Xc, yc = make_multitask_classification(n_tasks=2, n_samples=15, n_features=3, random_state=0)
    model = MultiTaskLogistic().fit(Xc, yc)
    disp = InfluenceDisplay.from_estimator(model, Xc, yc, method="newton", rows=[0, 1, 2])
    np.testing.assert_allclose(disp.refit, loo_effects(MultiTaskLogistic(), Xc, yc, rows=[0, 1, 2]))
    np.testing.assert_allclose(disp.influence, model.influence(Xc, yc, method="newton")[:3])
    # rows in any order, negative ones included, streamed: the n x K matrix is never held
    rows = [7, -1, 2]
    with skmtl.config_context(max_result_memory=1e-6):
        disp = InfluenceDisplay.from_estimator(model, Xc, yc, method="newton", rows=rows)
    np.testing.assert_allclose(disp.influence, model.influence(Xc, yc, method="newton")[rows],
                               atol=1e-12)
    np.testing.assert_allclose(disp.refit, loo_effects(MultiTaskLogistic(), Xc, yc, rows=rows))


def test_influence_distribution(ridge_data):
    X, y, X_val, y_val = ridge_data
    model = MultiTaskRidge().fit(X, y)
    below_the_matrix = 0.5 * 8 * len(X) * 3 / 2**20
    with skmtl.config_context(max_result_memory=below_the_matrix):  # influence() would raise
        disp = InfluenceDisplay.from_estimator(model, X, y, X_val, y_val, kind="distribution")
    assert disp.refit is None and disp.pearson_ is None
    total = model.influence(X_val, y_val).sum(axis=1)
    task = X[:, -1].astype(int)
    medians = [line.get_ydata()[0] for line in disp.boxplot_["medians"]]
    np.testing.assert_allclose(medians, [np.median(total[task == k]) for k in range(3)])
    # on one target task only
    disp = InfluenceDisplay.from_estimator(model, X, y, X_val, y_val, kind="distribution", target=2)
    column = model.influence(X_val, y_val)[:, 2]
    medians = [line.get_ydata()[0] for line in disp.boxplot_["medians"]]
    np.testing.assert_allclose(medians, [np.median(column[task == k]) for k in range(3)])
    assert "task 2" in disp.ax_.get_ylabel()


def test_influence_rows_without_task_are_left_out():
    influence = np.array([[0.1, 0.0], [0.2, 0.1], [0.0, 0.0]])
    refit = influence * 1.1
    disp = InfluenceDisplay.from_predictions(
        influence, refit, row_tasks=[0, 1, None], task_labels=[0, 1])
    assert sum(len(s.get_offsets()) for s in disp.scatter_) == 4
    disp = InfluenceDisplay.from_predictions(
        influence, row_tasks=[0, 1, None], task_labels=[0, 1], kind="distribution")
    assert len(disp.boxplot_["boxes"]) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "histogram"}, "kind must be one of"),
        ({"refit": None}, "needs the brute-force effects"),
        ({"refit": np.zeros((2, 2))}, "refit has shape"),
        ({"kind": "distribution", "row_tasks": None}, "pass row_tasks"),
        ({"kind": "distribution", "target": "z"}, "is not one of the tasks"),
        ({"row_tasks": ["a", "q", "b"]}, r"labels \['q'\]"),
        ({"row_tasks": ["a", "b"]}, "one task label per row"),
        ({"task_labels": ["a"]}, "task_labels has 1 entries"),
    ],
)
def test_influence_errors(kwargs, message):
    influence = np.array([[0.1, 0.0], [0.2, 0.1], [0.0, 0.3]])
    params = {"refit": influence, "row_tasks": ["a", "b", "a"], "task_labels": ["a", "b"],
              **kwargs}
    with pytest.raises(ValueError, match=message):
        InfluenceDisplay.from_predictions(influence, **params)


def test_failed_influence_plot_opens_no_figure_and_keeps_the_last_plot():
    influence = np.array([[0.1, 0.0], [0.2, 0.1], [0.0, 0.3]])
    disp = InfluenceDisplay.from_predictions(influence, influence * 1.1)
    pearson, ax = disp.pearson_, disp.ax_
    n_figures = len(plt.get_fignums())
    with pytest.raises(ValueError, match="pass row_tasks"):
        disp.plot(kind="distribution")
    assert len(plt.get_fignums()) == n_figures
    assert disp.pearson_ == pearson and disp.ax_ is ax and disp.scatter_ is not None


@pytest.mark.parametrize("other", ["validation data", "reversed rows", "other targets"])
def test_influence_from_estimator_rejects_other_data_of_the_same_shape(ridge_data, other):
    X, y, X_val, y_val = ridge_data
    model = MultiTaskRidge().fit(X, y)
    data = {"validation data": (X_val, y_val), "reversed rows": (X[::-1], y[::-1]),
            "other targets": (X, y + 1.0)}[other]
    with pytest.raises(ValueError, match="not the data MultiTaskRidge was fitted on.*from_predictions"):
        InfluenceDisplay.from_estimator(model, *data, kind="distribution")
    # the same values in another memory layout are the training data
    disp = InfluenceDisplay.from_estimator(model, np.asfortranarray(X), list(y), kind="distribution")
    np.testing.assert_allclose(disp.influence, np.nansum(model.influence_, axis=1))


def test_influence_from_estimator_recognises_the_training_data_of_a_network(ridge_data):
    pytest.importorskip("torch")
    from skmtl.network import SharedBottomNet

    X, y, X_val, y_val = ridge_data
    net = SharedBottomNet(hidden_layer_sizes=(2,), solver="lbfgs", max_epochs=2, device="cpu",
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(X, y)
    with pytest.raises(ValueError, match="not the data SharedBottomNet was fitted on"):
        InfluenceDisplay.from_estimator(net, X_val, y_val, kind="distribution")


def test_influence_from_estimator_needs_the_training_data(ridge_data):
    X, y, X_val, y_val = ridge_data
    model = MultiTaskRidge().fit(X, y)
    with pytest.raises(ValueError, match="not the data MultiTaskRidge was fitted on"):
        InfluenceDisplay.from_estimator(model, X[:-1], y[:-1], kind="distribution")
    with pytest.raises(ValueError, match="both X_val and y_val"):
        InfluenceDisplay.from_estimator(model, X, y, X_val)


def test_influence_from_estimator_accepts_the_training_labels_in_another_container():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randn(40, 2), np.repeat([0, 1], 20)])
    y = list(np.where(X[:, 0] > 0, "pos", "neg"))
    est = MultiTaskLogistic().fit(X, y)
    for same in (np.array(y, dtype=object), np.array(y)):
        InfluenceDisplay.from_estimator(est, X, same)
    with pytest.raises(ValueError, match="not the data"):
        InfluenceDisplay.from_estimator(est, X, np.array(y[::-1], dtype=object))


@pytest.mark.parametrize("display", ["TaskRelatednessDisplay", "InfluenceDisplay"])
def test_a_pipeline_is_refused_with_the_way_to_its_last_step(display):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skmtl.compose import make_feature_transformer

    X, y = make_multitask_regression(n_tasks=3, n_samples=20, random_state=0)
    pipe = make_pipeline(make_feature_transformer(StandardScaler()), MultiTaskRidge()).fit(X, y)
    args = (X, y) if display == "InfluenceDisplay" else ()
    with pytest.raises(TypeError, match=r"takes the fitted skmtl estimator, not a Pipeline: pass its "
                                        r"last step, pipe\[-1\]"):
        getattr(skmtl.plotting, display).from_estimator(pipe, *args)


def test_a_dataframe_is_read_by_its_labels():
    import pandas as pd

    R = pd.DataFrame([[1.0, 0.2, -0.3], [0.1, 1.0, 0.4], [-0.5, 0.6, 1.0]], index=list("abc"),
                     columns=list("abc"))
    shuffled = R.loc[["c", "a", "b"]]  # the sources reordered by hand; the columns not
    disp = TaskRelatednessDisplay.from_matrix(shuffled)
    labels = [t.get_text() for t in disp.ax_.get_xticklabels()]
    assert labels == ["c", "a", "b"]
    np.testing.assert_array_equal(np.asarray(disp.im_.get_array()), R.loc[labels, labels].to_numpy())
    assert [t.get_text() for t in TaskRelatednessDisplay(shuffled).plot().ax_.get_yticklabels()] == labels
    with pytest.raises(ValueError, match=r"columns \['x', 'y', 'z'\] are not the index \['a', 'b', 'c'\]"):
        TaskRelatednessDisplay.from_matrix(pd.DataFrame(R.to_numpy(), index=list("abc"), columns=list("xyz")))
    # read back from a CSV: numbers in the index, their text in the header
    numbered = pd.DataFrame(R.to_numpy(), index=[0, 1, 2], columns=["0", "1", "2"])
    np.testing.assert_array_equal(
        np.asarray(TaskRelatednessDisplay.from_matrix(numbered).im_.get_array()), R.to_numpy())
    scores = pd.DataFrame([[0.1, 0.2], [0.3, -0.1]], columns=["p", "q"])
    disp = InfluenceDisplay.from_predictions(scores, row_tasks=["p", "q"], kind="distribution")
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["p", "q"]


def test_groups_by_task_label_and_the_colour_scale_keywords():
    import pandas as pd

    R = np.array([[1.0, 0.2, -0.3], [0.1, 1.0, np.nan], [-0.5, 0.6, 1.0]])
    for groups in (pd.Series({"c": 0, "a": 1, "b": 1}), {"b": 1, "c": 0, "a": 1}):
        disp = TaskRelatednessDisplay.from_matrix(R, task_labels=list("abc"), groups=groups)
        assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["c", "a", "b"]
    # numeric task labels against groups read back from a CSV (labels as text), as the matrix is read
    disp = TaskRelatednessDisplay.from_matrix(R, task_labels=[10, 20, 30],
                                              groups={"30": 0, "10": 1, "20": 1})
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == ["30", "10", "20"]
    with pytest.raises(ValueError, match=r"groups' tasks .* give a group for every task"):
        TaskRelatednessDisplay.from_matrix(R, task_labels=list("abc"), groups={"a": 0, "b": 1})
    with pytest.raises(ValueError, match="only as a fitted TaskGroupedEstimator"):
        TaskRelatednessDisplay.from_matrix(R, groups=MultiTaskRidge())
    open_before = plt.get_fignums()
    with pytest.raises(ValueError, match="the colour scale is centred at 0: pass vmax"):
        TaskRelatednessDisplay.from_matrix(R, im_kw={"vmin": -1, "vmax": 1})
    assert plt.get_fignums() == open_before  # refused before any figure opens
    disp = TaskRelatednessDisplay.from_matrix(R, im_kw={"cmap": "PuOr"})
    assert disp.im_.get_cmap().get_bad()[:3] == pytest.approx(matplotlib.colors.to_rgb("lightgrey"))
    # the power of ten follows the colour scale (off the diagonal), not a diagonal of 1e3
    big = np.array([[1e3, 2e-3], [-6.7e-4, 1e3]])
    disp = TaskRelatednessDisplay.from_matrix(big)
    assert "10^{-4}" in disp.colorbar_.ax.get_ylabel()
    assert disp.text_[1, 0].get_text() == "-6.7"


def test_the_distribution_draws_boxes_per_task_only_and_streams_a_grouped_model():
    from skmtl import TaskGroupedEstimator

    X, y = make_multitask_regression(n_tasks=4, n_samples=14, random_state=0)
    with pytest.raises(ValueError, match=r"boxplot_kw sets \['orientation'\]"):
        InfluenceDisplay.from_predictions(np.ones((56, 4)), row_tasks=X[:, -1], kind="distribution",
                                          boxplot_kw={"orientation": "horizontal"})
    grouped = TaskGroupedEstimator(MultiTaskRidge(), n_groups=2, random_state=0).fit(X, y)
    disp = InfluenceDisplay.from_estimator(grouped, X, y, kind="distribution")
    medians = [np.median(grouped.influence().sum(axis=1)[X[:, -1] == k]) for k in range(4)]
    np.testing.assert_allclose([line.get_ydata()[0] for line in disp.boxplot_["medians"]], medians)
    with pytest.raises(ValueError, match="use kind='distribution'"):
        InfluenceDisplay.from_estimator(grouped, X, y)


def test_many_tasks_thin_the_labels_and_refuse_nothing_silently(monkeypatch):
    """A fresh reader at 1,000 tasks: every label drawn made the axes black bars,
    annotate=True ran for minutes, and rows=None started a refit per row."""
    from skmtl.plotting import _influence

    rng = np.random.default_rng(0)
    R = rng.standard_normal((120, 120))
    disp = TaskRelatednessDisplay.from_matrix(R)
    labels = [t.get_text() for t in disp.ax_.get_xticklabels()]
    assert len(labels) <= 50 and labels[:2] == ["0", "3"]
    with pytest.warns(UserWarning, match="annotate=True writes 3,600 numbers"):
        TaskRelatednessDisplay.from_matrix(R[:60, :60], annotate=True)
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=2, random_state=0)
    monkeypatch.setattr(_influence, "MANY_REFITS", 20)
    with pytest.warns(UserWarning, match="rows=None refits the model once per training row: 30 refits"):
        InfluenceDisplay.from_estimator(MultiTaskRidge().fit(X, y), X, y)
    plt.close("all")
