"""The ``skmtl`` command line: task relatedness and data selection for a CSV file.

``skmtl relatedness DATA.csv --task-col TASK --target Y`` fits a multitask
model and prints which tasks help or hurt which, and the training rows that
hurt most; ``skmtl select DATA.csv ...`` removes the most harmful rows;
``skmtl demo`` runs the relatedness report on the bundled HAR data. Run
``skmtl COMMAND --help`` for the options. Also runnable as
``python -m skmtl.cli``.
"""

import argparse
import csv
import os
import sys
import warnings

import numpy as np

_TOP_DEFAULT = 10
_RATIO_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


class _InputError(Exception):
    """A problem with the user's input, reported as one line on stderr."""


# ----------------------------------------------------------------------------
# reading the data
# ----------------------------------------------------------------------------
def _parse_numbers(values, name, lines, what):
    """Float array from strings; a _InputError naming the first bad line."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except ValueError:
            if v.strip() == "":
                raise _InputError(
                    f"{what} {name!r} has an empty value on line {lines[i]}; fill in "
                    "or drop missing values first."
                ) from None
            raise _InputError(
                f"{what} {name!r} is not numeric: line {lines[i]} holds {v!r}. "
                "Encode it as numbers, or leave it out with --features."
            ) from None
        if not np.isfinite(out[i]):
            raise _InputError(
                f"{what} {name!r} holds {v!r} on line {lines[i]}; values must be finite."
            )
    return out


def _labels(values):
    """Integer labels where every value is written as one, else the strings
    (so that "01" and "1" stay two tasks)."""
    try:
        ints = np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array(values, dtype=object)
    if any(str(i) != v for i, v in zip(ints, values)):
        return np.array(values, dtype=object)
    return ints


def _read_csv(path, task_col, target, features=None):
    """Read a CSV file with a header into the skmtl layout.

    Returns a dict with ``X`` (features then the task column last), ``y``,
    ``header_text`` and ``texts`` (the header and each data row as written in
    the file, without the line ending).
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            source = fh.readlines()
        reader = csv.reader(source)
        records, start = [], 0  # (last line number, fields, text) of each record
        for row in reader:
            # a quoted field may span lines: a record's text is all the lines it read
            text = "".join(source[start:reader.line_num]).rstrip("\r\n")
            start = reader.line_num
            records.append((reader.line_num, row, text))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _InputError(f"cannot read {path}: {exc}") from None
    _, header, header_text = records.pop(0) if records else (None, None, None)
    records = [r for r in records if any(f.strip() for f in r[1])]
    if not header or not any(h.strip() for h in header):
        raise _InputError(
            f"{path} is empty: it needs a header line with the column names, then "
            "one line per sample."
        )
    if not records:
        raise _InputError(f"{path} has a header but no data rows.")
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise _InputError(
            f"the header of {path} names {', '.join(map(repr, repeated))} more than once; "
            "column names must be unique."
        )
    for line, row, _ in records:
        if len(row) != len(header):
            raise _InputError(
                f"line {line} of {path} has {len(row)} fields but the header has "
                f"{len(header)}."
            )
    for name, option in ((task_col, "--task-col"), (target, "--target")):
        if name not in header:
            raise _InputError(
                f"column {name!r} ({option}) is not in {path}; its columns are: "
                f"{', '.join(header)}."
            )
    if task_col == target:
        raise _InputError("--task-col and --target name the same column.")
    if features is None:
        features = [h for h in header if h not in (task_col, target)]
    else:
        features = [f.strip() for f in features.split(",") if f.strip()]
        unknown = [f for f in features if f not in header]
        if unknown:
            raise _InputError(
                f"--features names columns not in {path}: {', '.join(unknown)}; its "
                f"columns are: {', '.join(header)}."
            )
        if {task_col, target} & set(features):
            raise _InputError("--features must not include the task or target column.")
    lines, rows, texts = zip(*records)
    column = {h: [row[i].strip() for row in rows] for i, h in enumerate(header)}
    feats = np.column_stack(
        [_parse_numbers(column[f], f, lines, "feature column") for f in features]
        or [np.empty((len(rows), 0))]
    )
    empty = [lines[i] for i, v in enumerate(column[task_col]) if v == ""]
    if empty:
        raise _InputError(
            f"task column {task_col!r} is empty on line {empty[0]}; every row needs a task."
        )
    tasks = _labels(column[task_col])
    raw_y = column[target]
    if "" in raw_y:
        raise _InputError(f"target {target!r} is empty on line {lines[raw_y.index('')]}.")
    try:
        [float(v) for v in raw_y]
    except ValueError:  # class labels
        y = np.array(raw_y, dtype=object)
    else:
        y = _parse_numbers(raw_y, target, lines, "target")
        y = y.astype(np.int64) if np.all(y == np.round(y)) else y
    X = np.column_stack([feats.astype(object), tasks]) if tasks.dtype == object else (
        np.column_stack([feats, tasks])
    )
    return {"X": X, "y": y, "header_text": header_text, "texts": texts}


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
def _make_model(kind, y, alpha, random_state):
    """The estimator for ``--model``; "auto" picks by the target."""
    from sklearn.utils.multiclass import type_of_target

    from .linear_model import MultiTaskLogistic, MultiTaskRidge

    continuous = type_of_target(y) == "continuous"
    if kind == "auto":
        kind = "ridge" if continuous else "logistic"
    if kind == "ridge":
        if y.dtype == object:
            raise _InputError(
                "--model ridge needs a numeric target; use --model logistic for labels."
            )
        return MultiTaskRidge(alpha=alpha)
    if kind == "logistic":
        if continuous:
            raise _InputError(
                "--model logistic needs class labels, but the target is continuous; "
                "use --model ridge."
            )
        return MultiTaskLogistic(alpha=alpha)
    try:
        from .network import SharedBottomNet
    except ImportError as exc:
        raise _InputError(
            f"--model net needs skmtl.SharedBottomNet and torch ({exc}); "
            'pip install ".[torch]" from the skmtl repository root.'
        ) from None
    return SharedBottomNet(random_state=random_state)


def _scaler(n_features, scale):
    """Standardize the feature columns, pass the task column (last) through."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    return ColumnTransformer(
        [("features", StandardScaler() if scale else "passthrough", list(range(n_features)))],
        remainder="passthrough",
    )


# ----------------------------------------------------------------------------
# reports
# ----------------------------------------------------------------------------
def _fmt(labels):
    return [str(t) for t in labels]


def _format_relatedness(R, labels, n_pairs=5):
    """A compact text view of a task relatedness matrix.

    Up to 12 tasks: the numbers (scaled by a common power of ten). More: one
    symbol per cell ("++" / "+" help, "." about zero, "-" / "--" hurt,
    relative to the largest off-diagonal entry). "?" marks the columns of
    target tasks without validation rows (NaN). Then the strongest negative
    transfers.
    """
    K = len(labels)
    names = _fmt(labels)
    off = ~np.eye(K, dtype=bool)
    finite_off = np.abs(R[off & np.isfinite(R)])
    scale = finite_off.max() if finite_off.size and finite_off.max() > 0 else 1.0
    width = max(len(n) for n in names)
    missing = "" if np.isfinite(R).all() else ", ? target task without validation rows"
    out = ["task relatedness: row = source task (removed), column = target task, "
           "+ = source helps target"]
    if K <= 12:
        power = int(np.floor(np.log10(scale)))
        cell = max(7, width + 1)
        out.append(f"(values x 1e{power}{missing})")
        out.append(" " * width + "".join(n.rjust(cell) for n in names))
        for name, row in zip(names, R / 10.0**power):
            out.append(name.rjust(width) + "".join(
                ("?" if not np.isfinite(v) else f"{v:.2f}").rjust(cell) for v in row))
    else:
        short = width <= 2
        out.append(f"(++ / + help, . about zero, - / -- hurt{missing}; relative to the "
                   f"largest off-diagonal |value| {scale:.2g})")
        col_names = names if short else [str(i) for i in range(K)]
        out.append(" " * width + " " + "".join(n.rjust(3) for n in col_names))
        for i, name in enumerate(names):
            cells = []
            for v in R[i] / scale:
                if not np.isfinite(v):
                    cells.append("?")
                elif abs(v) < 0.1:
                    cells.append(".")
                else:
                    cells.append(("+" if v > 0 else "-") * (1 if abs(v) < 0.5 else 2))
            label = name if short else f"{i:>{len(str(K))}} {name}"
            out.append(label.rjust(width) + " " + "".join(c.rjust(3) for c in cells))
        if not short:
            out.append("(columns are numbered in the order of the rows)")
    pairs = np.argwhere(off & np.isfinite(R) & (R < 0))
    pairs = pairs[np.argsort(R[pairs[:, 0], pairs[:, 1]])][:n_pairs]
    if len(pairs):
        out.append("strongest negative transfer (removing the source lowers the target's loss):")
        out.extend(f"  {names[k]} -> {names[j]}: {R[k, j]:+.3g}" for k, j in pairs)
    else:
        out.append("no negative transfer between tasks.")
    return "\n".join(out)


def _format_harmful_rows(total, rows, tasks, y, n, own=None):
    """Table of the ``n`` rows with the lowest total influence (and their
    influence on their own task, when given)."""
    order = np.argsort(total, kind="stable")[:n]
    targets = [f"{v:.4g}" for v in y[order]] if y.dtype.kind == "f" else _fmt(y[order])
    head = f"{'row':>7} {'task':>10} {'target':>10} {'total':>11}"
    lines = [f"{len(order)} most harmful training rows (lowest total influence on all tasks; "
             "row 0 = first data row):", head + ("" if own is None else f" {'own task':>11}")]
    for i, target in zip(order, targets):
        line = f"{rows[i]:>7} {str(tasks[i]):>10} {target:>10} {total[i]:>+11.3g}"
        lines.append(line + ("" if own is None else f" {own[i]:>+11.3g}"))
    return "\n".join(lines)


def _make_output_folder(path):
    """Create ``path`` (if given) before any work, so that a bad folder fails fast."""
    if path is None:
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise _InputError(f"cannot create the output folder {path}: {exc.strerror}.") from None


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_lines(path, lines):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in lines)


def _save_heatmap(R, labels, path, title):
    """Write the relatedness heatmap; False (and a note) without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        print("note: matplotlib is not installed, so relatedness.png was not written "
              '(pip install ".[plot]" from the skmtl repository root).', file=sys.stderr)
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import TaskRelatednessDisplay

    size = min(4 + 0.3 * len(labels), 14)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    TaskRelatednessDisplay.from_matrix(R, task_labels=labels, ax=ax)
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


def _relatedness_report(X, y, *, model, val_fraction, scale, random_state, top, out, title):
    """Fit, print the relatedness matrix and the harmful rows, write the files."""
    from sklearn.base import clone
    from sklearn.utils import check_random_state

    from .model_selection import _holdout_mask, _strata
    from .utils._tasks import encode_tasks

    n_features = X.shape[1] - 1
    if val_fraction > 0:
        # the split of task_train_test_split, as row numbers
        task, cls = _strata(X, y, -1)
        held_out = _holdout_mask(task, cls, val_fraction, check_random_state(random_state))
        train, val = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    else:
        train = val = np.arange(len(y))
        print("note: --val-fraction 0 measures influence on the training rows themselves; "
              "a mislabelled row then looks helpful.", file=sys.stderr)
    prep = _scaler(n_features, scale).fit(X[train])
    X_train, X_val = prep.transform(X[train]), prep.transform(X[val])
    model = clone(model).fit(X_train, y[train], X_val=X_val, y_val=y[val])
    labels = model.tasks_
    R = model.task_relatedness_
    influence = model.influence_
    total = np.nansum(influence, axis=1)
    own_col = encode_tasks(X[train, -1], labels)
    own = influence[np.arange(len(train)), own_col]

    print(f"{type(model).__name__} on {len(train)} training rows, {len(val)} validation "
          f"rows, {len(labels)} tasks.")
    print(_format_relatedness(R, labels))
    print()
    print(_format_harmful_rows(total, train, labels[own_col], y[train], top, own=own))
    if out is None:
        return
    names = _fmt(labels)
    _write_csv(os.path.join(out, "relatedness.csv"), ["source \\ target"] + names,
               [[n] + [repr(float(v)) for v in row] for n, row in zip(names, R)])
    _write_csv(
        os.path.join(out, "influence.csv"),
        ["row", "task", "target", "total_influence"] + [f"influence_{n}" for n in names],
        [[r, t, v, repr(float(s))] + [repr(float(x)) for x in inf] for r, t, v, s, inf in
         zip(train, labels[own_col], y[train], total, influence)],
    )
    written = ["relatedness.csv", "influence.csv"]
    if _save_heatmap(R, labels, os.path.join(out, "relatedness.png"), title):
        written.append("relatedness.png")
    print(f"\nwrote {', '.join(written)} to {out}")


def _select_rows(X, y, *, model, ratio, scale, cv, random_state, n_jobs, verbose):
    """Return (removal ratio, kept indices, total influence) of the selection."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from .model_selection import TaskStratifiedKFold
    from .selection import MTIFSelector

    pipe = make_pipeline(
        _scaler(X.shape[1] - 1, scale),
        MTIFSelector(model, random_state=random_state, n_jobs=n_jobs, verbose=verbose),
        model,
    )
    if ratio == "auto":
        search = GridSearchCV(
            pipe, {"mtifselector__removal_ratio": list(_RATIO_GRID)},
            cv=TaskStratifiedKFold(cv, shuffle=True, random_state=random_state),
            n_jobs=n_jobs,
        ).fit(X, y)
        res = search.cv_results_
        print(f"removal ratio chosen by {cv}-fold GridSearchCV (mean validation score):")
        for r, m, s in zip(_RATIO_GRID, res["mean_test_score"], res["std_test_score"]):
            mark = "  <- best" if r == search.best_params_["mtifselector__removal_ratio"] else ""
            print(f"  {r:5.2f}  {m:.4f} +/- {s:.4f}{mark}")
        pipe = search.best_estimator_
    else:
        pipe.set_params(mtifselector__removal_ratio=ratio).fit(X, y)
    selector = pipe.named_steps["mtifselector"]
    return selector.removal_ratio, selector.sample_indices_, selector.scores_


# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------
def _cmd_relatedness(args):
    data = _read_csv(args.data, args.task_col, args.target, args.features)
    model = _make_model(args.model, data["y"], args.alpha, args.random_state)
    _make_output_folder(args.out)
    _relatedness_report(
        data["X"], data["y"], model=model, val_fraction=args.val_fraction,
        scale=not args.no_scale, random_state=args.random_state, top=args.top, out=args.out,
        title=f"{os.path.basename(args.data)}: {args.target} by {args.task_col}",
    )


def _cmd_select(args):
    from .utils._tasks import normalize_task_labels

    data = _read_csv(args.data, args.task_col, args.target, args.features)
    X, y = data["X"], data["y"]
    model = _make_model(args.model, y, args.alpha, args.random_state)
    _make_output_folder(args.out)
    ratio, kept, total = _select_rows(
        X, y, model=model, ratio=args.ratio, scale=not args.no_scale, cv=args.cv,
        random_state=args.random_state, n_jobs=args.n_jobs, verbose=args.verbose,
    )
    removed = np.setdiff1d(np.arange(len(y)), kept)
    removed = removed[np.argsort(total[removed], kind="stable")]
    print(f"removal ratio {ratio:g}: kept {len(kept)} rows, removed {len(removed)}.")
    if len(removed):
        print(_format_harmful_rows(total[removed], removed,
                                   normalize_task_labels(X[removed, -1]), y[removed], args.top))
    header, texts = data["header_text"], data["texts"]
    _write_lines(os.path.join(args.out, "kept.csv"), [header] + [texts[i] for i in kept])
    _write_lines(os.path.join(args.out, "removed.csv"), [header + ",total_influence"]
                 + [f"{texts[i]},{float(total[i])!r}" for i in removed])
    print(f"wrote kept.csv, removed.csv to {args.out}")


def _cmd_demo(args):
    from .datasets import load_har
    from .linear_model import MultiTaskLogistic

    _make_output_folder(args.out)
    X, y = load_har(return_X_y=True)
    print("HAR: 30 volunteers as 30 tasks, target 'sitting' vs the five other activities "
          "(10,411 windows, 69 features; skmtl.datasets.load_har).")
    _relatedness_report(
        X, y, model=MultiTaskLogistic(alpha=args.alpha), val_fraction=args.val_fraction,
        scale=True, random_state=args.random_state, top=args.top, out=args.out,
        title="HAR: sitting, 30 subjects as tasks",
    )


def _ratio(text):
    """'auto' or a removal ratio in [0, 1)."""
    return text if text == "auto" else _unit_interval(text, "the ratio", "'auto' or a number in [0, 1)")


def _fraction(text):
    return _unit_interval(text, "the fraction", "a number in [0, 1)")


def _unit_interval(text, what, expected):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{what} must be in [0, 1), got {value}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _build_parser():
    """The argument parser of the ``skmtl`` command."""
    parser = argparse.ArgumentParser(
        prog="skmtl",
        description="Multitask influence (MTIF) from the command line: which tasks and which "
        "training rows help or hurt which tasks, for a CSV file with one row per sample "
        "and a column naming each row's task.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_options(p):
        p.add_argument("data", metavar="DATA.csv",
                       help="CSV file with a header line; one row per sample.")
        p.add_argument("--task-col", required=True, metavar="TASK",
                       help="name of the column holding each row's task label.")
        p.add_argument("--target", required=True, metavar="Y",
                       help="name of the column to predict.")
        p.add_argument("--features", metavar="A,B,...",
                       help="comma-separated feature columns (default: every other column; "
                       "all must be numeric).")
        p.add_argument("--model", choices=("auto", "ridge", "logistic", "net"), default="auto",
                       help="multitask model: MultiTaskRidge (regression), MultiTaskLogistic "
                       "(classification), SharedBottomNet (needs torch); auto (default) picks "
                       "ridge for a continuous target, logistic otherwise.")
        p.add_argument("--alpha", type=_positive_float, default=1.0,
                       help="strength of the pull of each task toward the shared coefficients "
                       "(linear models; default 1.0).")
        p.add_argument("--no-scale", action="store_true",
                       help="do not standardize the features (default: standardize).")
        p.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the random splits (default 0).")
        p.add_argument("--top", type=_positive_int, default=_TOP_DEFAULT, metavar="N",
                       help=f"how many harmful rows to print (default {_TOP_DEFAULT}).")

    rel = sub.add_parser(
        "relatedness", help="print the task relatedness matrix and the most harmful rows",
        description="Fit a multitask model on a task-stratified training part, measure on the "
        "held-out part how removing each task (relatedness) and each training row "
        "(influence) would change every task's loss, print both, and write "
        "relatedness.csv, influence.csv and relatedness.png to --out.",
    )
    data_options(rel)
    rel.add_argument("--val-fraction", type=_fraction, default=0.2,
                     help="share of each task's rows held out to measure losses on "
                     "(default 0.2; 0 measures on the training rows).")
    rel.add_argument("--out", default=".", metavar="DIR",
                     help="folder for the output files (default: current folder).")
    rel.set_defaults(func=_cmd_relatedness)

    sel = sub.add_parser(
        "select", help="remove the most harmful training rows (MTIFSelector)",
        description="Rank rows by their total influence on all tasks (cross-fitted, so every "
        "row is scored on rows its model did not see), remove the most harmful share, and "
        "write kept.csv (the input's kept lines) and removed.csv (the removed lines, most "
        "harmful first, with their total influence) to --out.",
    )
    data_options(sel)
    sel.add_argument("--ratio", type=_ratio, default="auto", metavar="auto|R",
                     help="share of rows to remove, in [0, 1), or 'auto' (default): "
                     f"GridSearchCV over {', '.join(f'{r:g}' for r in _RATIO_GRID)} with "
                     "task-stratified folds.")
    sel.add_argument("--cv", type=_positive_int, default=3, metavar="K",
                     help="folds of the grid search for --ratio auto (default 3).")
    sel.add_argument("--n-jobs", type=int, default=None, metavar="N",
                     help="parallel jobs (joblib) for the grid search and cross-fitting.")
    sel.add_argument("--out", default=".", metavar="DIR",
                     help="folder for kept.csv and removed.csv (default: current folder).")
    sel.add_argument("-v", "--verbose", action="count", default=0,
                     help="show progress bars.")
    sel.set_defaults(func=_cmd_select)

    demo = sub.add_parser(
        "demo", help="run the relatedness report on the bundled HAR data",
        description="Task relatedness of 30 volunteers (tasks) in the Human Activity "
        "Recognition data shipped with skmtl: sitting vs the other activities, "
        "MultiTaskLogistic, 20% of each task held out.",
    )
    demo.add_argument("--alpha", type=_positive_float, default=1.0,
                      help="strength of the pull toward the shared coefficients (default 1.0).")
    demo.add_argument("--val-fraction", type=_fraction, default=0.2,
                      help="share of each task's rows held out (default 0.2).")
    demo.add_argument("--random-state", type=int, default=0, metavar="SEED",
                      help="seed of the split (default 0).")
    demo.add_argument("--top", type=_positive_int, default=_TOP_DEFAULT, metavar="N",
                      help=f"how many harmful rows to print (default {_TOP_DEFAULT}).")
    demo.add_argument("--out", metavar="DIR",
                      help="also write relatedness.csv, influence.csv, relatedness.png here.")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None):
    """Run the ``skmtl`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``skmtl``; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success, 1 for bad input (the reason printed on stderr), 2 for
        bad options (argparse's usage error).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skmtl.cli import main
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, n_features=2, random_state=0)
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "data.csv")
    >>> np.savetxt(path, np.column_stack([X, y]), fmt="%g", delimiter=",",
    ...            header="a,b,school,score", comments="")
    >>> main(["relatedness", path, "--task-col", "school", "--target", "score",
    ...       "--out", folder, "--top", "2"])  # doctest: +ELLIPSIS
    MultiTaskRidge on 48 training rows, 12 validation rows, 3 tasks.
    task relatedness: row = source task (removed), column = target task, + = source helps target
    ...
    2 most harmful training rows (lowest total influence on all tasks; row 0 = first data row):
    ...
    wrote relatedness.csv, influence.csv, relatedness.png to ...
    0
    >>> sorted(os.listdir(folder))
    ['data.csv', 'influence.csv', 'relatedness.csv', 'relatedness.png']
    """
    args = _build_parser().parse_args(argv)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # one line for the command's user, without the library's source path
        print(f"skmtl {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            args.func(args)
    except (_InputError, ValueError, OSError) as exc:  # OSError: e.g. a full disk while writing
        print(f"skmtl {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
