"""The ``skmtl`` command line: task relatedness and data selection for a CSV file.

``skmtl relatedness DATA.csv --task-col TASK --target Y`` fits a multitask
model and prints which tasks help or hurt which, and the training rows that
hurt most; ``skmtl select DATA.csv ...`` removes the most harmful rows;
``skmtl demo`` runs the relatedness report on the bundled HAR data. Run
``skmtl COMMAND --help`` for the options. Also runnable as
``python -m skmtl.cli``.
"""

import argparse
import os
import sys
import traceback
import warnings

import numpy as np

from ..utils import MAX_CLASS_CODES
from ._io import (
    _MISSING,
    _TOP_DEFAULT,
    MISSING_HELP,
    _in_option_words,
    _InputError,
    _missing_texts,
    _plan_outputs,
    _read_csv,
    _rows,
    _wrap,
    _write_lines,
)
from ._report import (
    _AFFORDABLE_COEFS,
    _choose_alpha,
    _AFFORDABLE_TASKS,
    _fit_target,
    _format_harmful_rows,
    _make_model,
    _print_written,
    _relatedness_report,
    _select_rows,
    _trusted_folds,
)

# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------
def _load(args):
    """Read ``args.data``, report rows dropped for missing values, make the model."""
    data = _read_csv(args.data, args.task_col, args.target, args.features, args.dropna,
                     impute=args.impute, missing_texts=args.na_values)
    if args.features is None:
        shown = ", ".join(data["features"][:12]) + (", ..." if len(data["features"]) > 12 else "")
        ids = (f"; left out {', '.join(map(repr, data['row_ids']))}: a column without a name, "
               "or numbering the rows in order, is a row index, not a feature"
               if data["row_ids"] else "")
        print(_wrap(f"features: every column but --task-col and --target ({shown}){ids}; "
                    "choose them with --features."))
    if data["categories"]:
        encoded = ", ".join(f"{name!r} ({len(values)} values)"
                            for name, values in data["categories"].items())
        print(_wrap(f"text feature columns, one 0/1 column per value: {encoded}."))
    if data["dropped"]:
        counts = ", ".join(f"{name!r}: {n} ({texts})" for name, (n, texts) in data["dropped"].items())
        print(_wrap(f"--dropna: dropped {_rows(data['n_dropped'])} with missing values (by "
                    f"column: {counts}); {_rows(len(data['y']))} left."))
    if data["imputed"]:
        print(_wrap(_imputed_note(data["imputed"], len(data["y"]))))
    if args.alpha == "auto" and args.model == "net":
        raise _InputError("--alpha auto chooses the linear models' pull toward the shared "
                          "coefficients; --model net has none: leave --alpha out.")
    alpha = 1.0 if args.alpha == "auto" else args.alpha  # "auto": chosen on the training rows
    model, kind = _make_model(args.model, data["y"], args.target, alpha, args.random_state)
    return data, model, kind


def _imputed_note(imputed, n_rows, rows="rows"):
    """What ``--impute`` filled, by column."""
    counts = "; ".join(f"{name!r}: {n} ({texts}) with {how} {shown}"
                       for name, (n, shown, how, texts) in imputed.items())
    total = sum(n for n, *_ in imputed.values())
    return (f"--impute: filled {total} missing feature value{'s' * (total > 1)} of the {n_rows} "
            f"{rows} (by column: {counts}).")


def _cmd_relatedness(args):
    data, model, kind = _load(args)
    outputs = _plan_outputs(args.out, ["relatedness.csv", "influence.csv", "relatedness.png"],
                            args.data)
    _relatedness_report(
        data["X"], data["y"], data["rows"], model=model, kind=kind, method=args.method,
        val_fraction=args.val_fraction, scale=not args.no_scale,
        random_state=args.random_state, top=args.top, outputs=outputs,
        title=f"{os.path.basename(args.data)}: {args.target} by {args.task_col}",
        network=args.model == "net", choose_alpha=args.alpha == "auto",
    )


def _load_trusted(args, data, kind):
    """The rows of ``args.trusted`` (features in the order of ``data``'s) and
    their targets, or None."""
    if args.trusted is None:
        return None
    if args.model == "net":
        raise _InputError("--trusted works with the linear models; leave out --model net.")
    clean = _read_csv(args.trusted, args.task_col, args.target, args.features, args.dropna,
                      categories=data["categories"], impute=args.impute, fills=data["fills"],
                      left_out=data["row_ids"], missing_texts=args.na_values)
    if clean["imputed"]:
        print(_wrap(_imputed_note(clean["imputed"], len(clean["y"]), rows="--trusted rows")))
    if sorted(clean["features"]) != sorted(data["features"]):
        raise _InputError(
            f"--trusted {args.trusted} has the feature columns {', '.join(clean['features'])}, "
            f"but {args.data} has {', '.join(data['features'])}; give both the same columns."
        )
    order = [clean["columns"].index(c) for c in data["columns"]]
    X = clean["X"][:, order + [clean["X"].shape[1] - 1]]
    extra = np.setdiff1d(clean["y"].astype(str), data["y"].astype(str))
    if kind == "classification" and len(extra):
        raise _InputError(
            f"--trusted {args.trusted} has target values {', '.join(extra[:5])} that "
            f"{args.data} lacks; the noisy labels are read into the classes of {args.data}."
        )
    return X, clean["y"]


def _class_prior(args, y, kind):
    """The shares of ``--class-prior`` in the order of the sorted values of
    ``--target``, or None."""
    if args.class_prior is None:
        return None
    if kind != "classification" or args.strategy == "influence" or args.ratio != "auto" or (
            args.trusted is not None):
        raise _InputError(
            "--class-prior judges --ratio auto of --strategy label-noise on a target of classes "
            "without --trusted rows (those rows decide the removal themselves); leave it out "
            "here, or pass --model logistic if --target holds classes.")
    if args.noise_kind == "alike":
        raise _InputError(
            "--class-prior checks removals of class-conditional noise, and --noise-kind alike "
            "reads no class as hidden: leave one of them out.")
    classes = [str(value) for value in np.unique(y)]
    example = ",".join(f"{value}={1 / len(classes):.2g}" for value in classes)
    shares = {}
    for part in args.class_prior.split(","):
        value, _, share = part.partition("=")
        try:
            shares[value.strip()] = float(share)
        except ValueError:
            raise _InputError(
                f"--class-prior {args.class_prior}: write VALUE=SHARE for each value of --target "
                f"{args.target}, comma separated, e.g. --class-prior {example}.") from None
    if sorted(shares) != sorted(classes):
        raise _InputError(
            f"--class-prior {args.class_prior} names the values {', '.join(sorted(shares))}, but "
            f"--target {args.target} holds {', '.join(classes)}: give the true share of each, "
            f"e.g. --class-prior {example}.")
    prior = np.array([shares[value] for value in classes])
    if not (prior >= 0).all() or not np.isclose(prior.sum(), 1):
        raise _InputError(f"--class-prior {args.class_prior}: the shares must be at least 0 and "
                          f"sum to 1 (they sum to {prior.sum():.4g}).")
    return prior


def _cmd_select(args):
    if args.strategy == "influence" and args.ratio == "auto" and args.trusted is None:
        raise _InputError(
            "--ratio auto needs --strategy label-noise (the estimated share of corrupted "
            "targets) or --trusted (rows to choose the share on); with --strategy influence "
            "give the share to remove, e.g. --ratio 0.05."
        )
    if args.noise_kind != "auto" and args.strategy == "influence":
        raise _InputError(
            f"--noise-kind {args.noise_kind} names the noise of --strategy label-noise; "
            "--strategy influence ranks rows without a noise model. Leave one of them out."
        )
    data, model, kind = _load(args)
    if args.noise_kind != "auto" and kind != "classification":
        read_as = "counts" if kind == "counts" else "measurements"
        raise _InputError(
            f"--noise-kind {args.noise_kind} applies to classes, but --target {args.target} "
            f"is read as {read_as}, whose wrong values are judged as outliers. Leave "
            "--noise-kind out, or pass --model logistic if the target holds classes."
        )
    class_prior = _class_prior(args, data["y"], kind)
    trusted = _load_trusted(args, data, kind)
    trusted_folds = None if trusted is None else _trusted_folds(*trusted, args.cv,
                                                                args.random_state)
    outputs = _plan_outputs(args.out, ["kept.csv", "removed.csv"],
                            [args.data] + ([args.trusted] if args.trusted else []))
    X, rows = data["X"], data["rows"]
    y = _fit_target(data["y"], kind, args.model == "net", np.arange(len(rows)))
    if args.alpha == "auto":
        model = _choose_alpha(model, X, y, kind, scale=not args.no_scale,
                              random_state=args.random_state,
                              rows="every row", note=" The held-out scores below reuse these rows: "
                              "they compare the removal fairly, but each alone is a little optimistic.")
    selector = _select_rows(
        X, y, model=model, kind=kind, ratio=args.ratio, strategy=args.strategy,
        noise_kind=args.noise_kind, scale=not args.no_scale, cv=args.cv,
        random_state=args.random_state, n_jobs=args.n_jobs,
        # scoring can take minutes: bars on a terminal, as git and pip show theirs
        verbose=args.verbose or sys.stderr.isatty(),
        trusted=trusted, trusted_folds=trusted_folds, class_prior=class_prior,
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
    from ..datasets import load_har
    from ..linear_model import MultiTaskLogistic

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


def _alpha(text):
    """``--alpha``: a positive number, or "auto"."""
    return text if text == "auto" else _positive_float(text)


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
                       help="comma-separated feature columns (default: every other column). "
                       "Text columns get one 0/1 column per value (at most 50 values).")
        p.add_argument("--model", choices=("auto", "ridge", "logistic", "poisson", "net"),
                       default="auto",
                       help="multitask model: MultiTaskRidge (regression), MultiTaskLogistic "
                       "(classification), MultiTaskPoisson (counts, log link; never chosen by "
                       "auto), SharedBottomNet (needs torch; fits a regression "
                       "target standardized). auto (default) picks ridge for a measurement "
                       "(numbers that are not all integers, or more than "
                       f"{MAX_CLASS_CODES} distinct integers), logistic for class labels "
                       f"(text, or at most {MAX_CLASS_CODES} distinct integers); net decides "
                       "the same way.")
        p.add_argument("--dropna", action="store_true",
                       help="drop the rows with a missing value (see --na-values) in a "
                       "column used (default: stop and list them).")
        p.add_argument("--na-values", type=_missing_texts, default=_MISSING, metavar="TEXTS",
                       help="comma-separated cell texts that mean a missing value, in any case "
                       f"(default: {MISSING_HELP}); empty cells always do. Give them where a "
                       "real value reads like one: --na-values NA keeps a class named None.")
        p.add_argument("--impute", action="store_true",
                       help="fill missing feature values: a column of numbers with its "
                       "median, a text column with its most frequent value, over the rows of "
                       "DATA.csv (--trusted rows filled with the same values). Missing targets "
                       "and tasks still need --dropna.")
        p.add_argument("--alpha", type=_alpha, default=1.0,
                       help="strength of the pull of each task toward the shared coefficients "
                       "(linear models; default 1.0), or auto: the best of 1e-4 to 10 over 5 "
                       "task-stratified folds of the training rows.")
        p.add_argument("--no-scale", action="store_true",
                       help="do not standardize the features (default: standardize).")
        p.add_argument("--random-state", type=int, default=0, metavar="SEED",
                       help="seed of the random splits (default 0).")
        top_option(p)
        verbose_option(p)

    def top_option(p):
        p.add_argument("--top", type=_int_at_least(1), default=_TOP_DEFAULT, metavar="N",
                       help=f"how many harmful rows (and task pairs) to print (default "
                       f"{_TOP_DEFAULT}).")

    def verbose_option(p):
        p.add_argument("-v", "--verbose", action="count", default=0,
                       help="on an error, also show the full traceback; with select, "
                       "progress bars also where stderr is not a terminal (on one they "
                       "always show).")

    def method_option(p):
        p.add_argument("--method", choices=("mtif", "exact", "newton"), metavar="M",
                       help="measure of task relatedness: mtif (first order, every model), "
                       "exact (refit without each task, ridge) or newton (a Newton step, "
                       "continued to the refit where it overshoots, "
                       "logistic and poisson). Default: exact or newton for up to "
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
                     "influence on the --trusted rows or, without them, on held-out rows of "
                     "the same (possibly noisy) data, which ranks corrupted rows poorly when "
                     "the targets are noisy; --ratio auto needs label-noise or --trusted.")
    sel.add_argument("--noise-kind", choices=["auto", "alike", "class-conditional"],
                     default="auto",
                     help="classes only: how the labels went wrong, if you know it: alike "
                     "(every class flipped alike), class-conditional (one class read as "
                     "another more often than back); auto (default) chooses from the data.")
    sel.add_argument("--class-prior", metavar="VALUE=SHARE,...",
                     help="classes, --ratio auto without --trusted: the true share of each "
                     "value of --target, where you know it (a prevalence), e.g. "
                     "no=0.8,yes=0.2: a removal of one class read as hidden in another goes "
                     "only where the balance it implies is closer to this than the given "
                     "labels' balance, with the noise fitted to this balance (noisy labels "
                     "alone cannot tell such noise from features that place no row surely "
                     "in the class; without this option such a removal needs features that "
                     "rank the given labels with AUC 0.75 or more).")
    sel.add_argument("--trusted", metavar="FILE",
                     help="a CSV file of rows whose targets you trust (a clean validation "
                     "part), with the same columns: the noise model learns from them which "
                     "way the targets went wrong (--strategy influence ranks rows by their "
                     "influence on them), --ratio auto chooses the share on them, and the "
                     "held-out score is measured on --cv folds of them, each after the "
                     "selector learnt from the other folds only.")
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
    top_option(demo)
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
    features: every column but --task-col and --target (a, b); choose them with --features.
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
    row influence by exact refit without each row:
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
            print(f"skmtl {args.command}: warning: {_in_option_words(str(message))}{hint}",
                  file=sys.stderr)

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
