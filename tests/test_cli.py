"""The ``skmtl`` command line, end to end on temporary CSV files."""

import configparser
import csv
import os
import subprocess
import sys
import warnings
from importlib import import_module

import numpy as np
import pytest

from skmtl import MultiTaskRidge
from skmtl.cli import main
from skmtl.datasets import make_multitask_regression
from skmtl.selection import MTIFSelector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = np.array(["north", "south", "east"], dtype=object)


def run_cli(*args, cwd=None):
    """``python -m skmtl.cli ARGS`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "skmtl.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


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
    np.testing.assert_allclose(influence, model.influence_, rtol=1e-10, atol=1e-14)
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


def test_relatedness_holds_out_a_task_stratified_part(data_csv, tmp_path):
    path, X, _ = data_csv
    res = run_cli("relatedness", path, "--task-col", "school", "--target", "score",
                  "--features", "a,b", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "on 72 training rows, 18 validation rows, 3 tasks" in res.stdout
    rows = read_rows(tmp_path / "influence.csv")[1:]
    train = [int(r[0]) for r in rows]
    assert len(set(train)) == 72
    # 20 % of each task held out: 24 training rows per task
    assert np.unique(X[train, -1], return_counts=True)[1].tolist() == [24, 24, 24]


def test_select_removes_the_selector_rows(data_csv, tmp_path):
    path, X, y = data_csv
    res = run_cli("select", path, "--task-col", "school", "--target", "score",
                  "--ratio", "0.1", "--no-scale", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "removal ratio 0.1: kept 81 rows, removed 9." in res.stdout
    lines = read_rows(path)
    kept, removed = read_rows(tmp_path / "kept.csv"), read_rows(tmp_path / "removed.csv")
    assert kept[0] == lines[0] and removed[0] == lines[0] + ["total_influence"]
    selector = MTIFSelector(MultiTaskRidge(), removal_ratio=0.1, cv=3, random_state=0).fit(X, y)
    assert kept[1:] == [lines[1 + i] for i in selector.sample_indices_]
    # removed lines: verbatim, most harmful first
    total = np.nansum(selector.influence_, axis=1)
    removed_idx = [lines.index(r[:-1]) - 1 for r in removed[1:]]
    assert sorted(removed_idx) == sorted(set(range(90)) - set(selector.sample_indices_))
    np.testing.assert_allclose([float(r[-1]) for r in removed[1:]], total[removed_idx])
    assert np.all(np.diff(total[removed_idx]) >= 0)


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
    assert kept[0] == lines[0] and removed[0] == lines[0] + ",total_influence"
    # the kept lines, byte for byte and in the input's order; the removed ones with a score
    kept, removed = kept[1:-1], [line.rsplit(",", 1)[0] for line in removed[1:-1]]
    assert (len(kept), len(removed)) == (54, 6)
    assert kept == [line for line in lines[1:] if line in kept]
    assert sorted(kept + removed) == sorted(lines[1:])


def test_harmful_rows_show_numeric_targets_compactly():
    from skmtl.cli import _format_harmful_rows

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
    from skmtl.cli import _format_relatedness

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
    from skmtl.cli import _InputError, _make_model, _save_heatmap

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


def test_select_auto_ratio_grid_search(data_csv, tmp_path):
    path, _, _ = data_csv
    res = run_cli("select", path, "--task-col", "school", "--target", "score",
                  "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    table = res.stdout.split("held-out R^2 by removal ratio (mean +/- std over 3 task-stratified "
                             "folds):")[1].splitlines()[1:7]
    ratios = [float(line.split()[0]) for line in table]
    assert ratios == [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
    scores = [float(line.split()[1]) for line in table]
    best = ratios[int(np.argmax(scores))]
    assert table[int(np.argmax(scores))].endswith("<- best")
    n_kept = len(read_rows(tmp_path / "kept.csv")) - 1
    assert n_kept == 90 - int(np.floor(best * 90 + 1e-9))


def test_demo_runs_on_bundled_har():
    res = run_cli("demo", "--top", "3")
    assert res.returncode == 0, res.stderr
    assert "MultiTaskLogistic on 8328 training rows, 2083 validation rows, 30 tasks." in res.stdout
    assert "held-out accuracy: 0.9" in res.stdout
    assert "task relatedness by one Newton step without each task (--method newton" in res.stdout
    assert "strongest 3 of 870 transfers between tasks" in res.stdout
    assert "3 most harmful training rows" in res.stdout


def test_bad_input_exits_nonzero_with_message(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,t,y\n1,x,1,2\n2,3,1,4\n")
    res = run_cli("relatedness", str(path), "--task-col", "t", "--target", "y")
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.strip() == (
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
        ("a,t,y\n1,1,2\n,1,3\n", [], "missing values (empty, NA, NaN, ?) in 'a': 1 (line 3)"),
        ("a,t,y\n1,1,2\n2,,3\n", [], "missing values (empty, NA, NaN, ?) in 't': 1 (line 3)"),
        ("a,t,y\n1,1,2\n2,1\n", [], "line 3 of"),
        ("a,t,y\n1,1,2\n2,1,inf\n", [], "target 'y' holds 'inf' on line 3; values must be finite"),
        ("a,t,y\n1,1,2\n2,1,\n", [], "in 'y': 1 (line 3); fill them in, or pass --dropna"),
        ("a,t,y\n1,1,yes\n2,1,no\n", ["--model", "ridge"], "--model ridge needs a numeric target"),
        ("a,t,y\n1,1,0.5\n2,1,1.5\n", ["--model", "logistic"], "the target 'y' is continuous"),
        ("a,t,a,y\n1,1,2,0.5\n2,2,3,1.5\n", [], "names 'a' more than once"),
    ],
)
def test_bad_input_messages(tmp_path, capsys, content, args, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
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


def test_task_labels_written_differently_stay_different_tasks():
    from skmtl.cli import _labels

    assert _labels(["1", "2", "10"]).tolist() == [1, 2, 10]
    assert _labels(["01", "1", "1_0", "10"]).tolist() == ["01", "1", "1_0", "10"]


def test_warnings_are_one_line_without_source_paths(data_csv, tmp_path, capsys, monkeypatch):
    import skmtl.cli

    def warn_then_report(X, y, rows, **kwargs):
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
                         "--alpha", "--no-scale", "--random-state", "--top", "--verbose",
                         "--method", "--val-fraction", "--out"]),
        ("select", ["--task-col", "--target", "--features", "--model", "--dropna", "--alpha",
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
