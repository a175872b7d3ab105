"""The ``skmtl`` command line, end to end on temporary CSV files."""

import configparser
import csv
import functools
import os
import re
import subprocess
import sys
import warnings
from importlib import import_module

import numpy as np
import pytest
from sklearn.base import clone

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.cli import main
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.model_selection import TaskStratifiedKFold, task_train_test_split
from skmtl.selection import MTIFSelector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = np.array(["north", "south", "east"], dtype=object)


def run_cli(*args, cwd=None):
    """``python -m skmtl.cli ARGS`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "skmtl.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def run_main(capsys, *args):
    """``main(ARGS)`` in this interpreter: (exit status, stdout, stderr)."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    """Regression data with named tasks, the task column in the middle."""
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=3, random_state=0)
    path = tmp_path_factory.mktemp("data") / "schools.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "school", "b", "c", "score"])
        for row, target in zip(X, y):
            a, b, c = (repr(float(v)) for v in row[:3])
            writer.writerow([a, TASKS[int(row[-1])], b, c, repr(float(target))])
    X_obj = X.astype(object)
    X_obj[:, -1] = TASKS[X[:, -1].astype(int)]
    return str(path), X_obj, y


def test_relatedness_end_to_end(data_csv, tmp_path):
    path, X, y = data_csv
    out = tmp_path / "out"
    res = run_cli("relatedness", path, "--task-col", "school", "--target", "score",
                  "--val-fraction", "0", "--no-scale", "--out", str(out), "--top", "4")
    assert res.returncode == 0, res.stderr
    assert "MultiTaskRidge on 90 training rows, 90 validation rows, 3 tasks." in res.stdout
    assert "4 most harmful training rows" in res.stdout
    assert sorted(os.listdir(out)) == ["influence.csv", "relatedness.csv", "relatedness.png"]
    # every output by its full path
    for name in os.listdir(out):
        assert f"  {out / name}  (" in res.stdout

    # without a split or scaling the files hold exactly the model fitted here
    model = MultiTaskRidge().fit(X, y)
    assert "task relatedness by exact refit without each task (--method exact" in res.stdout
    table = read_rows(out / "relatedness.csv")
    assert table[0] == ["source \\ target", "east", "north", "south"]
    assert [r[0] for r in table[1:]] == ["east", "north", "south"]
    np.testing.assert_allclose(np.array([r[1:] for r in table[1:]], dtype=float),
                               model.task_relatedness(method="exact"), rtol=1e-10, atol=1e-14)
    rows = read_rows(out / "influence.csv")
    assert rows[0] == ["row", "task", "target", "total_influence",
                       "influence_east", "influence_north", "influence_south"]
    body = rows[1:]
    assert [int(r[0]) for r in body] == list(range(90))
    assert [r[1] for r in body] == list(X[:, -1])
    influence = np.array([r[4:] for r in body], dtype=float)
    # the rows by the relatedness's own measure, the exact refit (first order scores a
    # task's only row 0)
    assert "row influence by exact refit without each row:" in res.stdout
    np.testing.assert_allclose(influence, model.influence(method="exact"), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose([float(r[3]) for r in body], influence.sum(axis=1))
    # the printed rows are those of lowest total influence, their targets in 4 digits
    table = res.stdout.split("own task\n")[1].splitlines()[:4]
    table = [line.split() for line in table]
    printed = [int(fields[0]) for fields in table]
    assert printed == np.argsort(influence.sum(axis=1))[:4].tolist()
    assert [fields[2] for fields in table] == [f"{y[i]:.4g}" for i in printed]
    for name in ("relatedness.csv", "influence.csv"):
        assert b"\r" not in (out / name).read_bytes()

    image = pytest.importorskip("matplotlib.pyplot").imread(out / "relatedness.png")
    assert image.ndim == 3 and min(image.shape[:2]) > 200


def test_relatedness_holds_out_a_task_stratified_part(data_csv, tmp_path, capsys):
    path, X, _ = data_csv
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "school", "--target",
                                "score", "--features", "a,b", "--out", str(tmp_path))
    assert status == 0, err
    assert "on 72 training rows, 18 validation rows, 3 tasks" in out
    rows = read_rows(tmp_path / "influence.csv")[1:]
    train = [int(r[0]) for r in rows]
    assert len(set(train)) == 72
    # 20 % of each task held out: 24 training rows per task
    assert np.unique(X[train, -1], return_counts=True)[1].tolist() == [24, 24, 24]



def test_influence_csv_of_many_tasks_keeps_the_total_and_own_task_columns(data_csv, tmp_path, capsys,
                                                                          monkeypatch):
    """A column per task is rows x tasks numbers: 2 GB of text at 1,000 tasks (a fresh
    reader); beyond a limit each row's total and its own task's influence stand in."""
    from skmtl.cli import _report

    path, _, _ = data_csv
    args = ("relatedness", path, "--task-col", "school", "--target", "score", "--features", "a,b")
    run_main(capsys, *args, "--out", str(tmp_path / "full"))
    full = read_rows(tmp_path / "full" / "influence.csv")
    monkeypatch.setattr(_report, "_INFLUENCE_CSV_NUMBERS", 100)
    status, out, err = run_main(capsys, *args, "--out", str(tmp_path / "small"))
    assert status == 0, err
    small = read_rows(tmp_path / "small" / "influence.csv")
    assert small[0] == ["row", "task", "target", "total_influence", "influence_on_own_task"]
    assert [r[:4] for r in small] == [r[:4] for r in full]
    own = [r[full[0].index(f"influence_{r[1]}")] for r in full[1:]]
    assert [float(r[4]) for r in small[1:]] == pytest.approx([float(v) for v in own], rel=1e-12)
    assert "a column per task would be 216 numbers" in out


def test_select_removes_the_selector_rows(data_csv, tmp_path, capsys):
    path, X, y = data_csv
    status, out, err = run_main(capsys, "select", path, "--task-col", "school", "--target",
                                "score", "--ratio", "0.1", "--no-scale", "--out", str(tmp_path))
    assert status == 0, err
    assert "removal ratio 0.1: kept 81 rows, removed 9." in out
    assert "estimated share of corrupted targets:" in out
    # the held-out score with and without the removal
    assert re.search(r"held-out R\^2 against the given targets \(3 task-stratified folds, "
                     r"mean \+/- std\): all rows -?\d\.\d{4} \+/- \d\.\d{4}; removing 0\.1 of "
                     r"them -?\d\.\d{4}", " ".join(out.split()))
    lines = read_rows(path)
    kept, removed = read_rows(tmp_path / "kept.csv"), read_rows(tmp_path / "removed.csv")
    assert kept[0] == lines[0] and removed[0] == lines[0] + ["label_quality"]
    selector = MTIFSelector(MultiTaskRidge(), removal_ratio=0.1, cv=3, random_state=0).fit(X, y)
    assert kept[1:] == [lines[1 + i] for i in selector.sample_indices_]
    # removed lines: verbatim, least likely right first
    quality = selector.scores_
    removed_idx = [lines.index(r[:-1]) - 1 for r in removed[1:]]
    assert sorted(removed_idx) == sorted(set(range(90)) - set(selector.sample_indices_))
    np.testing.assert_allclose([float(r[-1]) for r in removed[1:]], quality[removed_idx])
    assert np.all(np.diff(quality[removed_idx]) >= 0)
    # the influence ranking, asked for
    status, out, err = run_main(capsys, "select", path, "--task-col", "school", "--target",
                                "score", "--ratio", "0.1", "--no-scale", "--strategy",
                                "influence", "--out", str(tmp_path))
    assert status == 0, err
    removed = read_rows(tmp_path / "removed.csv")
    assert removed[0] == lines[0] + ["total_influence"]
    selector.set_params(strategy="influence").fit(X, y)
    assert kept[0] == lines[0] and len(removed) == 10
    assert sorted(lines.index(r[:-1]) - 1 for r in removed[1:]) == sorted(
        set(range(90)) - set(selector.sample_indices_))


def test_select_writes_the_input_lines_verbatim(tmp_path):
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    tasks = ['"north, upper"', "south", '"east"']  # quoted as a spreadsheet may write them
    lines = ["a, b,school,score"] + [
        f'{a:.4f}, {b:.3e},{tasks[int(t)]},"{v:.6g}"' for (a, b, t), v in zip(X, y)
    ]
    path = tmp_path / "data.csv"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    out = tmp_path / "out"
    assert main(["select", str(path), "--task-col", "school", "--target", "score",
                 "--ratio", "0.1", "--out", str(out)]) == 0
    kept, removed = ((out / name).read_bytes() for name in ("kept.csv", "removed.csv"))
    assert b"\r" not in kept + removed
    kept, removed = kept.decode().split("\n"), removed.decode().split("\n")
    assert kept[-1] == removed[-1] == ""
    assert kept[0] == lines[0] and removed[0] == lines[0] + ",label_quality"
    # the kept lines, byte for byte and in the input's order; the removed ones with a score
    kept, removed = kept[1:-1], [line.rsplit(",", 1)[0] for line in removed[1:-1]]
    assert (len(kept), len(removed)) == (54, 6)
    assert kept == [line for line in lines[1:] if line in kept]
    assert sorted(kept + removed) == sorted(lines[1:])


def test_harmful_rows_show_numeric_targets_compactly():
    from skmtl.cli._report import _format_harmful_rows

    def table(y):
        text = _format_harmful_rows(np.array([-2.0, -1.0, 0.5]), np.arange(3),
                                    np.array(["a", "b", "a"]), y, 3)
        return text.splitlines()[1:]

    lines = table(np.array([2.866519516632082, -1e-7, -123456.789]))
    assert [line.split()[2] for line in lines[1:]] == ["2.867", "-1e-07", "-1.235e+05"]
    assert len({len(line) for line in lines}) == 1  # the columns stay aligned
    labels = np.array(["sitting", "3.14159265", "no"], dtype=object)  # class labels as written
    assert [line.split()[2] for line in table(labels)[1:]] == list(labels)
    assert [line.split()[2] for line in table(np.array([10, 2, 3]))[1:]] == ["10", "2", "3"]


def test_relatedness_prints_the_strongest_pairs_by_label():
    from skmtl.cli._report import _format_relatedness

    R = np.array([[9.0, -0.5, 0.1], [2.0, 9.0, np.nan], [-3.0, 0.2, 9.0]])
    R[:, 2] = np.nan  # target task "c" has no validation rows
    text = _format_relatedness(R, np.array(["a", "b", "c"]), top=2)
    lines = text.splitlines()
    # the two largest |off-diagonal| entries, by label, the diagonal and NaN left out
    assert [line.split() for line in lines if line.endswith(("helps", "hurts"))] == [
        ["c", "a", "-3", "hurts"], ["b", "a", "+2", "helps"]]
    assert "strongest 2 of 4 transfers between tasks" in text
    assert "nan" not in text.lower().replace("nan columns", "")
    assert "1 task (c) had no validation rows" in text


def test_install_hints_name_the_extra_of_a_clone(monkeypatch, capsys):
    from skmtl.cli._io import _InputError
    from skmtl.cli._report import _make_model, _save_heatmap

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert not _save_heatmap(np.eye(2), [0, 1], "unused.png", "title")
    assert 'pip install ".[plot]" from the skmtl repository root' in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "skmtl.network", None)
    with pytest.raises(_InputError, match=r'pip install "\.\[torch\]" from the skmtl'):
        _make_model("net", np.array([0, 1]), "y", 1.0, 0)


def test_select_prints_integer_tasks_as_written(tmp_path, capsys):
    X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), fmt="%g", delimiter=",",
               header="a,b,school,score", comments="")
    assert main(["select", str(path), "--task-col", "school", "--target", "score",
                 "--ratio", "0.1", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    table = out.split("row 0 = first data row):")[1].split("wrote:")[0].splitlines()[2:]
    assert len(table) == 6
    assert {line.split()[1] for line in table} <= {"0", "1", "2"}  # not "1.0"


def test_select_auto_ratio_follows_the_selector(data_csv, tmp_path, capsys):
    path, X, y = data_csv
    y = y.copy()
    y[::10] += 8 * y.std()  # gross outliers in every tenth row
    write_csv(tmp_path / "outliers.csv", ["x0", "x1", "x2", "school", "score"],
              np.column_stack([X, y]).tolist())
    status, out, err = run_main(capsys, "select", str(tmp_path / "outliers.csv"), "--task-col",
                                "school", "--target", "score", "--no-scale", "--out",
                                str(tmp_path / "out"))
    assert status == 0, err
    selector = MTIFSelector(MultiTaskRidge(), cv=3, random_state=0).fit(X, y)
    assert selector.removal_ratio_ > 0
    assert f"removal ratio {selector.removal_ratio_:.3g} (auto)" in out
    n_kept = len(read_rows(tmp_path / "out" / "kept.csv")) - 1
    assert n_kept == len(selector.sample_indices_)


def test_select_names_the_kind_of_label_noise(data_csv, tmp_path, capsys):
    X, y = make_multitask_classification(n_tasks=3, n_samples=60, n_features=3, random_state=0)
    path = tmp_path / "votes.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,region,vote",
               comments="", fmt="%.17g")
    common = ("--task-col", "region", "--target", "vote", "--model", "logistic", "--no-scale")
    # auto finds noise alike on these data; the named kind overrides it
    status, out, err = run_main(capsys, "select", str(path), *common, "--ratio", "0.1",
                                "--noise-kind", "class-conditional", "--out", str(tmp_path / "cc"))
    assert status == 0, err
    assert "kind of noise: class-conditional." in " ".join(out.split())
    selector = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, noise_kind="class-conditional",
                            cv=3, random_state=0).fit(X, y)
    found = MTIFSelector(MultiTaskLogistic(), removal_ratio=0.1, cv=3, random_state=0).fit(X, y)
    assert found.label_noise_.noise_kind == "alike"
    assert set(found.sample_indices_) != set(selector.sample_indices_)
    kept = read_rows(tmp_path / "cc" / "kept.csv")[1:]
    assert len(kept) == len(selector.sample_indices_)
    np.testing.assert_allclose(np.array(kept, dtype=float), np.column_stack([X, y])[
        selector.sample_indices_])
    # the kind of noise belongs to classes and to the label-noise ranking
    path, _, _ = data_csv
    status, out, err = run_main(capsys, "select", path, "--task-col", "school", "--target",
                                "score", "--noise-kind", "alike", "--out", str(tmp_path / "r"))
    assert status == 1 and not (tmp_path / "r").exists()
    assert "--noise-kind alike applies to classes, but --target score is read as " \
        "measurements" in " ".join(err.split())
    status, out, err = run_main(capsys, "select", path, "--task-col", "school", "--target",
                                "score", "--strategy", "influence", "--ratio", "0.1",
                                "--noise-kind", "class-conditional", "--out", str(tmp_path / "i"))
    assert status == 1 and "--strategy influence ranks rows without a noise model" in \
        " ".join(err.split())


def test_select_trusts_a_file_of_clean_rows(tmp_path, capsys):
    # weak features, 30 % of the positives recorded as negatives, a clean fifth set aside
    # (seed 2: one where the removal beats keeping every row clearly enough to be made)
    X, y = make_multitask_classification(n_tasks=4, n_samples=250, n_features=5, random_state=2)
    rng = np.random.default_rng(2)
    X[:, :-1] += rng.normal(scale=2.5, size=X[:, :-1].shape)
    X, X_clean, y, y_clean = task_train_test_split(X, y, test_size=0.2, random_state=2)
    noisy = np.where((y == 1) & (rng.random(len(y)) < 0.3), 0, y)
    names = ["a", "b", "c", "d", "e", "site", "label"]
    write_csv(tmp_path / "noisy.csv", names, np.column_stack([X, noisy]).tolist())
    # the trusted file's columns in another order: read by name
    write_csv(tmp_path / "clean.csv", ["b", "a", "c", "d", "e", "site", "label"],
              np.column_stack([X_clean[:, [1, 0, 2, 3, 4, 5]], y_clean]).tolist())
    common = ("select", str(tmp_path / "noisy.csv"), "--task-col", "site", "--target", "label")
    status, out, err = run_main(capsys, *common, "--trusted", str(tmp_path / "clean.csv"),
                                "--out", str(tmp_path / "out"))
    assert status == 0, err
    out = " ".join(out.split())
    assert "kind of noise: class-conditional." in out
    score = re.search(r"held-out accuracy on the trusted rows \(3 task-stratified folds of the "
                      r"200; in each the selector learnt from the other folds and chose the share "
                      r"on them, mean \+/- std\): all rows (0\.\d{4}) \+/- 0\.\d{4}; with its "
                      r"removal (0\.\d{4}) \+/- 0\.\d{4}\.", out)
    assert score, out
    # the selector with the trusted rows as validation data, features scaled alike
    mean, std = X[:, :-1].mean(axis=0), X[:, :-1].std(axis=0)

    def scaled(A):
        return np.column_stack([(A[:, :-1] - mean) / std, A[:, -1]])
    selector = MTIFSelector(MultiTaskLogistic(), strategy="label-noise", cv=3, random_state=0)
    selector.fit(scaled(X), noisy, X_val=scaled(X_clean), y_val=y_clean)
    assert selector.removal_ratio_ > 0
    kept = read_rows(tmp_path / "out" / "kept.csv")[1:]
    np.testing.assert_allclose(np.array(kept, dtype=float),
                               np.column_stack([X, noisy])[selector.sample_indices_])
    # the held-out score: each fold of the trusted rows scores the removal the
    # selector chose while learning from the other folds only
    def accuracy(rows, test):
        mean, std = X[rows, :-1].mean(axis=0), X[rows, :-1].std(axis=0)
        fitted = MultiTaskLogistic().fit(np.column_stack([(X[rows, :-1] - mean) / std,
                                                          X[rows, -1]]), noisy[rows])
        return fitted.score(np.column_stack([(X_clean[test, :-1] - mean) / std,
                                             X_clean[test, -1]]), y_clean[test])
    plain, selected = [], []
    folds = TaskStratifiedKFold(3, shuffle=True, random_state=0).split(X_clean, y_clean)
    for train, test in folds:
        inner = clone(selector).fit(scaled(X), noisy, X_val=scaled(X_clean[train]),
                                    y_val=y_clean[train])
        plain.append(accuracy(np.arange(len(noisy)), test))
        selected.append(accuracy(inner.sample_indices_, test))
    assert score.groups() == (f"{np.mean(plain):.4f}", f"{np.mean(selected):.4f}")
    # without the trusted rows the noise reads as alike and every row is kept
    status, out, err = run_main(capsys, *common, "--out", str(tmp_path / "alone"))
    assert status == 0 and "kind of noise: alike" in " ".join(out.split())
    # --ratio auto with --strategy influence: the share chosen on the trusted rows
    status, out, err = run_main(capsys, *common, "--trusted", str(tmp_path / "clean.csv"),
                                "--strategy", "influence", "--out", str(tmp_path / "influence"))
    assert status == 0, err


@pytest.mark.parametrize("names, target, extra, match", [
    (["a", "b", "c", "d", "x", "site", "label"], None, (),
     "has the feature columns a, b, c, d, x, but .* has a, b, c, d, e"),
    (["a", "b", "c", "d", "e", "site", "label"], 7, (), "has target values 7 that"),
    (["a", "b", "c", "d", "e", "site", "label"], None, ("--model", "net"),
     "--trusted works with the linear models"),
])
def test_select_trusted_file_errors(tmp_path, capsys, names, target, extra, match):
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=5, random_state=0)
    write_csv(tmp_path / "data.csv", ["a", "b", "c", "d", "e", "site", "label"],
              np.column_stack([X, y]).tolist())
    write_csv(tmp_path / "clean.csv", names,
              np.column_stack([X[:20], y[:20] if target is None else np.full(20, target)]).tolist())
    status, out, err = run_main(capsys, "select", str(tmp_path / "data.csv"), "--task-col", "site",
                                "--target", "label", "--trusted", str(tmp_path / "clean.csv"),
                                *extra, "--out", str(tmp_path / "out"))
    assert status == 1 and re.search(match, " ".join(err.split())), err
    assert not (tmp_path / "out").exists()


def test_select_trusted_rows_too_few_to_hold_out(tmp_path, capsys):
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=2, random_state=0)
    names = ["a", "b", "site", "label"]
    write_csv(tmp_path / "data.csv", names, np.column_stack([X, y]).tolist())
    one_per_task = [np.flatnonzero(X[:, -1] == t)[0] for t in range(3)]
    write_csv(tmp_path / "clean.csv", names, np.column_stack([X, y])[one_per_task].tolist())
    status, out, err = run_main(capsys, "select", str(tmp_path / "data.csv"), "--task-col", "site",
                                "--target", "label", "--trusted", str(tmp_path / "clean.csv"),
                                "--out", str(tmp_path / "out"))
    assert status == 1 and "splits the --trusted rows into --cv 3 folds" in " ".join(err.split())
    assert not (tmp_path / "out").exists()


def test_select_never_writes_over_the_trusted_file(tmp_path, capsys):
    X, y = make_multitask_classification(n_tasks=3, n_samples=30, n_features=2, random_state=0)
    names = ["a", "b", "site", "label"]
    write_csv(tmp_path / "data.csv", names, np.column_stack([X, y]).tolist())
    write_csv(tmp_path / "kept.csv", names, np.column_stack([X[:20], y[:20]]).tolist())
    before = (tmp_path / "kept.csv").read_text()
    status, out, err = run_main(capsys, "select", str(tmp_path / "data.csv"), "--task-col", "site",
                                "--target", "label", "--trusted", str(tmp_path / "kept.csv"),
                                "--out", str(tmp_path))
    assert status == 1 and "would write kept.csv over the input file" in " ".join(err.split())
    assert (tmp_path / "kept.csv").read_text() == before


def test_select_speaks_in_options_not_parameters(data_csv, tmp_path, capsys):
    path, X, y = data_csv  # clean data: auto keeps every row and says how to remove some
    common = ("--task-col", "school", "--target", "score")
    status, out, err = run_main(capsys, "select", path, *common, "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "note: --ratio auto keeps every row" in out and "Pass a number as --ratio" in out
    assert "removal_ratio" not in out + err
    status, out, err = run_main(capsys, "select", path, *common, "--strategy", "influence",
                                "--out", str(tmp_path / "influence"))
    assert status == 1 and not (tmp_path / "influence").exists()
    assert "--ratio auto needs --strategy label-noise" in err and "removal_ratio" not in err


def test_demo_runs_on_bundled_har(capsys):
    status, out, err = run_main(capsys, "demo", "--top", "3")
    assert status == 0, err
    assert "MultiTaskLogistic on 8328 training rows, 2083 validation rows, 30 tasks." in out
    assert "held-out accuracy: 0.9" in out
    assert "task relatedness by a Newton step without each task" in out
    assert "(--method newton" in out
    assert "strongest 3 of 870 transfers between tasks" in out
    assert "3 most harmful training rows" in out


def test_bad_input_exits_nonzero_with_message(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,t,y\n1,x,1,2\n2,3,1,4\n")
    status, out, err = run_main(capsys, "relatedness", str(path), "--task-col", "t",
                                "--target", "y")
    assert status == 1
    assert out == ""
    assert err.strip() == (
        "skmtl relatedness: error: feature column 'b' is not numeric: line 2 holds 'x'. "
        "Encode it as numbers, or leave it out with --features."
    )


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("", [], "is empty: it needs a header line"),
        ("a,t,y\n", [], "has a header but no data rows"),
        ("a,t,y\n1,1,2\n", ["--task-col", "task"], "column 'task' (--task-col) is not in"),
        ("a,t,y\n1,1,2\n", ["--target", "score"], "column 'score' (--target) is not in"),
        ("a,t,y\n1,1,2\n", ["--features", "a,z"], "--features names columns not in"),
        ("a,t,y\n1,1,2\n", ["--features", "a,t"], "--features names 't', the --task-col column"),
        ("a,t,y\n1,1,2\n", ["--features", "t,y"], "names 't', 'y', the --task-col and --target"),
        ("a,t,y\n1,1,2\n,1,3\n", [], "missing values in 'a': 1 read as missing from empty (line 3)"),
        ("a,t,y\n1,1,2\n2,,3\n", [], "missing values in 't': 1 read as missing from empty (line 3)"),
        ("a,t,y\n1,1,2\n2,1\n", [], "line 3 of"),
        ("a,t,y\n1,1,2\n2,1,inf\n", [], "target 'y' holds 'inf' on line 3; values must be finite"),
        ("a,t,y\n1,1,2\n2,1,\n", [],
         "in 'y': 1 read as missing from empty (line 3); fill them in, or pass --dropna"),
        ("a,t,y\n1,1,yes\n2,1,no\n", ["--model", "ridge"], "--model ridge needs a numeric target"),
        ("a,t,y\n1,1,0.5\n2,1,1.5\n", ["--model", "logistic"], "the target 'y' is continuous"),
        ("a,t,a,y\n1,1,2,0.5\n2,2,3,1.5\n", [], "names 'a' more than once"),
        ("a,t,y\n1,1,yes\n2,2,yes\n", [], "the target 'y' holds one value ('yes') in every row"),
        # plain numbers, not numpy's repr (np.int64(5))
        ("a,t,y\n1,1,5.0\n2,2,5.0\n", [], "the target 'y' holds one value (5) in every row"),
        ("a,t,y\n1,1,2.5\n2,2,2.5\n", [], "the target 'y' holds one value (2.5) in every row"),
        # a spreadsheet's export with semicolons (and decimal commas)
        ("a;t;y\n1,5;1;2\n2;1;3\n", [], "one column, 'a;t;y', with ';' between the names"),
        # Excel's default 'CSV' encoding
        ("a,t,y\n1,Z\xfcrich,2\n".encode("cp1252"), [], "it is not UTF-8 text"),
        # a feature named as the task column: a task per row
        ("a,t,y\n" + "".join(f"{i / 7:.3f},{i % 2},{i}\n" for i in range(12)), ["--task-col", "a"],
         "--task-col a holds a different value on each of the 12 rows"),
    ],
)
def test_bad_input_messages(tmp_path, capsys, content, args, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    options = {"--task-col": "t", "--target": "y"}
    for flag, value in zip(args[::2], args[1::2]):
        options[flag] = value
    argv = ["relatedness", str(path), "--out", str(tmp_path / "out")]
    argv += [item for pair in options.items() for item in pair]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("skmtl relatedness: error: ")
    assert message in captured.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scale", [[], ["--no-scale"]])
@pytest.mark.parametrize("column, factor, message", [
    ("big", 1e200, "feature column 'big' has values up to 2.2e+200"),
    # squares overflow in the scaler's variance only: the scaled column named no column
    ("big", 1e160, "feature column 'big' has values up to 2.2e+160"),
    ("y", 1e200, "target 'y' has values up to 2.2e+200"),
    ("big", 1e-200, "feature column 'big' has values up to 2.2e-200"),
    ("y", 1e-200, "target 'y' has values up to 2.2e-200"),
])
def test_values_too_large_or_small_to_square_name_the_column(tmp_path, capsys, scale, column, factor,
                                                      message):
    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=1, random_state=0)
    columns = {"a": X[:, 0], "t": X[:, -1], "y": y}
    columns[column] = np.linspace(-2.2, 2.2, len(y)) * factor
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack(list(columns.values())), delimiter=",", fmt="%.17g",
               header=",".join(columns), comments="")
    status, out, err = run_main(capsys, "relatedness", str(path), "--task-col", "t",
                                "--target", "y", "--out", str(tmp_path / "out"), *scale)
    fix = "leave it out with --features" if column == "big" else "choose another --target"
    assert status == 1
    [line] = err.splitlines()  # one line: no overflow warning, no hint to --help
    assert line.startswith(f"skmtl relatedness: error: {message}; skmtl squares its inputs")
    assert line.endswith(f"Rescale it: change its unit in the file (scale it by a power of ten), "
                         f"or {fix}.")
    assert not (tmp_path / "out").exists()


def test_task_labels_written_differently_stay_different_tasks():
    from skmtl.cli._io import _labels

    assert _labels(["1", "2", "10"]).tolist() == [1, 2, 10]
    assert _labels(["01", "1", "1_0", "10"]).tolist() == ["01", "1", "1_0", "10"]


def test_warnings_are_one_line_without_source_paths(data_csv, tmp_path, capsys, monkeypatch):
    import skmtl.cli

    def warn_then_report(X, y, rows, **kwargs):
        for _ in range(3):  # as each of several fits would, each in its own warnings context
            with warnings.catch_warnings():
                warnings.warn("training stopped early", UserWarning)

    monkeypatch.setattr(skmtl.cli, "_relatedness_report", warn_then_report)
    path = data_csv[0]
    assert main(["relatedness", path, "--task-col", "school", "--target", "score", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == "skmtl relatedness: warning: training stopped early\n"


def test_missing_file(tmp_path, capsys):
    assert main(["select", str(tmp_path / "nope.csv"), "--task-col", "t", "--target", "y"]) == 1
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["relatedness", "select"])
def test_output_folder_that_cannot_be_made(data_csv, tmp_path, capsys, command):
    a_file = tmp_path / "taken"
    a_file.write_text("")
    path = data_csv[0]
    assert main([command, path, "--task-col", "school", "--target", "score", "--out", str(a_file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"skmtl {command}: error: cannot create the output folder {a_file}: File exists.")


@pytest.mark.parametrize(
    "argv",
    [
        ["select", "x.csv", "--task-col", "t", "--target", "y", "--ratio", "1.5"],
        ["select", "x.csv", "--task-col", "t", "--target", "y", "--ratio", "most"],
        ["relatedness", "x.csv", "--task-col", "t", "--target", "y", "--val-fraction", "1"],
        ["relatedness", "x.csv", "--target", "y"],
        ["relatedness", "x.csv", "--task-col", "t", "--target", "y", "--alpha", "0"],
        ["frobnicate"],
    ],
)
def test_bad_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: skmtl" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command, options",
    [
        ("relatedness", ["--task-col", "--target", "--features", "--model", "--dropna",
                         "--impute", "--alpha", "--no-scale", "--random-state", "--top", "--verbose",
                         "--method", "--val-fraction", "--out"]),
        ("select", ["--task-col", "--target", "--features", "--model", "--dropna", "--impute", "--alpha",
                    "--no-scale", "--random-state", "--top", "--ratio", "--cv", "--n-jobs",
                    "--out", "--verbose"]),
        ("demo", ["--alpha", "--val-fraction", "--random-state", "--top", "--method",
                  "--verbose", "--out"]),
    ],
)
def test_help_explains_every_option(command, options, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out
    # each option's entry: its line plus the indented lines after it
    entries = []  # (option strings, words)
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.startswith("-"):
            entries.append((stripped.replace(",", " ").split(), stripped.split()))
        elif entries and line.startswith("    ") and stripped:
            entries[-1][1].extend(stripped.split())
    for option in options:
        words = next(words for names, words in entries if option in names)
        # the option, its metavar, and at least three words saying what it does
        assert len(words) >= 5, words


def test_console_script_entry_point():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    scripts = config["options.entry_points"]["console_scripts"].strip().splitlines()
    target = dict(s.replace(" ", "").split("=") for s in scripts)["skmtl"]
    module, func = target.split(":")
    assert getattr(import_module(module), func) is main


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def grouped_rows(n_rows, n_tasks, seed=0, target=None):
    """Rows (a, b, task, y) of a linear target; ``target(y)`` rewrites y."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 2))
    task = np.arange(n_rows) % n_tasks
    y = 2 * X[:, 0] - X[:, 1] + 0.3 * task / n_tasks + 0.3 * rng.normal(size=n_rows)
    y = y if target is None else target(y)
    return [[repr(float(a)), repr(float(b)), f"subject_{t:03d}", v]
            for (a, b), t, v in zip(X, task, y)]


# -- item 6: never over the input, atomic writes --------------------------------
@pytest.mark.parametrize("command, name", [("select", "kept.csv"),
                                           ("relatedness", "influence.csv")])
def test_outputs_never_replace_the_input(tmp_path, capsys, command, name):
    path = write_csv(tmp_path / name, ["a", "b", "task", "y"], grouped_rows(30, 3))
    before = (tmp_path / name).read_bytes()
    status, out, err = run_main(capsys, command, path, "--task-col", "task", "--target", "y",
                                "--ratio" if command == "select" else "--top", "0.1"
                                if command == "select" else "3", "--out", str(tmp_path))
    assert status == 1
    assert err == (f"skmtl {command}: error: --out {tmp_path} would write {name} over the input "
                   f"file {path}; choose another --out folder.\n")
    assert (tmp_path / name).read_bytes() == before
    assert os.listdir(tmp_path) == [name]


def test_an_interrupted_write_leaves_the_old_file(tmp_path):
    from skmtl.cli._io import _write_lines

    path = tmp_path / "kept.csv"
    path.write_text("old\n")

    class Lines:  # fails after the first line, as a full disk would
        def __iter__(self):
            yield "new"
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        _write_lines(str(path), Lines())
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["kept.csv"]  # no temporary file left behind
    _write_lines(str(path), ["a", "b"])
    assert path.read_text() == "a\nb\n"


# -- item 7: integer measurements are a regression ----------------------------------
def test_integer_measurements_are_a_regression(tmp_path, capsys):
    grams = grouped_rows(60, 3, target=lambda y: np.round(3000 + 400 * y).astype(int))
    path = write_csv(tmp_path / "grams.csv", ["a", "b", "task", "grams"], grams)
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "grams", "--out", str(tmp_path / "out"))
    assert status == 0, err
    n_values = len({row[-1] for row in grams})
    assert out.replace("\n  ", " ").startswith(
        "features: every column but --task-col and --target (a, b); choose them with --features.\n"
        f"target 'grams': regression ({n_values} distinct integer values, "
                          "more than 20; --model logistic reads it as classes, --model poisson "
                          "as counts).")
    assert "MultiTaskRidge on 48 training rows" in out
    # a handful of integer codes stay classes, and --model overrides the decision
    codes = write_csv(tmp_path / "codes.csv", ["a", "b", "task", "code"],
                      grouped_rows(60, 3, target=lambda y: (y > 0).astype(int)))
    status, out, err = run_main(capsys, "relatedness", codes, "--task-col", "task", "--target",
                                "code", "--model", "ridge", "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert out.split("\n", 1)[1].startswith("target 'code': regression (--model ridge).\nMultiTaskRidge on")


# -- item 8: missing values -----------------------------------------------------------
def test_missing_values_are_listed_then_dropped_with_dropna(tmp_path, capsys):
    rows = grouped_rows(40, 2)
    rows[4][-1], rows[9][-1], rows[9][0] = "NA", "", "?"
    path = write_csv(tmp_path / "na.csv", ["a", "b", "task", "y"], rows)
    argv = ["relatedness", path, "--task-col", "task", "--target", "y", "--val-fraction", "0",
            "--out", str(tmp_path / "out")]
    status, out, err = run_main(capsys, *argv)
    assert status == 1 and out == ""
    assert err == ("skmtl relatedness: error: missing values in 'a': 1 read as missing from '?' "
                   "(line 11); 'y': 2 read as missing from empty, 'NA' (lines 6, 11); fill them in, "
                   "pass --impute to fill those of the features, or pass --dropna to drop 2 rows; if "
                   "such a text is a real value, say which mean missing with --na-values.\n")
    status, out, err = run_main(capsys, *argv, "--dropna")
    assert status == 0, err
    out = out.split("\n", 1)[1].replace("\n  ", " ")  # after the line naming the features
    assert out.startswith("--dropna: dropped 2 rows with missing values (by column: 'a': 1 ('?'), "
                          "'y': 2 (empty, 'NA')); 38 rows left.\ntarget 'y': regression (numbers")
    # the rows keep their numbers in the file
    written = [int(r[0]) for r in read_rows(tmp_path / "out" / "influence.csv")[1:]]
    assert written == [i for i in range(40) if i not in (4, 9)]


def test_impute_fills_features_with_the_data_files_medians_and_most_frequent_values(tmp_path, capsys):
    rows = [[f"{i % 7}", "pq"[i % 3 == 0], f"t{i % 3}", str(i % 2)] for i in range(30)]
    rows[4][0], rows[5][0], rows[8][1] = "NA", "", "?"
    path = write_csv(tmp_path / "data.csv", ["a", "kind", "task", "y"], rows)
    trusted = write_csv(tmp_path / "trusted.csv", ["a", "kind", "task", "y"],
                        [["NA", "NA", f"t{i % 3}", str(i % 2)] for i in range(6)])
    argv = ["select", path, "--task-col", "task", "--target", "y", "--ratio", "0.1",
            "--out", str(tmp_path / "out")]
    status, out, err = run_main(capsys, *argv, "--trusted", trusted)
    assert status == 1
    assert ("in 'a': 2 read as missing from empty, 'NA' (lines 6, 7); 'kind': 1 read as missing "
            "from '?' (line 10); fill them in, pass --impute") in err
    status, out, err = run_main(capsys, *argv, "--trusted", trusted, "--impute")
    assert status == 0, err
    out = out.replace("\n  ", " ")  # the notes' lines joined
    # a's median over the other 28 rows, 'kind' most often 'p': the trusted rows alike
    median = np.median([i % 7 for i in range(30) if i not in (4, 5)])
    assert (f"--impute: filled 3 missing feature values of the 30 rows (by column: 'a': 2 (empty, "
            f"'NA') with the median {median:.4g}; 'kind': 1 ('?') with the most frequent value 'p').") in out
    assert (f"--impute: filled 12 missing feature values of the 6 --trusted rows (by column: 'a': "
            f"6 ('NA') with the data file's value {median:.4g}; 'kind': 6 ('NA') with the data file's "
            "value 'p').") in out
    from skmtl.cli._io import _read_csv

    data = _read_csv(path, "task", "y", impute=True)
    assert data["X"][4, 0] == data["X"][5, 0] == median and data["X"][8, 1:3].tolist() == [1, 0]
    again = _read_csv(trusted, "task", "y", impute=True, fills=data["fills"],
                      categories=data["categories"])
    assert (again["X"][:, 0] == median).all() and (again["X"][:, 1:3] == [1, 0]).all()
    with open(path) as fh:  # the input as it was
        assert fh.read().splitlines()[5].startswith("NA,")
    rows[0][-1] = "NA"  # a missing target still needs --dropna
    write_csv(tmp_path / "data.csv", ["a", "kind", "task", "y"], rows)
    status, out, err = run_main(capsys, *argv, "--impute")
    assert status == 1
    assert "in 'y': 1 read as missing from 'NA' (line 2); fill them in, or pass --dropna to drop 1 row" in err


def test_a_score_below_the_most_frequent_class_says_what_to_try(tmp_path, capsys):
    # the task is the signal: 300 rows of task 'a' mostly 1, five tasks of 20 rows mostly 0;
    # at alpha=1 the shrunk intercepts nearly meet, and most rows of 'a' are called 0
    rng = np.random.default_rng(0)
    rows = [[repr(float(rng.normal())), repr(float(rng.normal())), task,
             str(int(rng.uniform() < (0.8 if task == "a" else 0.05)))]
            for task in ["a"] * 300 + [t for t in "bcdef" for _ in range(20)]]
    path = write_csv(tmp_path / "rates.csv", ["u", "v", "task", "y"], rows)
    argv = ["relatedness", path, "--task-col", "task", "--target", "y"]
    status, out, err = run_main(capsys, *argv, "--out", str(tmp_path / "out"))
    assert status == 0, err
    score, constant = map(float, re.search(
        r"held-out accuracy: (\S+) \(the most frequent class of the training rows: (\S+)\), below",
        out).groups())
    assert score < constant
    assert "try --alpha auto, or a smaller --alpha, e.g. 0.01." in out.replace("\n  ", " ")
    for alpha in ("0.001", "auto"):
        status, out, err = run_main(capsys, *argv, "--alpha", alpha, "--out", str(tmp_path / alpha))
        assert status == 0 and float(re.search(r"held-out accuracy: (\S+)", out).group(1)) >= constant
        assert "below a constant" not in out
    # auto: the best of the grid over 5 folds of the training rows, which the model then uses
    chosen = re.search(r"--alpha auto: (\S+), the best mean accuracy over 5 task-stratified folds of "
                       r"the training rows \((.*?)\)\.\n", out.replace("\n  ", " "))
    scores = dict(pair.split(": ") for pair in chosen.group(2).split(", "))
    assert list(scores) == ["0.0001", "0.001", "0.01", "0.1", "1", "10"]
    assert float(scores[chosen.group(1)]) == max(map(float, scores.values())) > float(scores["1"])
    status, out, err = run_main(capsys, *argv, "--alpha", "auto", "--model", "net")
    assert status == 1 and "--alpha auto chooses the linear models' pull" in err


def test_the_default_features_are_named_and_leave_out_a_column_that_numbers_the_rows(tmp_path, capsys):
    rows = [[str(i + 1)] + row for i, row in enumerate(grouped_rows(40, 2))]
    path = write_csv(tmp_path / "r.csv", ["rownames", "a", "b", "task", "y"], rows)
    trusted = write_csv(tmp_path / "t.csv", ["rownames", "a", "b", "task", "y"], rows[::4])
    argv = ["relatedness", path, "--task-col", "task", "--target", "y", "--out", str(tmp_path / "out")]
    status, out, err = run_main(capsys, *argv)
    assert status == 0, err
    assert out.replace("\n  ", " ").startswith(
        "features: every column but --task-col and --target (a, b); left out 'rownames': a column "
        "without a name, or numbering the rows in order, is a row index, not a feature; choose them "
        "with --features.\n")
    status, out, err = run_main(capsys, *argv[:-2], "--features", "rownames,a,b", "--out",
                                str(tmp_path / "out2"))
    assert status == 0 and not out.startswith("features:")  # named: kept
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y",
                                "--ratio", "0.1", "--trusted", trusted, "--out", str(tmp_path / "out3"))
    assert status == 0, err  # the trusted rows leave out the same column, in whatever order
    from skmtl.cli._io import _read_csv

    assert _read_csv(trusted, "task", "y", left_out=["rownames"])["features"] == ["a", "b"]


def test_text_among_numbers_is_never_read_as_labels(tmp_path, capsys):
    rows = grouped_rows(40, 2)
    rows[7][-1] = "12,5"  # a decimal comma among 39 numbers
    path = write_csv(tmp_path / "y.csv", ["a", "b", "task", "y"], rows)
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "y", "--out", str(tmp_path / "out"))
    assert status == 1 and out == ""
    assert err == ("skmtl relatedness: error: target 'y' holds text among its numbers: line 9 "
                   "holds '12,5'. Fix the value, or mark it missing (empty or NA) and pass "
                   "--dropna.\n")


# -- item 9: held-out scores; the network fits a standardized target --------------------
def test_network_fits_a_raw_unit_target_standardized(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    import skmtl.network

    # a shorter training keeps the test fast; the raw-unit fit is worse still then
    quick = functools.partial(skmtl.network.SharedBottomNet, max_epochs=50)
    monkeypatch.setattr(skmtl.network, "SharedBottomNet", quick)
    rows = grouped_rows(60, 2, target=lambda y: np.round(3000 + 400 * y))
    path = write_csv(tmp_path / "grams.csv", ["a", "b", "task", "grams"], rows)
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "grams", "--model", "net", "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "the network fits the standardized target (y - " in out
    assert "task relatedness by first-order influence (--method mtif, the one measure" in out
    # fitted in raw units, the held-out R^2 was -14
    assert float(re.search(r"held-out R\^2: (\S+)", out).group(1)) > 0.5
    # the library's advice to raise max_epochs says where that can be done
    assert "max_epochs" in err and "set them from Python" in err


def test_every_fit_prints_a_held_out_score(tmp_path, capsys):
    path = write_csv(tmp_path / "c.csv", ["a", "b", "task", "y"],
                     grouped_rows(60, 3, target=lambda y: np.where(y > 0, "up", "down")))
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "y", "--out", str(tmp_path / "out"))
    assert status == 0, err
    constant = re.search(r"\nheld-out accuracy: ([01]\.?\d*) \(the most frequent class of the training "
                         r"rows: ([01]\.?\d*)\)\n", out)
    assert constant and float(constant.group(1)) >= float(constant.group(2))
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "y", "--val-fraction", "0", "--out", str(tmp_path / "out"))
    assert re.search(r"\ntraining \(--val-fraction 0\) accuracy: [01]\.?\d* \(the most frequent", out)


# -- item 10: the relatedness measure ---------------------------------------------------
def test_two_tasks_use_the_exact_measure_by_default(tmp_path, capsys):
    rows = grouped_rows(60, 2)
    path = write_csv(tmp_path / "two.csv", ["a", "b", "task", "y"], rows)
    X = np.array([[float(r[0]), float(r[1]), int(r[2][-3:])] for r in rows])
    y = np.array([r[3] for r in rows])
    model = MultiTaskRidge().fit(X, y)

    def matrix(*options):
        out = tmp_path / "out"
        status, text, err = run_main(capsys, "relatedness", path, "--task-col", "task",
                                     "--target", "y", "--val-fraction", "0", "--no-scale",
                                     "--out", str(out), *options)
        assert status == 0, err
        return text, np.array([r[1:] for r in read_rows(out / "relatedness.csv")[1:]], float)

    text, R = matrix()
    assert "task relatedness by exact refit without each task (--method exact, the default" in text
    np.testing.assert_allclose(R, model.task_relatedness(method="exact"), rtol=1e-10)
    text, R = matrix("--method", "mtif")
    assert "task relatedness by first-order influence (--method mtif)." in text
    np.testing.assert_allclose(R, model.task_relatedness(method="mtif"), rtol=1e-10)
    status, _, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target", "y",
                              "--method", "newton", "--out", str(tmp_path / "out"))
    assert status == 1
    assert err == ("skmtl relatedness: error: --method newton is not available for "
                   "MultiTaskRidge; it offers --method mtif or --method exact.\n")


def test_first_order_beyond_the_affordable_size(monkeypatch):
    import skmtl.cli._report
    from skmtl.cli._report import _resolve_method

    X, y = make_multitask_regression(n_tasks=3, n_samples=10, n_features=2, random_state=0)
    model = MultiTaskRidge().fit(X, y)
    assert _resolve_method(None, model, 3)[0] == "exact"
    monkeypatch.setattr(skmtl.cli._report, "_AFFORDABLE_TASKS", 2)
    method, why = _resolve_method(None, model, 3)
    assert method == "mtif" and "beyond 2 tasks" in why and "--method exact" in why


# -- item 11: many tasks ----------------------------------------------------------------
def test_many_tasks_print_readable_lines_by_label(tmp_path, capsys):
    rows = grouped_rows(200, 40) + [["0.5", "0.5", "loner", "1.0"]]  # "loner": one row
    path = write_csv(tmp_path / "many.csv", ["a", "b", "task", "y"], rows)
    out_dir = tmp_path / "out"
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target",
                                "y", "--top", "5", "--out", str(out_dir))
    assert status == 0, err
    assert max(len(line) for line in out.splitlines()) <= 100 + len(str(out_dir))
    pairs = out.split("+ = the source helps):\n")[1].splitlines()[1:6]
    assert all(re.fullmatch(r"  (subject_\d{3}|loner) +subject_\d{3} +[+-]\S+  (helps|hurts)", p)
               for p in pairs), pairs
    assert "nan" not in " ".join(out.lower().split()).replace("nan columns", "")  # lines wrap
    assert "1 task (loner) had no validation rows" in out
    table = read_rows(out_dir / "relatedness.csv")
    assert len(table) == 42 and table[0][1:] == sorted({r[2] for r in rows})


# -- item 12: errors in the user's words ------------------------------------------------
def test_tiny_files_name_the_option_to_change(tmp_path, capsys):
    path = write_csv(tmp_path / "tiny.csv", ["a", "t", "y"], [[1, 1, 2.0], [2, 1, 3.0],
                                                               [3, 2, 1.5]])
    status, _, err = run_main(capsys, "select", path, "--task-col", "t", "--target", "y",
                              "--out", str(tmp_path / "out"))
    assert status == 1
    assert err.startswith("skmtl select: error: --cv 3 splits the rows into 3 folds")
    assert "lower --cv" in err and "n_splits" not in err and len(err.splitlines()) == 1
    alone = write_csv(tmp_path / "alone.csv", ["a", "t", "y"], [[1, 1, 2.0], [2, 2, 3.0], [3, 3, 1.5]])
    status, _, err = run_main(capsys, "relatedness", alone, "--task-col", "t", "--target", "y",
                              "--out", str(tmp_path / "out"))
    assert status == 1
    assert err == ("skmtl relatedness: error: --val-fraction 0.2 can hold out none of the 3 rows: "
                   "only rows of tasks with two or more rows can be held out (a task's only row "
                   "stays in training), and no task has two; add rows, or pass --val-fraction 0.\n")


def test_library_errors_are_two_lines_and_verbose_shows_the_traceback(
        data_csv, tmp_path, capsys, monkeypatch):
    import skmtl.cli

    def fail(*args, **kwargs):  # a data problem found deep in a library
        raise MemoryError("Unable to allocate 2.00 GiB for an array")

    monkeypatch.setattr(skmtl.cli, "_relatedness_report", fail)
    argv = ["relatedness", data_csv[0], "--task-col", "school", "--target", "score",
            "--out", str(tmp_path)]
    status, _, err = run_main(capsys, *argv)
    assert status == 1
    lines = err.splitlines()
    assert lines[0] == "skmtl relatedness: error: Unable to allocate 2.00 GiB for an array"
    assert lines[1] == ("(skmtl relatedness --help lists the options; --verbose shows where "
                        "the error arose)")
    status, _, err = run_main(capsys, *argv, "--verbose")
    assert status == 1
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1] == lines[0]


def test_task_ids_beyond_2_53_stay_apart(tmp_path, capsys):
    ids = [2**60, 2**60 + 1, 2**60 + 2]  # one float64
    rows = [[r[0], ids[i % 3], r[3]] for i, r in enumerate(grouped_rows(30, 3))]
    path = write_csv(tmp_path / "ids.csv", ["a", "t", "y"], rows)
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "t", "--target", "y",
                                "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "on 24 training rows, 6 validation rows, 3 tasks." in out
    assert read_rows(tmp_path / "out" / "relatedness.csv")[0][1:] == [str(i) for i in ids]


def test_relatedness_pairs_without_effect_are_not_called_harmful():
    from skmtl.cli._report import _format_relatedness

    R = np.array([[0.0, 0.0, 0.5], [-0.2, 0.0, 0.0], [0.0, 0.0, 0.0]])
    lines = _format_relatedness(R, ["a", "b", "c"], top=6)
    text = "\n".join(lines) if isinstance(lines, list) else lines
    assert "+0.5  helps" in text and "-0.2  hurts" in text
    assert "no effect" in text and "+0  hurts" not in text


@pytest.mark.parametrize("terminal", [True, False])
def test_select_shows_progress_bars_on_a_terminal(data_csv, tmp_path, capsys, monkeypatch,
                                                   terminal):
    path, _, _ = data_csv
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    status, _, err = run_main(capsys, "select", path, "--task-col", "school", "--target",
                              "score", "--ratio", "0.1", "--out", str(tmp_path))
    assert status == 0, err
    assert ("%|" in err) == terminal  # a tqdm bar: "NN%|####| i/n"


def _labels_csv(tmp_path, X, y):
    """``X`` (5 features and a site) and 0/1 labels ``y`` as a CSV file; its path."""
    path = tmp_path / "labels.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,e,site,label",
               comments="", fmt="%.17g")
    return path


def _select_notes(tmp_path, capsys, X, y, *options):
    """What ``skmtl select`` prints for ``X`` (5 features and a site) and 0/1
    labels ``y``, as one line."""
    path = _labels_csv(tmp_path, X, y)
    status, out, err = run_main(capsys, "select", str(path), "--task-col", "site", "--target",
                                "label", "--model", "logistic", "--out", str(tmp_path / "out"),
                                *options)
    assert status == 0, err
    return " ".join(out.split())


def test_select_says_the_class_balance_a_class_conditional_removal_assumes(tmp_path, capsys):
    # 30 % of the positives read negative on features that tell the classes apart: the
    # removal goes through and its note names the command's options, not parameters
    X, y = make_multitask_classification(n_tasks=4, n_samples=300, n_features=5, random_state=1)
    rng = np.random.default_rng(1)
    y = np.where((y == 1) & (rng.random(len(y)) < 0.3), 0, y)
    out = _select_notes(tmp_path, capsys, X, y)
    assert re.search(r"note: --ratio auto removes the estimated [\d.]+% of corrupted rows as "
                     r"class-conditional noise: .* of class 1 as labelled otherwise", out)
    assert ("If you know the true share of each class, pass it as --class-prior; rows whose "
            "labels you trust decide it: --trusted FILE.") in out
    assert "class_prior" not in out and "X_val" not in out
    # told that the given labels' balance is the true one, it keeps every row
    out = _select_notes(tmp_path, capsys, X, y, "--class-prior",
                        f"0={np.mean(y == 0)},1={np.mean(y == 1)}")
    assert "note: --ratio auto keeps every row: " in out and "further from --class-prior" in out


@pytest.mark.parametrize("prior, message", [
    ("0=0.7,2=0.3", "names the values 0, 2, but --target label holds 0, 1: give the true share "
                    "of each, e.g. --class-prior 0=0.5,1=0.5."),
    ("0=0.7,1=high", "write VALUE=SHARE for each value of --target label"),
    ("0=0.7,1=0.2", "the shares must be at least 0 and sum to 1 (they sum to 0.9)."),
])
def test_select_refuses_a_class_prior_it_cannot_read(tmp_path, capsys, prior, message):
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, n_features=5, random_state=0)
    path = _labels_csv(tmp_path, X, y)
    status, _, err = run_main(capsys, "select", str(path), "--task-col", "site", "--target",
                              "label", "--model", "logistic", "--class-prior", prior)
    assert status != 0 and message in " ".join(err.split())
    status, _, err = run_main(capsys, "select", str(path), "--task-col", "site", "--target",
                              "label", "--model", "logistic", "--class-prior", "0=0.5,1=0.5",
                              "--ratio", "0.1")
    assert status != 0 and "--class-prior judges --ratio auto" in " ".join(err.split())
    status, _, err = run_main(capsys, "select", str(path), "--task-col", "site", "--target",
                              "label", "--model", "logistic", "--class-prior", "0=0.5,1=0.5",
                              "--noise-kind", "alike")
    assert status != 0 and "--noise-kind alike reads no class as hidden" in " ".join(err.split())


def test_select_says_when_the_labels_cannot_tell_which_class_flipped(tmp_path, capsys):
    # features drowned in noise and 30 % of the positives read negative: the noise
    # reads as alike and the note points to the command's option for trusted rows
    X, y = make_multitask_classification(n_tasks=4, n_samples=200, n_features=5, random_state=0)
    rng = np.random.default_rng(0)
    X[:, :-1] += rng.normal(scale=2.5, size=X[:, :-1].shape)
    y = np.where((y == 1) & (rng.random(len(y)) < 0.3), 0, y)
    out = _select_notes(tmp_path, capsys, X, y)
    assert "no better than each task's most frequent label" in out
    assert "Rows whose labels you trust tell which: --trusted FILE." in out
    assert "X_val" not in out


def test_python_dash_m_skmtl_is_the_command():
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "skmtl", "--help"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("usage: skmtl ")


def test_text_features_get_one_column_per_value(tmp_path, capsys):
    from skmtl.cli._io import _read_csv

    rows = [[f"{i / 10:.1f}", "pq"[i % 2] if i % 3 else "r", f"t{i % 3}", str(i % 2)] for i in range(30)]
    path = write_csv(tmp_path / "data.csv", ["a", "kind", "task", "y"], rows)
    data = _read_csv(path, "task", "y")
    assert data["columns"] == ["a", "kind=p", "kind=q", "kind=r"]
    assert data["categories"] == {"kind": ["p", "q", "r"]}
    onehot = np.array([[r[1] == v for v in "pqr"] for r in rows], dtype=float)
    np.testing.assert_array_equal(data["X"][:, 1:4].astype(float), onehot)
    # a second file is encoded like the first: its columns in the same order, a value
    # the first never held all zeros
    other = write_csv(tmp_path / "other.csv", ["task", "kind", "a", "y"],
                      [["t0", "q", "1.0", "1"], ["t1", "s", "2.0", "0"]]
                      + [[f"t{i % 3}", "pqr"[i % 3], f"{i / 4:.2f}", str(i % 2)] for i in range(12)])
    second = _read_csv(other, "task", "y", categories=data["categories"])
    assert second["columns"] == ["kind=p", "kind=q", "kind=r", "a"]
    np.testing.assert_array_equal(second["X"][:2, :3].astype(float), [[0, 1, 0], [0, 0, 0]])
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y",
                                "--ratio", "0.1", "--trusted", other, "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "text feature columns, one 0/1 column per value: 'kind' (3 values)." in out


def test_a_text_feature_with_too_many_values_is_refused(tmp_path, capsys):
    rows = [[f"id{i}", f"t{i % 3}", str(i % 2)] for i in range(60)]
    path = write_csv(tmp_path / "data.csv", ["name", "task", "y"], rows)
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y")
    assert status == 1
    assert "feature column 'name' is text with 60 distinct values" in err
    assert "leave it out with --features" in err


def test_a_validation_fraction_that_leaves_one_training_row_per_task_is_refused(tmp_path, capsys):
    path = write_csv(tmp_path / "data.csv", ["a", "b", "task", "y"], grouped_rows(60, 12))
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target", "y",
                                "--val-fraction", "0.85", "--out", str(tmp_path / "out"))
    assert status == 1
    assert "--val-fraction 0.85 leaves one training row in each task" in err


def test_rows_are_scored_in_first_order_beyond_the_affordable_count(data_csv, tmp_path, capsys,
                                                                      monkeypatch):
    import skmtl.cli._report

    monkeypatch.setattr(skmtl.cli._report, "_AFFORDABLE_ROWS", 50)
    path = data_csv[0]
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "school", "--target",
                                "score", "--out", str(tmp_path))
    assert status == 0, err
    assert "task relatedness by exact refit without each task" in out
    assert ("row influence by first-order influence (exact refit without each row up to 50 "
            "training rows):") in " ".join(out.split())


def test_na_values_say_which_cell_texts_mean_missing(tmp_path, capsys):
    # a class named None (as in "injury: None, Minor, Major") is read as missing by default
    rows = grouped_rows(60, 2, target=lambda y: np.where(y > 1, "Major", np.where(y > -1, "Minor", "None")))
    path = write_csv(tmp_path / "sev.csv", ["a", "b", "task", "y"], rows)
    argv = ["relatedness", path, "--task-col", "task", "--target", "y", "--out", str(tmp_path / "out")]
    status, out, err = run_main(capsys, *argv)
    n_none = sum(r[-1] == "None" for r in rows)
    assert status == 1 and f"in 'y': {n_none} read as missing from 'None'" in err
    assert "say which mean missing with --na-values" in err
    status, out, err = run_main(capsys, *argv, "--na-values", "NA,?")
    assert status == 0, err
    assert [r[2] for r in read_rows(tmp_path / "out" / "influence.csv")[1:]].count("None") > 0


def test_an_unnamed_column_is_a_row_index_and_left_out(tmp_path, capsys):
    # what DataFrame.to_csv() writes after a filter or shuffle: an index without a name,
    # not counting the rows in order; and the empty column of a comma closing each line
    rows = grouped_rows(40, 2)
    order = np.random.default_rng(0).permutation(80)[:40]
    path = write_csv(tmp_path / "idx.csv", ["", "a", "b", "task", "y", "Unnamed: 5"],
                     [[str(i)] + row + [""] for i, row in zip(order, rows)])
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target", "y",
                                "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert out.replace("\n  ", " ").startswith(
        "features: every column but --task-col and --target (a, b); left out '', 'Unnamed: 5': a "
        "column without a name, or numbering the rows in order, is a row index, not a feature")


def test_a_named_column_empty_on_every_row_is_named_with_the_fix(tmp_path, capsys):
    path = write_csv(tmp_path / "e.csv", ["a", "b", "task", "y", "notes"],
                     [row + [""] for row in grouped_rows(20, 2)])
    status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target", "y")
    assert status == 1 and "column 'notes' is missing on every row" in err
    assert "leave it out with --features" in err


def test_impute_fills_the_trusted_rows_with_the_data_files_values_where_it_has_no_gaps(tmp_path, capsys):
    rows = [[f"{i % 7}", f"t{i % 3}", str(i % 2)] for i in range(30)]
    path = write_csv(tmp_path / "data.csv", ["a", "task", "y"], rows)
    trusted = write_csv(tmp_path / "trusted.csv", ["a", "task", "y"],
                        [["NA" if i < 3 else "100", f"t{i % 3}", str(i % 2)] for i in range(6)])
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y",
                                "--ratio", "0.1", "--trusted", trusted, "--impute",
                                "--out", str(tmp_path / "out"))
    assert status == 0, err
    median = np.median([i % 7 for i in range(30)])
    assert (f"'a': 3 ('NA') with the data file's value {median:.4g}" in out.replace("\n  ", " "))


def test_a_class_held_out_alone_goes_back_to_the_training_part(tmp_path, capsys):
    rows = grouped_rows(60, 2, target=lambda y: (y > 0).astype(int).astype(str))
    rows[7][-1] = "2"  # one row of a third class
    path = write_csv(tmp_path / "rare.csv", ["a", "b", "task", "y"], rows)
    for seed in range(6):  # some split holds the row out
        status, out, err = run_main(capsys, "relatedness", path, "--task-col", "task", "--target", "y",
                                    "--random-state", str(seed), "--out", str(tmp_path / f"o{seed}"))
        assert status == 0, err
        if "absent from the training part" in err:
            assert "1 row of class 2, held out by --val-fraction" in err.replace("\n  ", " ")
            break
    else:
        pytest.fail("no split held the rare class out")


def test_select_chooses_alpha_on_every_row_and_says_what_that_means(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["a", "b", "task", "y"], grouped_rows(60, 2))
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y",
                                "--alpha", "auto", "--ratio", "0.05", "--out", str(tmp_path / "out"))
    assert status == 0, err
    out = out.replace("\n  ", " ")
    assert "over 5 task-stratified folds of every row (" in out
    assert "they compare the removal fairly, but each alone is a little optimistic." in out


def test_the_librarys_warnings_speak_of_the_commands_options(tmp_path, capsys):
    rows = grouped_rows(60, 2, target=lambda y: (y > 0).astype(int).astype(str))
    path = write_csv(tmp_path / "d.csv", ["a", "b", "task", "y"], rows)
    new_task = [row[:2] + ["subject_new"] + row[3:] for row in rows[:6]]
    trusted = write_csv(tmp_path / "t.csv", ["a", "b", "task", "y"], rows[6:30] + new_task)
    status, out, err = run_main(capsys, "select", path, "--task-col", "task", "--target", "y",
                                "--ratio", "0.1", "--trusted", trusted, "--out", str(tmp_path / "out"))
    assert status == 0, err
    text = (out + err).replace("\n  ", " ")
    assert "6 rows of the --trusted file belong to tasks not seen in fit" in text
    for words in ("X_val", "unknown_task", "sample_weight", "removal_ratio", "tasks of X "):
        assert words not in text
