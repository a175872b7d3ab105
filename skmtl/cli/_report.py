"""Models, measures and reports of the ``skmtl`` command line."""

import os
import sys
import warnings

import numpy as np

from ..utils import infer_target_kind
from ._io import _a_task_per_row, _in_option_words, _InputError, _rows, _wrap, _write_atomic, _write_csv

# the exact / Newton task relatedness refits once per task and compares every
# pair of tasks: a few seconds up to this many tasks and coefficients per task
_AFFORDABLE_TASKS = 200
_AFFORDABLE_COEFS = 300
# with such a measure, rows are scored by its per-row form up to this many training rows,
# by first order beyond
_AFFORDABLE_ROWS = 20_000
# influence.csv holds a column per task up to this many numbers (about 100 MB of text),
# beyond each row's total and its influence on its own task
_INFLUENCE_CSV_NUMBERS = 5_000_000

# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------
def _make_model(option, y, target, alpha, random_state):
    """The estimator for ``--model`` and the target's kind; "auto" picks by
    :func:`~skmtl.utils.infer_target_kind`. Prints the decision."""
    from sklearn.utils.multiclass import type_of_target

    from ..linear_model import MultiTaskLogistic, MultiTaskPoisson, MultiTaskRidge

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
    if option == "poisson":
        if not numeric or np.any(y.astype(float) < 0):
            raise _InputError(
                f"--model poisson needs counts (non-negative numbers), but the target {target!r} "
                f"holds {'labels' if not numeric else 'negative values'}; use --model "
                f"{'logistic' if not numeric else 'ridge'}."
            )
        print(f"target {target!r}: counts (--model poisson).")
        return MultiTaskPoisson(alpha=alpha), "counts"
    if option in ("ridge", "logistic"):
        kind = "regression" if option == "ridge" else "classification"
        print(f"target {target!r}: {kind} (--model {option}).")
    else:  # auto and net decide by the target
        other = "logistic reads it as classes" if kind == "regression" else (
            "ridge reads it as a measurement" if numeric else None)
        if numeric:
            values = y.astype(float)
            if np.all((values >= 0) & (values % 1 == 0)):
                other += ", --model poisson as counts"
        hint = f"; --model {other}" if option == "auto" and other else ""
        print(_wrap(f"target {target!r}: {kind} ({reason}{hint})."))
        if option == "auto":
            option = "ridge" if kind == "regression" else "logistic"
    if option == "ridge":
        return MultiTaskRidge(alpha=alpha), kind
    if option == "logistic":
        return MultiTaskLogistic(alpha=alpha), kind
    try:
        from ..network import SharedBottomNet
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
    return {"regression": "R^2", "counts": "D^2"}.get(kind, "accuracy")


def _against_a_constant(score, kind, y_train, y_val, model):
    """The score beside that of one constant prediction (the training rows' most
    frequent class; for R^2 and D^2 the constant scores about 0), and, below it,
    what to try."""
    if kind == "classification":
        values, counts = np.unique(y_train, return_counts=True)
        constant = float(np.mean(y_val == values[np.argmax(counts)]))
        text = f"{score:.4g} (the most frequent class of the training rows: {constant:.4g})"
    else:
        constant, text = 0.0, f"{score:.4g}"
    if score >= constant:
        return text
    fix = (f"the pull toward the shared coefficients (--alpha {model.alpha:g}) may be too strong "
           "for these tasks, as it shrinks their intercepts too: try --alpha auto, or a smaller "
           "--alpha, e.g. 0.01" if hasattr(model, "alpha") else "train longer or check the features")
    return _wrap(f"{text}, below a constant prediction: {fix}.")


# the --alpha auto grid: from nearly independent tasks to nearly one pooled model
ALPHA_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _choose_alpha(model, X, y, kind, *, scale, random_state, rows="the training rows", note=""):
    """``model`` with the ``alpha`` of ``ALPHA_GRID`` that scores best over 5
    task-stratified folds of ``(X, y)`` (``rows`` says which, in the note, and
    ``note`` what follows from it), the scaler fitted within each; prints the
    choice and the scores."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from ..model_selection import TaskStratifiedKFold

    pipe = make_pipeline(_scaler(X.shape[1] - 1, scale), model)
    param = f"{pipe.steps[-1][0]}__alpha"
    folds = TaskStratifiedKFold(5, shuffle=True, random_state=random_state)
    try:
        with warnings.catch_warnings():  # the folds' fits: their warnings are not the user's
            warnings.simplefilter("ignore")
            search = GridSearchCV(pipe, {param: list(ALPHA_GRID)}, cv=folds, error_score="raise")
            search.fit(X, y)
    except ValueError as exc:
        raise _InputError(f"--alpha auto cannot split {rows} into 5 task-stratified "
                          f"folds ({exc}); give --alpha a number.") from None
    best = search.best_params_[param]
    scores = ", ".join(f"{alpha:g}: {score:.3g}" for alpha, score in
                       zip(ALPHA_GRID, search.cv_results_["mean_test_score"]))
    print(_wrap(f"--alpha auto: {best:g}, the best mean {_score_name(kind)} over 5 "
                f"task-stratified folds of {rows} ({scores}).{note}"))
    return clone(model).set_params(alpha=best)


def _resolve_method(method, model, n_tasks):
    """The task relatedness measure for ``--method`` (None: the model's
    refit measure when affordable, else first order) and a note on why."""
    refit = next((m for m in model.get_influence_adapter().methods if m != "mtif"), None)
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
_ROW_METHOD_TEXT = {
    "mtif": "first-order influence",
    "exact": "exact refit without each row",
    "newton": "a Newton step without each row",
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
                         "rows (too few rows for a share of the held-out part; a task's only "
                         "row always stays in training), so nothing is "
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

    from ..plotting import TaskRelatednessDisplay

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


def _holdout(X, y, val_fraction, random_state, classes=False):
    """Training and validation row positions of ``--val-fraction``; with ``classes``,
    held-out rows of a class the training part lacks go back to it (a model
    cannot score a class it never saw)."""
    from ..model_selection import TaskShuffleSplit

    if val_fraction == 0:
        print("note: --val-fraction 0 measures influence on the training rows themselves; "
              "a mislabelled row then looks helpful.", file=sys.stderr)
        return np.arange(len(y)), np.arange(len(y))
    try:
        train, val = next(TaskShuffleSplit(1, test_size=val_fraction, random_state=random_state)
                          .split(X, y))
    except ValueError:
        raise _InputError(
            f"--val-fraction {val_fraction:g} can hold out none of the {len(y)} rows: only rows "
            "of tasks with two or more rows can be held out (a task's only row stays in "
            "training), and no task has two; add rows, or pass --val-fraction 0."
        ) from None
    if classes:
        unseen = ~np.isin(y[val], y[train])
        if unseen.any():
            shown = ", ".join(map(str, np.unique(y[val][unseen])))
            print(_wrap(f"note: {_rows(unseen.sum())} of class{'es' if ',' in shown else ''} {shown}, "
                        "held out by --val-fraction but absent from the training part, "
                        f"{'was' if unseen.sum() == 1 else 'were'} moved back to it."), file=sys.stderr)
            train, val = np.sort(np.r_[train, val[unseen]]), val[~unseen]
            if len(val) == 0:
                raise _InputError(f"every row --val-fraction {val_fraction:g} held out is of a class "
                                  "absent from the training part, so none is left to measure on; "
                                  "add rows, or pass --val-fraction 0.")
    if _a_task_per_row(X[train, -1]):
        raise _InputError(
            f"--val-fraction {val_fraction:g} leaves one training row in each task: nothing "
            "is left to measure a row's influence within its task; lower --val-fraction."
        )
    return train, val


def _relatedness_report(X, y, rows, *, model, kind, method, val_fraction, scale, random_state,
                        top, outputs, title, network=False, choose_alpha=False):
    """Fit, print the held-out score, the strongest transfers between tasks
    and the harmful rows; write ``outputs`` (a dict name -> path)."""
    from sklearn.base import clone
    from sklearn.exceptions import UndefinedMetricWarning

    from ..utils import encode_tasks

    train, val = _holdout(X, y, val_fraction, random_state, classes=kind == "classification")
    y_fit = _fit_target(y, kind, network, train)
    if choose_alpha:  # on the training rows alone: the held-out score stays held out
        model = _choose_alpha(model, X[train], y_fit[train], kind, scale=scale,
                              random_state=random_state)
    prep = _scaler(X.shape[1] - 1, scale).fit(X[train])
    X_train, X_val = prep.transform(X[train]), prep.transform(X[val])
    model = clone(model).fit(X_train, y_fit[train], X_val=X_val, y_val=y_fit[val])
    labels = model.tasks_
    method, why = _resolve_method(method, model, len(labels))
    R = model.task_relatedness(method=method)
    # rows by the relatedness's own measure where affordable: in first order a task's
    # only row scores 0 (its weight within the task's mean loss cannot change)
    row_method = method if len(train) <= _AFFORDABLE_ROWS else "mtif"
    # streamed, block by block of rows: the (rows, tasks) matrix is never held at once
    total = model.influence_total(method=row_method)
    own_col = encode_tasks(X[train, -1], labels)
    own = model.get_influence_adapter().reduced_influence(
        None, None, row_method,
        lambda block, start: block[np.arange(len(block)), own_col[start:start + len(block)]],
    )

    print(f"{type(model).__name__} on {len(train)} training rows, {len(val)} validation "
          f"rows, {len(labels)} tasks.")
    where = "held-out" if val_fraction > 0 else "training (--val-fraction 0)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        score = model.score(X_val, y_fit[val])
    print(f"{where} {_score_name(kind)}: " + (
        _against_a_constant(score, kind, y_fit[train], y_fit[val], model)
        if np.isfinite(score) else
        f"not defined on {_rows(len(val))} (raise --val-fraction, or add rows)"))
    print(_wrap(f"task relatedness by {_METHOD_TEXT[method]} (--method {method}{why})."))
    print(_format_relatedness(R, labels, top))
    print()
    print(_wrap(f"row influence by {_ROW_METHOD_TEXT[row_method]}"
                + (f" ({_ROW_METHOD_TEXT[method]} up to {_AFFORDABLE_ROWS:,} training rows)"
                   if row_method != method else "") + ":"))
    print(_format_harmful_rows(total, rows[train], labels[own_col], y[train], top, own=own))
    if not outputs:
        return
    names = _fmt(labels)
    _write_csv(outputs["relatedness.csv"], ["source \\ target"] + names,
               [[n] + [repr(float(v)) for v in row] for n, row in zip(names, R)])
    per_task = len(train) * len(labels) <= _INFLUENCE_CSV_NUMBERS
    if per_task:
        header = [f"influence_{n}" for n in names]
        columns = (row for block in model.influence_chunked(method=row_method) for row in block)
    else:  # gigabytes of text at a thousand tasks: the own task's column stands in for them
        header, columns = ["influence_on_own_task"], own[:, None]
    _write_csv(
        outputs["influence.csv"], ["row", "task", "target", "total_influence"] + header,
        ([r, t, v, repr(float(s))] + [repr(float(x)) for x in inf] for r, t, v, s, inf in
         zip(rows[train], labels[own_col], y[train], total, columns)),
    )
    written = [(outputs["relatedness.csv"], f"task relatedness, {len(labels)} x {len(labels)}"),
               (outputs["influence.csv"], f"influence of {len(train)} training rows" + (
                   "" if per_task else
                   f" (each row's total and own-task influence: a column per task would be "
                   f"{len(train) * len(labels):,} numbers; in Python, stream them with "
                   "model.influence_chunked)"))]
    if _save_heatmap(R, labels, outputs["relatedness.png"], title):
        written.append((outputs["relatedness.png"], "heatmap of the task relatedness"))
    _print_written(written)


def _check_folds(X, y, cv, random_state):
    """An _InputError naming --cv when the held-out score's folds, or the
    selector's folds inside each training part, cannot be drawn."""
    from ..model_selection import TaskStratifiedKFold

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


def _trusted_folds(X_trusted, y_trusted, cv, random_state):
    """``cv`` task-stratified folds of the trusted rows; an _InputError naming
    --trusted and --cv where they cannot be drawn."""
    from ..model_selection import TaskStratifiedKFold

    try:
        return list(TaskStratifiedKFold(cv, shuffle=True, random_state=random_state)
                    .split(X_trusted, y_trusted))
    except ValueError:
        raise _InputError(
            f"the held-out score splits the --trusted rows into --cv {cv} folds, but only "
            "rows in tasks with two or more trusted rows can be held out; lower --cv (2 at "
            "least) or add trusted rows."
        ) from None


def _held_out_trusted_scores(pipe, X, y, X_trusted, y_trusted, scaled, folds, *, model, scale,
                             verbose):
    """Per fold of the trusted rows (``folds``), the score on it of the model
    fitted on every row and on the rows the selector of ``pipe`` keeps when it
    learns from the other folds only (so the score never rests on rows that
    chose the removal). ``scaled``: the trusted rows scaled as the pipeline
    scales ``X``."""
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from tqdm.auto import tqdm

    every_row = make_pipeline(_scaler(X.shape[1] - 1, scale), clone(model)).fit(X, y)
    plain, selected = [], []
    for train, test in tqdm(folds, disable=not verbose, desc="held-out trusted folds"):
        with warnings.catch_warnings():  # each fold's advice repeats the whole fit's
            warnings.simplefilter("ignore", UserWarning)
            kept = clone(pipe).fit(X, y, mtifselector__X_val=scaled[train],
                                   mtifselector__y_val=y_trusted[train])[1].sample_indices_
        fitted = make_pipeline(_scaler(X.shape[1] - 1, scale), clone(model)).fit(X[kept], y[kept])
        plain.append(every_row.score(X_trusted[test], y_trusted[test]))
        selected.append(fitted.score(X_trusted[test], y_trusted[test]))
    return np.array(plain), np.array(selected)


def _select_rows(X, y, *, model, kind, ratio, strategy, noise_kind, scale, cv, random_state,
                 n_jobs, verbose, trusted=None, trusted_folds=None, class_prior=None):
    """Fit the selector in its pipeline; print what it estimated and decided, and
    the held-out score with and without the removal (on ``trusted_folds`` of
    the ``trusted`` rows and targets where given, which the selector also
    learns from). Returns the selector."""
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    from ..selection import MTIFSelector

    folds = _check_folds(X, y, cv, random_state)
    if trusted is not None:
        folds = trusted_folds
    selector = MTIFSelector(model, removal_ratio=ratio, strategy=strategy, cv=cv,
                            noise_kind=noise_kind, class_prior=class_prior,
                            random_state=random_state, n_jobs=n_jobs, verbose=verbose)
    pipe = make_pipeline(_scaler(X.shape[1] - 1, scale), selector, model)
    # the pipeline's scaler, fitted on the same rows, scales the trusted rows alike
    scaled = None if trusted is None else _scaler(X.shape[1] - 1, scale).fit(X).transform(
        trusted[0])
    validation = {} if trusted is None else {
        "mtifselector__X_val": scaled, "mtifselector__y_val": trusted[1]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        selector = pipe.fit(X, y, **validation)[1]
    for warning in caught:  # the selector's advice, in the command's options
        print(_wrap(f"note: {_in_option_words(str(warning.message))}"))
    noise = selector.label_noise_
    if noise is not None:
        worst = np.argsort(-np.nan_to_num(noise.task_noise_rate, nan=-1), kind="stable")[:3]
        shown = [(name, rate) for name, rate in
                 zip(_fmt(noise.tasks[worst]), noise.task_noise_rate[worst]) if rate >= 0.005]
        most = (" (most in tasks " + ", ".join(f"{name} {rate:.0%}" for name, rate in shown) + ")"
                if shown else "")
        print(_wrap(f"estimated share of corrupted targets: {noise.noise_rate:.1%}{most}; "
                    f"kind of noise: {noise.noise_kind}."))
    print(f"removal ratio {selector.removal_ratio_:.3g}" + (" (auto)" if ratio == "auto" else "")
          + f": kept {len(selector.sample_indices_)} rows, removed "
          f"{len(y) - len(selector.sample_indices_)}.")
    if trusted is not None:
        plain, selected = _held_out_trusted_scores(
            pipe, X, y, *trusted, scaled, folds, model=model, scale=scale, verbose=verbose)
        print(_wrap(
            f"held-out {_score_name(kind)} on the trusted rows ({cv} task-stratified folds of "
            f"the {len(trusted[1])}; in each the selector learnt from the other folds"
            f"{' and chose the share on them' if ratio == 'auto' else ''}, mean +/- std): "
            f"all rows {plain.mean():.4f} +/- {plain.std():.4f}; with its removal "
            f"{selected.mean():.4f} +/- {selected.std():.4f}."))
        return selector
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
