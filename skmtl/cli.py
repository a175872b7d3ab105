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
import textwrap
import traceback
import warnings

import numpy as np

from .utils import MAX_CLASS_CODES, infer_target_kind

_TOP_DEFAULT = 10
# cells read as missing values (compared in lower case)
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "<na>"})
# the exact / Newton task relatedness refits once per task and compares every
# pair of tasks: a few seconds up to this many tasks and coefficients per task
_AFFORDABLE_TASKS = 200
_AFFORDABLE_COEFS = 300


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


def _wrap(text):
    """``text`` in lines of at most 88 characters, the later ones indented."""
    return textwrap.fill(text, 88, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def _rows(n):
    return f"{n} row{'' if n == 1 else 's'}"


def _lines_text(lines):
    """'line 7' or 'lines 2, 5, 9, ...' (at most three numbers)."""
    shown = ", ".join(map(str, lines[:3])) + (", ..." if len(lines) > 3 else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"


def _missing_rows(column, used, lines, dropna):
    """Positions of the rows to drop for missing values (an _InputError
    listing them by column without ``dropna``), and their counts by column."""
    missing = {}
    for name in used:
        rows = [i for i, v in enumerate(column[name]) if v.lower() in _MISSING]
        if rows:
            missing[name] = rows
    if not missing:
        return [], {}
    drop = sorted(set().union(*missing.values()))
    counts = {name: len(rows) for name, rows in missing.items()}
    if not dropna or len(drop) == len(lines):
        listing = "; ".join(
            f"{name!r}: {len(rows)} ({_lines_text([lines[i] for i in rows])})"
            for name, rows in missing.items()
        )
        fix = "fill them in" + ("" if dropna else f", or pass --dropna to drop {_rows(len(drop))}")
        every = "every row has " if dropna else ""
        raise _InputError(f"{every}missing values (empty, NA, NaN, ?) in {listing}; {fix}.")
    return drop, counts


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_scale(values, what, option):
    """:func:`~skmtl.utils.check_magnitude` of one column of the file,
    before any scaling, as an _InputError that says how to leave it out."""
    from .utils import check_magnitude

    try:
        check_magnitude(values, what, f"change its unit in the file (scale it by a power of "
                        f"ten), or {option}")
    except ValueError as exc:
        raise _InputError(str(exc)) from None


def _parse_target(values, name, lines):
    """Numbers (int64 where all are integers) or, when no value is a number,
    the labels as written; text among numbers is an error."""
    text = [i for i, v in enumerate(values) if not _is_number(v)]
    if len(text) == len(values):
        return np.array(values, dtype=object)
    if text:
        raise _InputError(
            f"target {name!r} holds text among its numbers: line {lines[text[0]]} holds "
            f"{values[text[0]]!r}. Fix the value, or mark it missing (empty or NA) and "
            "pass --dropna."
        )
    y = _parse_numbers(values, name, lines, "target")
    # integers print as written; beyond 2**53 a float no longer holds every integer
    exact = np.all(y == np.round(y)) and np.abs(y).max() < 2.0**53
    return y.astype(np.int64) if exact else y


def _read_csv(path, task_col, target, features=None, dropna=False):
    """Read a CSV file with a header into the skmtl layout.

    Returns a dict with ``X`` (features then the task column last), ``y``,
    ``rows`` (each row's position among the file's data rows),
    ``dropped`` (missing values by column of the rows dropped by ``dropna``),
    ``n_dropped`` (how many rows that is), ``header_text``
    and ``texts`` (the header and each data row as written in the file,
    without the line ending).
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
    drop, dropped = _missing_rows(column, features + [task_col, target], lines, dropna)
    keep = np.setdiff1d(np.arange(len(lines)), drop)
    lines = [lines[i] for i in keep]
    column = {h: [values[i] for i in keep] for h, values in column.items()}
    feats = np.column_stack(
        [_parse_numbers(column[f], f, lines, "feature column") for f in features]
        or [np.empty((len(lines), 0))]
    )
    tasks = _labels(column[task_col])
    y = _parse_target(column[target], target, lines)
    for name, values in zip(features, feats.T):
        _check_scale(values, f"feature column {name!r}", "leave it out with --features")
    if y.dtype != object:
        _check_scale(y, f"target {target!r}", "choose another --target")
    # a float column would merge integer task ids beyond 2**53
    exact = tasks.dtype == object or np.abs(tasks).max() >= 2**53
    X = np.column_stack([feats.astype(object), tasks.astype(object)]) if exact else (
        np.column_stack([feats, tasks])
    )
    return {"X": X, "y": y, "tasks": tasks, "rows": keep, "dropped": dropped,
            "n_dropped": len(drop), "header_text": header_text, "texts": [texts[i] for i in keep]}


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
def _make_model(option, y, target, alpha, random_state):
    """The estimator for ``--model`` and the target's kind; "auto" picks by
    :func:`~skmtl.utils.infer_target_kind`. Prints the decision."""
    from sklearn.utils.multiclass import type_of_target

    from .linear_model import MultiTaskLogistic, MultiTaskRidge

    kind, reason = infer_target_kind(y)
    numeric = y.dtype != object
    values = np.unique(y)
    if len(values) == 1:
        value = values[0].item() if isinstance(values[0], np.generic) else values[0]
        raise _InputError(
            f"the target {target!r} holds one value ({value!r}) in every row; there is "
            "nothing to learn. Choose another --target."
        )
    if option == "ridge" and not numeric:
        raise _InputError(
            f"--model ridge needs a numeric target, but {target!r} holds labels; "
            "use --model logistic."
        )
    if option == "logistic" and type_of_target(y) == "continuous":
        raise _InputError(
            f"--model logistic needs class labels, but the target {target!r} is continuous "
            f"({reason}); use --model ridge."
        )
    if option in ("ridge", "logistic"):
        kind = "regression" if option == "ridge" else "classification"
        print(f"target {target!r}: {kind} (--model {option}).")
    else:  # auto and net decide by the target
        other = "logistic reads it as classes" if kind == "regression" else (
            "ridge reads it as a measurement" if numeric else None)
        hint = f"; --model {other}" if option == "auto" and other else ""
        print(_wrap(f"target {target!r}: {kind} ({reason}{hint})."))
        if option == "auto":
            option = "ridge" if kind == "regression" else "logistic"
    if option == "ridge":
        return MultiTaskRidge(alpha=alpha), kind
    if option == "logistic":
        return MultiTaskLogistic(alpha=alpha), kind
    try:
        from .network import SharedBottomNet
    except ImportError as exc:
        raise _InputError(
            f"--model net needs skmtl.SharedBottomNet and torch ({exc}); "
            'pip install ".[torch]" from the skmtl repository root.'
        ) from None
    return SharedBottomNet(task_types=kind, random_state=random_state), kind


def _fit_target(y, kind, network, rows):
    """``y`` as the model fits it: standardized (by the mean and spread of
    ``rows``) for a network on a regression target, whose raw units would
    stall its training; as given otherwise."""
    if kind != "regression" or not network:
        return y
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(y[rows, None].astype(float))
    print(_wrap(f"the network fits the standardized target (y - {scaler.mean_[0]:.4g}) / "
                f"{scaler.scale_[0]:.4g}; influence is in those units."))
    return scaler.transform(y[:, None].astype(float))[:, 0]


def _score_name(kind):
    return "R^2" if kind == "regression" else "accuracy"


def _resolve_method(method, model, n_tasks):
    """The task relatedness measure for ``--method`` (None: the model's
    refit measure when affordable, else first order) and a note on why."""
    refit = getattr(model, "_refit_method", None)
    name = type(model).__name__
    if method is None:
        if not refit:
            return "mtif", f", the one measure {name} offers"
        limits = f"{_AFFORDABLE_TASKS} tasks and {_AFFORDABLE_COEFS} coefficients per task"
        if n_tasks <= _AFFORDABLE_TASKS and model.coef_[0].size <= _AFFORDABLE_COEFS:
            return refit, f", the default up to {limits}; --method mtif for first order"
        return "mtif", (f", the default beyond {limits}; --method {refit} is more "
                        "accurate, and slower")
    if method not in ("mtif", refit):
        offers = f"--method mtif or --method {refit}" if refit else "only --method mtif"
        raise _InputError(f"--method {method} is not available for {name}; it offers {offers}.")
    return method, ""


_METHOD_TEXT = {
    "mtif": "first-order influence",
    "exact": "exact refit without each task",
    "newton": "a Newton step without each task (continued to the refit where it overshoots)",
}


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


def _direction(effect):
    return "helps" if effect > 0 else "hurts" if effect < 0 else "no effect"


def _format_relatedness(R, labels, top):
    """The ``top`` strongest transfers between two tasks, by label, and a
    note naming the target tasks without validation rows (NaN columns)."""
    names = _fmt(labels)
    K = len(names)
    empty = np.isnan(R).all(axis=0)
    pairs = np.argwhere(~np.eye(K, dtype=bool) & np.isfinite(R))
    pairs = pairs[np.argsort(-np.abs(R[pairs[:, 0], pairs[:, 1]]), kind="stable")]
    out = []
    if len(pairs):
        width = max(len("source"), *(len(n) for n in names))
        out.append(_wrap(f"strongest {min(top, len(pairs))} of {len(pairs)} transfers between "
                         "tasks (change of the target's held-out loss when the source task is "
                         "removed; + = the source helps):"))
        out.append(f"  {'source':<{width}}  {'target':<{width}}  {'effect':>10}")
        out.extend(f"  {names[k]:<{width}}  {names[j]:<{width}}  {R[k, j]:>+10.3g}  "
                   f"{_direction(R[k, j])}" for k, j in pairs[:top])
    else:
        out.append("no transfer between tasks to show: it takes two tasks with validation rows.")
    if empty.any():
        n = empty.sum()
        shown = ", ".join(np.array(names)[empty][:5]) + (", ..." if n > 5 else "")
        out.append(_wrap(f"note: {n} task{'s' if n > 1 else ''} ({shown}) had no validation "
                         "rows (a task's only row always stays in training), so nothing is "
                         f"measured on {'them' if n > 1 else 'it'} (NaN columns in "
                         "relatedness.csv)."))
    return "\n".join(out)


def _format_harmful_rows(total, rows, tasks, y, n, own=None, by="total_influence"):
    """Table of the ``n`` rows with the lowest score ``by``: the total
    influence (and the influence on their own task, when given; n/a for tasks
    without validation rows) or the label quality."""
    order = np.argsort(total, kind="stable")[:n]
    targets = [f"{v:.4g}" for v in y[order]] if y.dtype.kind == "f" else _fmt(y[order])
    names = _fmt(tasks[order])
    width = max([10] + [len(t) for t in names])
    what = ("lowest total influence on all tasks" if by == "total_influence" else
            "lowest probability that the target is right")
    head = f"{'row':>7} {'task':>{width}} {'target':>10} {by.split('_')[-1]:>11}"
    lines = [f"{len(order)} most harmful training rows ({what}; row 0 = first data row):",
             head + ("" if own is None else f" {'own task':>11}")]
    for i, name, target in zip(order, names, targets):
        line = f"{rows[i]:>7} {name:>{width}} {target:>10} {total[i]:>+11.3g}"
        if own is not None:
            line += f" {own[i]:>+11.3g}" if np.isfinite(own[i]) else f" {'n/a':>11}"
        lines.append(line)
    if own is not None and not np.isfinite(own[order]).all():
        lines.append("n/a: the row's task has no validation rows.")
    return "\n".join(lines)


def _plan_outputs(folder, names, data_path):
    """Paths of the output files ``names`` in ``folder`` (created now, so that a
    bad folder fails before any work); an error if one would replace the input."""
    if folder is None:
        return {}
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise _InputError(f"cannot create the output folder {folder}: {exc.strerror}.") from None
    paths = {name: os.path.join(folder, name) for name in names}
    for path in paths.values():
        if data_path is not None and os.path.exists(path) and os.path.samefile(path, data_path):
            raise _InputError(
                f"--out {folder} would write {os.path.basename(path)} over the input file "
                f"{data_path}; choose another --out folder."
            )
    return paths


def _write_atomic(path, write, mode="w"):
    """Call ``write(file)`` on a temporary file next to ``path``, then move it
    to ``path``: an interrupted run leaves the old file (or none), never half."""
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    text = {} if "b" in mode else {"newline": "", "encoding": "utf-8"}
    try:
        with open(tmp, mode.replace("w", "x"), **text) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_csv(path, header, rows):
    def write(fh):
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    _write_atomic(path, write)


def _write_lines(path, lines):
    _write_atomic(path, lambda fh: fh.writelines(line + "\n" for line in lines))


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
    TaskRelatednessDisplay.from_matrix(R, task_labels=labels, ax=ax, groups="cluster")
    ax.set_title(title)
    try:
        _write_atomic(path, lambda fh: fig.savefig(fh, format="png", dpi=100,
                                                   bbox_inches="tight"), mode="wb")
    finally:
        plt.close(fig)
    return True


def _print_written(described):
    """One line per output file: its full path and what it holds."""
    print("wrote:")
    for path, what in described:
        print(f"  {os.path.abspath(path)}  ({what})")


def _holdout(X, y, val_fraction, random_state):
    """Training and validation row positions of ``--val-fraction``."""
    from .model_selection import TaskShuffleSplit

    if val_fraction == 0:
        print("note: --val-fraction 0 measures influence on the training rows themselves; "
              "a mislabelled row then looks helpful.", file=sys.stderr)
        return np.arange(len(y)), np.arange(len(y))
    try:
        return next(TaskShuffleSplit(1, test_size=val_fraction, random_state=random_state)
                    .split(X, y))
    except ValueError:
        counts = np.unique(X[:, -1], return_counts=True)[1]
        raise _InputError(
            f"--val-fraction {val_fraction:g} holds out {int(np.ceil(val_fraction * len(y)))} "
            f"rows, but only {counts[counts > 1].sum()} rows are in tasks with two or more "
            "rows (a task's only row stays in training); lower --val-fraction or add rows."
        ) from None


def _relatedness_report(X, y, rows, *, model, kind, method, val_fraction, scale, random_state,
                        top, outputs, title, network=False):
    """Fit, print the held-out score, the strongest transfers between tasks
    and the harmful rows; write ``outputs`` (a dict name -> path)."""
    from sklearn.base import clone
    from sklearn.exceptions import UndefinedMetricWarning

    from .utils._tasks import encode_tasks

    train, val = _holdout(X, y, val_fraction, random_state)
    y_fit = _fit_target(y, kind, network, train)
    prep = _scaler(X.shape[1] - 1, scale).fit(X[train])
    X_train, X_val = prep.transform(X[train]), prep.transform(X[val])
    model = clone(model).fit(X_train, y_fit[train], X_val=X_val, y_val=y_fit[val])
    labels = model.tasks_
    method, why = _resolve_method(method, model, len(labels))
    R = model.task_relatedness(method=method)
    # streamed, block by block of rows: the (rows, tasks) matrix is never held at once
    total = model.influence_total()
    own_col = encode_tasks(X[train, -1], labels)
    own = model._reduced_influence(
        None, None, "mtif",
        lambda block, start: block[np.arange(len(block)), own_col[start:start + len(block)]],
    )

    print(f"{type(model).__name__} on {len(train)} training rows, {len(val)} validation "
          f"rows, {len(labels)} tasks.")
    where = "held-out" if val_fraction > 0 else "training (--val-fraction 0)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        score = model.score(X_val, y_fit[val])
    print(f"{where} {_score_name(kind)}: " + (f"{score:.4g}" if np.isfinite(score) else
          f"not defined on {_rows(len(val))} (raise --val-fraction, or add rows)"))
    print(_wrap(f"task relatedness by {_METHOD_TEXT[method]} (--method {method}{why})."))
    print(_format_relatedness(R, labels, top))
    print()
    print("row influence by first-order influence:")
    print(_format_harmful_rows(total, rows[train], labels[own_col], y[train], top, own=own))
    if not outputs:
        return
    names = _fmt(labels)
    _write_csv(outputs["relatedness.csv"], ["source \\ target"] + names,
               [[n] + [repr(float(v)) for v in row] for n, row in zip(names, R)])
    _write_csv(
        outputs["influence.csv"],
        ["row", "task", "target", "total_influence"] + [f"influence_{n}" for n in names],
        ([r, t, v, repr(float(s))] + [repr(float(x)) for x in inf] for r, t, v, s, inf in
         zip(rows[train], labels[own_col], y[train], total,
             (row for block in model.influence_chunked() for row in block))),
    )
    written = [(outputs["relatedness.csv"], f"task relatedness, {len(labels)} x {len(labels)}"),
               (outputs["influence.csv"], f"influence of {len(train)} training rows")]
    if _save_heatmap(R, labels, outputs["relatedness.png"], title):
        written.append((outputs["relatedness.png"], "heatmap of the task relatedness"))
    _print_written(written)


def _check_folds(X, y, cv, random_state):
    """An _InputError naming --cv when the held-out score's folds, or the
    selector's folds inside each training part, cannot be drawn."""
    from .model_selection import TaskStratifiedKFold

    outer = TaskStratifiedKFold(cv, shuffle=True, random_state=random_state)
    try:
        for train, _ in outer.split(X, y):
            next(TaskStratifiedKFold(cv).split(X[train], y[train]))
    except ValueError:
        raise _InputError(
            f"--cv {cv} splits the rows into {cv} folds, then each training part into {cv} "
            f"again, but only rows in tasks with two or more rows can be held out; lower --cv "
            "(2 at least) or add rows."
        ) from None
    return outer


def _select_rows(X, y, *, model, kind, ratio, strategy, scale, cv, random_state, n_jobs,
                 verbose):
    """Fit the selector in its pipeline; print what it estimated and decided, and
    the held-out score with and without the removal. Returns the selector."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    from .selection import MTIFSelector

    folds = _check_folds(X, y, cv, random_state)
    selector = MTIFSelector(model, removal_ratio=ratio, strategy=strategy, cv=cv,
                            random_state=random_state, n_jobs=n_jobs, verbose=verbose)
    pipe = make_pipeline(_scaler(X.shape[1] - 1, scale), selector, model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        selector = pipe.fit(X, y)[1]
    for warning in caught:
        print(_wrap(f"note: {warning.message}"))
    noise = selector.label_noise_
    if noise is not None:
        worst = np.argsort(-np.nan_to_num(noise.task_noise_rate, nan=-1), kind="stable")[:3]
        tasks = ", ".join(f"{name} {rate:.0%}" for name, rate in
                          zip(_fmt(noise.tasks[worst]), noise.task_noise_rate[worst]))
        print(_wrap(f"estimated share of corrupted targets: {noise.noise_rate:.1%} (most in "
                    f"tasks {tasks})."))
    print(f"removal ratio {selector.removal_ratio_:.3g}" + (" (auto)" if ratio == "auto" else "")
          + f": kept {len(selector.sample_indices_)} rows, removed "
          f"{len(y) - len(selector.sample_indices_)}.")
    plain = cross_val_score(make_pipeline(_scaler(X.shape[1] - 1, scale), model), X, y,
                            cv=folds, n_jobs=n_jobs)
    line = (f"held-out {_score_name(kind)} against the given targets ({cv} task-stratified "
            f"folds, mean +/- std): all rows {plain.mean():.4f} +/- {plain.std():.4f}")
    if selector.removal_ratio_ > 0:
        pipe.set_params(mtifselector__removal_ratio=selector.removal_ratio_)
        selected = cross_val_score(pipe, X, y, cv=folds, n_jobs=n_jobs)
        line += (f"; removing {selector.removal_ratio_:.3g} of them {selected.mean():.4f} "
                 f"+/- {selected.std():.4f}")
    print(_wrap(line + "."))
    return selector


# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------
def _load(args):
    """Read ``args.data``, report rows dropped for missing values, make the model."""
    data = _read_csv(args.data, args.task_col, args.target, args.features, args.dropna)
    if data["dropped"]:
        counts = ", ".join(f"{name!r}: {n}" for name, n in data["dropped"].items())
        print(_wrap(f"--dropna: dropped {_rows(data['n_dropped'])} with missing values (by "
                    f"column: {counts}); {_rows(len(data['y']))} left."))
    model, kind = _make_model(args.model, data["y"], args.target, args.alpha, args.random_state)
    return data, model, kind


def _cmd_relatedness(args):
    data, model, kind = _load(args)
    outputs = _plan_outputs(args.out, ["relatedness.csv", "influence.csv", "relatedness.png"],
                            args.data)
    _relatedness_report(
        data["X"], data["y"], data["rows"], model=model, kind=kind, method=args.method,
        val_fraction=args.val_fraction, scale=not args.no_scale,
        random_state=args.random_state, top=args.top, outputs=outputs,
        title=f"{os.path.basename(args.data)}: {args.target} by {args.task_col}",
        network=args.model == "net",
    )


def _cmd_select(args):
    data, model, kind = _load(args)
    outputs = _plan_outputs(args.out, ["kept.csv", "removed.csv"], args.data)
    X, rows = data["X"], data["rows"]
    y = _fit_target(data["y"], kind, args.model == "net", np.arange(len(rows)))
    selector = _select_rows(
        X, y, model=model, kind=kind, ratio=args.ratio, strategy=args.strategy,
        scale=not args.no_scale, cv=args.cv, random_state=args.random_state,
        n_jobs=args.n_jobs, verbose=args.verbose,
    )
    kept, score = selector.sample_indices_, selector.scores_
    removed = np.setdiff1d(np.arange(len(y)), kept)
    removed = removed[np.argsort(score[removed], kind="stable")]
    column, meaning = ("label_quality", "their probability that the target is right") if (
        selector.strategy_ == "label-noise") else ("total_influence", "their total influence")
    if len(removed):
        print(_format_harmful_rows(score[removed], rows[removed],
                                   data["tasks"][removed], data["y"][removed],
                                   args.top, by=column))
    header, texts = data["header_text"], data["texts"]
    _write_lines(outputs["kept.csv"], [header] + [texts[i] for i in kept])
    _write_lines(outputs["removed.csv"], [f"{header},{column}"]
                 + [f"{texts[i]},{float(score[i])!r}" for i in removed])
    dropped = f"; the {data['n_dropped']} dropped by --dropna are in neither file" if (
        data["n_dropped"]) else ""
    _print_written([(outputs["kept.csv"], f"{len(kept)} kept lines of the input{dropped}"),
                    (outputs["removed.csv"], f"{len(removed)} removed lines, most harmful "
                     f"first, with {meaning}")])


def _cmd_demo(args):
    from .datasets import load_har
    from .linear_model import MultiTaskLogistic

    outputs = _plan_outputs(args.out, ["relatedness.csv", "influence.csv", "relatedness.png"],
                            None)
    X, y = load_har(return_X_y=True)
    print("HAR: 30 volunteers as 30 tasks, target 'sitting' vs the five other activities "
          "(10,411 windows, 69 features; skmtl.datasets.load_har).")
    _relatedness_report(
        X, y, np.arange(len(y)), model=MultiTaskLogistic(alpha=args.alpha),
        kind="classification", method=args.method, val_fraction=args.val_fraction,
        scale=True, random_state=args.random_state, top=args.top, outputs=outputs,
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


def _int_at_least(minimum):
    """argparse type: an integer of at least ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, "
                                             f"got {text!r}")
        return value

    return parse


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
                       "(classification), SharedBottomNet (needs torch; fits a regression "
                       "target standardized). auto (default) picks ridge for a measurement "
                       "(numbers that are not all integers, or more than "
                       f"{MAX_CLASS_CODES} distinct integers), logistic for class labels "
                       f"(text, or at most {MAX_CLASS_CODES} distinct integers); net decides "
                       "the same way.")
        p.add_argument("--dropna", action="store_true",
                       help="drop the rows with a missing value (empty, NA, NaN, ?) in a "
                       "column used (default: stop and list them).")
        p.add_argument("--alpha", type=_positive_float, default=1.0,
                       help="strength of the pull of each task toward the shared coefficients "
                       "(linear models; default 1.0).")
        p.add_argument("--no-scale", action="store_true",
                       help="do not standardize the features (default: standardize).")
        p.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the random splits (default 0).")
        p.add_argument("--top", type=_int_at_least(1), default=_TOP_DEFAULT, metavar="N",
                       help=f"how many harmful rows (and task pairs) to print (default "
                       f"{_TOP_DEFAULT}).")
        verbose_option(p)

    def verbose_option(p):
        p.add_argument("-v", "--verbose", action="count", default=0,
                       help="on an error, also show the full traceback (and with select, "
                       "progress bars).")

    def method_option(p):
        p.add_argument("--method", choices=("mtif", "exact", "newton"), metavar="M",
                       help="measure of task relatedness: mtif (first order, every model), "
                       "exact (refit without each task, ridge) or newton (a Newton step, continued to the refit where it overshoots, "
                       "logistic). Default: exact or newton for up to "
                       f"{_AFFORDABLE_TASKS} tasks and {_AFFORDABLE_COEFS} coefficients per "
                       "task (a few seconds), mtif otherwise.")

    rel = sub.add_parser(
        "relatedness", help="print the task relatedness matrix and the most harmful rows",
        description="Fit a multitask model on a task-stratified training part, measure on the "
        "held-out part how removing each task (relatedness) and each training row "
        "(influence) would change every task's loss, print the held-out score and both, and "
        "write "
        "relatedness.csv, influence.csv and relatedness.png to --out.",
    )
    data_options(rel)
    method_option(rel)
    rel.add_argument("--val-fraction", type=_fraction, default=0.2,
                     help="share of each task's rows held out to measure losses on "
                     "(default 0.2; 0 measures on the training rows).")
    rel.add_argument("--out", default=".", metavar="DIR",
                     help="folder for the output files (default: current folder).")
    rel.set_defaults(func=_cmd_relatedness)

    sel = sub.add_parser(
        "select", help="remove the most harmful training rows (MTIFSelector)",
        description="Rank rows by the probability that their target is right, learnt from "
        "the data alone (each row judged by models that did not see it), remove the least "
        "likely share, print the held-out score with and without the removal, and write "
        "kept.csv (the input's kept lines) and removed.csv (the removed lines, most harmful "
        "first, with their score) to --out.",
    )
    data_options(sel)
    sel.add_argument("--ratio", type=_ratio, default="auto", metavar="auto|R",
                     help="share of rows to remove, in [0, 1), or 'auto' (default): the "
                     "estimated share of corrupted targets, removed only where held-out "
                     "folds show a clear gain (MTIFSelector(removal_ratio='auto')).")
    sel.add_argument("--strategy", choices=["label-noise", "influence"], default="label-noise",
                     help="label-noise (default): rank rows by the probability that their "
                     "target is right, learnt from the data alone; influence: by their total "
                     "influence on held-out rows of the same (possibly noisy) data, which "
                     "ranks corrupted rows poorly when the targets are noisy; --ratio auto "
                     "needs label-noise.")
    sel.add_argument("--cv", type=_int_at_least(2), default=3, metavar="K",
                     help="task-stratified folds of the held-out score and of the "
                     "out-of-fold estimates that rank the rows (default 3).")
    sel.add_argument("--n-jobs", type=int, default=None, metavar="N",
                     help="parallel jobs (joblib) for the folds.")
    sel.add_argument("--out", default=".", metavar="DIR",
                     help="folder for kept.csv and removed.csv (default: current folder; "
                     "never the input file's name in it).")
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
    demo.add_argument("--top", type=_int_at_least(1), default=_TOP_DEFAULT, metavar="N",
                      help=f"how many harmful rows (and task pairs) to print (default "
                      f"{_TOP_DEFAULT}).")
    method_option(demo)
    verbose_option(demo)
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
        0 on success, 1 for bad input or a failure (the reason printed on
        stderr in one or two lines; the traceback too with ``--verbose``), 2
        for bad options (argparse's usage error).

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
    target 'score': regression (numbers that are not all integers; --model logistic reads it
      as classes).
    MultiTaskRidge on 48 training rows, 12 validation rows, 3 tasks.
    held-out R^2: 0.8765
    task relatedness by exact refit without each task (--method exact, the default up to 200
      tasks and 300 coefficients per task; --method mtif for first order).
    strongest 2 of 6 transfers between tasks (change of the target's held-out loss when the
      source task is removed; + = the source helps):
      source  target      effect
      2       1            +1.24  helps
      1       2            -0.58  hurts
    <BLANKLINE>
    row influence by first-order influence:
    2 most harmful training rows (lowest total influence on all tasks; row 0 = first data row):
    ...
    wrote:
      .../relatedness.csv  (task relatedness, 3 x 3)
      .../influence.csv  (influence of 48 training rows)
      .../relatedness.png  (heatmap of the task relatedness)
    0
    >>> sorted(os.listdir(folder))
    ['data.csv', 'influence.csv', 'relatedness.csv', 'relatedness.png']
    """
    from sklearn.exceptions import ConvergenceWarning

    args = _build_parser().parse_args(argv)

    shown = set()

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # one line for the command's user, without the library's source path, once
        # however many models warn; the library's advice names parameters the
        # command line does not offer
        hint = (" (the command line keeps the model's other parameters at their defaults; "
                "set them from Python)" if issubclass(category, ConvergenceWarning) else "")
        if str(message) not in shown:
            shown.add(str(message))
            print(f"skmtl {args.command}: warning: {message}{hint}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            args.func(args)
    except Exception as exc:  # a data problem deep in a library names no option: say where to look
        if args.verbose:
            traceback.print_exc()
        print(f"skmtl {args.command}: error: {str(exc) or type(exc).__name__}", file=sys.stderr)
        if not isinstance(exc, _InputError) and not args.verbose:
            print(f"(skmtl {args.command} --help lists the options; --verbose shows where "
                  "the error arose)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
